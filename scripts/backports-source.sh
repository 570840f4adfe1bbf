#!/usr/bin/env bash
# Makes Debian's bookworm-backports suite available to apt, on the mirror the machine already uses for
# bookworm, and pins valkey-server/valkey-tools to it (8.0.1 there; valkey is not in bookworm itself,
# and trixie's 8.1 needs a newer libc). Used by scripts/setup.sh before it installs valkey.
# Idempotent: a machine whose sources already name bookworm-backports gets no second source, and the
# pin file is written once. Reads the mirror from deb822 files (sources.list.d/*.sources, the bookworm
# default) or one-line lists (sources.list, sources.list.d/*.list), whichever exist.
# Usage: scripts/backports-source.sh [APT_DIR]   (default /etc/apt; a temporary directory for tests)
# Prints "changed" when it wrote a file (the caller then runs apt-get update); exits 1 with a message
# when no enabled bookworm source is found (nothing to copy the mirror from).
set -euo pipefail
apt_dir=${1:-/etc/apt}
suite=bookworm-backports
source_file="$apt_dir/sources.list.d/$suite.sources"
pin_file="$apt_dir/preferences.d/pushwire-valkey.pref"

shopt -s nullglob
deb822_files=("$apt_dir"/sources.list.d/*.sources)
list_files=()
[ -f "$apt_dir/sources.list" ] && list_files+=("$apt_dir/sources.list")
list_files+=("$apt_dir"/sources.list.d/*.list)

# One line per enabled "deb" source: "<suite> <first URI> <signed-by path or ->". deb822 stanzas are
# paragraphs of "Field: value" lines; an embedded (multi-line) Signed-By key is not copied, only a path.
read_sources() {
  if [ "${#deb822_files[@]}" -gt 0 ]; then
    awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no") {
          split(uris, uri, " ")
          n = split(suites, each, " ")
          for (i = 1; i <= n; i++) print each[i], uri[1], (signed ~ /^\// ? signed : "-")
        }
        types = ""; uris = ""; suites = ""; signed = ""; enabled = ""; field = ""
      }
      FNR == 1 { flush() }  # a file that does not end in a blank line ends its stanza all the same
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[^ \t][^:]*:/ {
        field = tolower(substr($0, 1, index($0, ":") - 1))
        value = substr($0, index($0, ":") + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", value)
        if (field == "types") types = value
        else if (field == "uris") uris = value
        else if (field == "suites") suites = value
        else if (field == "signed-by") signed = value
        else if (field == "enabled") enabled = tolower(value)
        next
      }
      { if (field == "signed-by") signed = "(embedded)" }  # a continuation line: an embedded key
      END { flush() }
    ' "${deb822_files[@]}"
  fi
  if [ "${#list_files[@]}" -gt 0 ]; then
    awk '
      { sub(/#.*/, "") }
      $1 == "deb" {
        signed = "-"; field = 2
        if ($2 ~ /^\[/) {
          while (field <= NF) {
            if ($field ~ /^\[?signed-by=/) { signed = $field; sub(/^\[?signed-by=/, "", signed); sub(/\]$/, "", signed) }
            if ($field ~ /\]$/) { field++; break }
            field++
          }
        }
        if (field + 1 <= NF) print $(field + 1), $field, signed
      }
    ' "${list_files[@]}"
  fi
}

sources=$(read_sources)
changed=0

if ! awk -v suite="$suite" '$1 == suite { found = 1 } END { exit !found }' <<<"$sources"; then
  mirror=$(awk '$1 == "bookworm" { print $2, $3; exit }' <<<"$sources")
  if [ -z "$mirror" ]; then
    echo "backports-source: no enabled 'deb ... bookworm' source under $apt_dir to take the mirror from" >&2
    exit 1
  fi
  uri=${mirror% *}
  signed=${mirror#* }
  mkdir -p "$apt_dir/sources.list.d"
  {
    echo "# Added by pushwire's scripts/setup.sh for valkey-server 8.0.1 (the mirror of the bookworm source)."
    echo "Types: deb"
    echo "URIs: $uri"
    echo "Suites: $suite"
    echo "Components: main"
    if [ "$signed" != "-" ]; then echo "Signed-By: $signed"; fi
  } >"$source_file"
  changed=1
fi

if [ ! -f "$pin_file" ]; then
  mkdir -p "$apt_dir/preferences.d"
  # Backports are NotAutomatic (priority 100): the pin keeps upgrades of these two packages on the suite
  # they came from, and nothing else on this machine moves to backports.
  cat >"$pin_file" <<EOF
# Added by pushwire's scripts/setup.sh: valkey comes from $suite.
Package: valkey-server valkey-tools
Pin: release n=$suite
Pin-Priority: 500
EOF
  changed=1
fi

if [ "$changed" -eq 1 ]; then echo changed; fi
