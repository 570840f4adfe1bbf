// A strict little XML reader for TESTS ONLY (neither runtime ships an XML parser): elements,
// attributes, text, comments and the five predefined entities plus numeric references. It throws on
// anything not well-formed — an unclosed or crossed tag, a bare `&` or `<`, an unquoted or repeated
// attribute, text after the root — so a test can say a generated SVG is well-formed XML.

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The text directly inside this element, entities decoded. */
  text: string;
}

const nameCharacters = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(raw: string, at: number): string {
  if (raw.includes("<")) throw new Error(`a bare "<" in text or an attribute near offset ${at}`);
  return raw.replace(/&([^;]*);|&/g, (match, reference: string | undefined) => {
    if (reference === undefined) throw new Error(`a bare "&" near offset ${at}`);
    if (reference in entities) return entities[reference];
    if (/^#\d+$/.test(reference)) return String.fromCodePoint(Number(reference.slice(1)));
    if (/^#x[0-9a-fA-F]+$/.test(reference)) return String.fromCodePoint(parseInt(reference.slice(2), 16));
    throw new Error(`unknown entity ${match} near offset ${at}`);
  });
}

export function parseXml(source: string): XmlElement {
  let offset = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const fail = (what: string): never => {
    throw new Error(`${what} at offset ${offset}`);
  };
  if (source.startsWith("<?xml")) offset = source.indexOf("?>") + 2;
  while (offset < source.length) {
    const next = source.indexOf("<", offset);
    const textEnd = next < 0 ? source.length : next;
    const raw = source.slice(offset, textEnd);
    if (stack.length > 0) stack.at(-1)!.text += decode(raw, offset);
    else if (raw.trim() !== "") fail("text outside the root element");
    offset = textEnd;
    if (next < 0) break;
    if (source.startsWith("<!--", offset)) {
      const end = source.indexOf("-->", offset);
      if (end < 0) fail("an unclosed comment");
      offset = end + 3;
      continue;
    }
    if (source.startsWith("</", offset)) {
      const end = source.indexOf(">", offset);
      const name = source.slice(offset + 2, end).trim();
      const open = stack.pop();
      if (open === undefined || open.name !== name) fail(`</${name}> closes <${open?.name ?? "nothing"}>`);
      offset = end + 1;
      continue;
    }
    if (root !== undefined && stack.length === 0) fail("a second root element");
    offset++;
    const name = nameCharacters.exec(source.slice(offset))?.[0] ?? fail("an element without a name");
    offset += name.length;
    const element: XmlElement = { name, attributes: {}, children: [], text: "" };
    for (;;) {
      const spaces = /^\s*/.exec(source.slice(offset))![0].length;
      offset += spaces;
      if (source.startsWith("/>", offset) || source.startsWith(">", offset)) break;
      if (spaces === 0) fail(`no space before an attribute of <${name}>`);
      const attribute = /^([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(source.slice(offset));
      if (attribute === null) fail(`a malformed attribute in <${name}>`);
      if (attribute![1] in element.attributes) fail(`attribute ${attribute![1]} twice in <${name}>`);
      element.attributes[attribute![1]] = decode(attribute![3] ?? attribute![4], offset);
      offset += attribute![0].length;
    }
    if (stack.length > 0) stack.at(-1)!.children.push(element);
    else root = element;
    if (source.startsWith("/>", offset)) {
      offset += 2;
    } else {
      offset += 1;
      stack.push(element);
    }
  }
  if (stack.length > 0) fail(`<${stack.at(-1)!.name}> is never closed`);
  return root ?? fail("no root element");
}

/** Every element below (and including) `root`, depth first. */
export function allElements(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const element = pending.pop()!;
    out.push(element);
    pending.push(...[...element.children].reverse());
  }
  return out;
}
