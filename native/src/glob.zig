//! glob.zig — Redis/Valkey glob matching (stringmatchlen, case-sensitive), used to route pattern
//! messages. Its rule: the same answer as the server's PSUBSCRIBE matching, quirks included
//! (an empty subject matches only an empty pattern; an unterminated "[" class ends at the
//! pattern's end; "\" escapes inside and outside classes), without recursion.
//!
//! Every token but '*' consumes exactly one subject byte, so backtracking to the last '*' alone
//! is complete: O(pattern × subject) worst case, never exponential, no stack. (The server gives
//! up after 1000 nested stars; this matcher has no such cut-off.)

const std = @import("std");
const assert = std.debug.assert;

/// The pattern byte at `index`, or 0 past the end (the server reads its NUL terminator there).
fn at(pattern: []const u8, index: usize) u8 {
    return if (index < pattern.len) pattern[index] else 0;
}

const Token = struct { matched: bool, next: usize };

/// Matches the one-byte token at pattern[start] (not '*') against `byte`.
fn matchToken(pattern: []const u8, start: usize, byte: u8) Token {
    assert(start < pattern.len and pattern[start] != '*');
    switch (pattern[start]) {
        '?' => return .{ .matched = true, .next = start + 1 },
        '[' => return matchClass(pattern, start, byte),
        '\\' => {
            const literal = if (pattern.len - start >= 2) start + 1 else start;
            return .{ .matched = pattern[literal] == byte, .next = literal + 1 };
        },
        else => return .{ .matched = pattern[start] == byte, .next = start + 1 },
    }
}

/// A "[...]" class: "^" negates, "a-z" ranges (either order), "\x" escapes; unterminated classes
/// run to the end of the pattern.
fn matchClass(pattern: []const u8, start: usize, byte: u8) Token {
    var index = start + 1;
    const negated = at(pattern, index) == '^';
    if (negated) index += 1;
    var matched = false;
    while (true) : (index += 1) {
        assert(index <= pattern.len);
        if (at(pattern, index) == '\\' and pattern.len - index >= 2) {
            index += 1;
            if (pattern[index] == byte) matched = true;
        } else if (at(pattern, index) == ']') {
            break;
        } else if (index == pattern.len) {
            index -= 1;
            break;
        } else if (pattern.len - index >= 3 and pattern[index + 1] == '-') {
            const low = @min(pattern[index], pattern[index + 2]);
            const high = @max(pattern[index], pattern[index + 2]);
            if (byte >= low and byte <= high) matched = true;
            index += 2;
        } else if (pattern[index] == byte) {
            matched = true;
        }
    }
    return .{ .matched = matched != negated, .next = index + 1 };
}

pub fn match(pattern: []const u8, subject: []const u8) bool {
    if (subject.len == 0) return pattern.len == 0;
    var pattern_index: usize = 0;
    var subject_index: usize = 0;
    var star_pattern_index: ?usize = null;
    var star_subject_index: usize = 0;
    while (subject_index < subject.len) {
        if (pattern_index < pattern.len and pattern[pattern_index] == '*') {
            while (pattern_index < pattern.len and pattern[pattern_index] == '*') pattern_index += 1;
            if (pattern_index == pattern.len) return true;
            star_pattern_index = pattern_index;
            star_subject_index = subject_index;
            continue;
        }
        if (pattern_index < pattern.len) {
            const token = matchToken(pattern, pattern_index, subject[subject_index]);
            if (token.matched) {
                pattern_index = token.next;
                subject_index += 1;
                continue;
            }
        }
        // Mismatch: let the last '*' absorb one more byte and retry the rest after it.
        const resume_index = star_pattern_index orelse return false;
        star_subject_index += 1;
        subject_index = star_subject_index;
        pattern_index = resume_index;
    }
    while (pattern_index < pattern.len and pattern[pattern_index] == '*') pattern_index += 1;
    return pattern_index == pattern.len;
}

const Case = struct { pattern: []const u8, subject: []const u8, expected: bool };

test "glob cases" {
    const cases = [_]Case{
        .{ .pattern = "", .subject = "", .expected = true },
        .{ .pattern = "*", .subject = "", .expected = false },
        .{ .pattern = "", .subject = "a", .expected = false },
        .{ .pattern = "*", .subject = "anything", .expected = true },
        .{ .pattern = "news.*", .subject = "news.sport", .expected = true },
        .{ .pattern = "news.*", .subject = "news.", .expected = true },
        .{ .pattern = "news.*", .subject = "news", .expected = false },
        .{ .pattern = "news.*", .subject = "weather.sport", .expected = false },
        .{ .pattern = "h?llo", .subject = "hello", .expected = true },
        .{ .pattern = "h?llo", .subject = "hllo", .expected = false },
        .{ .pattern = "h*llo", .subject = "hllo", .expected = true },
        .{ .pattern = "h*llo", .subject = "heeeello", .expected = true },
        .{ .pattern = "h[ae]llo", .subject = "hallo", .expected = true },
        .{ .pattern = "h[ae]llo", .subject = "hillo", .expected = false },
        .{ .pattern = "h[^e]llo", .subject = "hallo", .expected = true },
        .{ .pattern = "h[^e]llo", .subject = "hello", .expected = false },
        .{ .pattern = "h[a-b]llo", .subject = "hbllo", .expected = true },
        .{ .pattern = "h[b-a]llo", .subject = "hallo", .expected = true },
        .{ .pattern = "h[a-b]llo", .subject = "hcllo", .expected = false },
        .{ .pattern = "h\\*llo", .subject = "h*llo", .expected = true },
        .{ .pattern = "h\\*llo", .subject = "hello", .expected = false },
        .{ .pattern = "[\\]]", .subject = "]", .expected = true },
        .{ .pattern = "[\\-]", .subject = "-", .expected = true },
        .{ .pattern = "a\\", .subject = "a\\", .expected = true },
        .{ .pattern = "[", .subject = "[", .expected = false },
        .{ .pattern = "[^", .subject = "x", .expected = true },
        .{ .pattern = "[abc", .subject = "c", .expected = true },
        .{ .pattern = "[abc", .subject = "d", .expected = false },
        .{ .pattern = "*a*b*c", .subject = "xaxbxc", .expected = true },
        .{ .pattern = "*a*b*c", .subject = "xaxcxb", .expected = false },
        .{ .pattern = "a*", .subject = "a", .expected = true },
        .{ .pattern = "a**", .subject = "a", .expected = true },
        .{ .pattern = "a*?", .subject = "a", .expected = false },
        .{ .pattern = "a*?", .subject = "ab", .expected = true },
        .{ .pattern = "News", .subject = "news", .expected = false },
        .{ .pattern = "*.*.*", .subject = "a.b.c", .expected = true },
        .{ .pattern = "*.*.*", .subject = "a.b", .expected = false },
    };
    for (cases) |case| {
        if (match(case.pattern, case.subject) != case.expected) {
            std.debug.print("glob {s} vs {s}: expected {}\n", .{ case.pattern, case.subject, case.expected });
            return error.TestUnexpectedResult;
        }
    }
}

test "glob stays polynomial on adversarial patterns" {
    const pattern = "*a" ** 64 ++ "b";
    const subject = "a" ** 4096;
    try std.testing.expect(!match(pattern, subject));
    try std.testing.expect(match("*a" ** 64, subject));
}

/// Test-only transliteration of the server's recursive stringmatchlen (nocase = 0, nesting and
/// skipLongerMatches omitted: they only prune). Recursion is bounded by the tiny test patterns.
fn referenceMatch(pattern: []const u8, subject: []const u8) bool {
    var p: usize = 0;
    var s: usize = 0;
    while (p < pattern.len and s < subject.len) {
        switch (pattern[p]) {
            '*' => {
                while (p < pattern.len and at(pattern, p + 1) == '*') p += 1;
                if (pattern.len - p == 1) return true;
                while (s < subject.len) : (s += 1) {
                    if (referenceMatch(pattern[p + 1 ..], subject[s..])) return true;
                }
                return false;
            },
            '?' => s += 1,
            '[' => {
                const token = matchClass(pattern, p, subject[s]);
                if (!token.matched) return false;
                p = token.next - 1;
                s += 1;
            },
            else => {
                if (pattern[p] == '\\' and pattern.len - p >= 2) p += 1;
                if (pattern[p] != subject[s]) return false;
                s += 1;
            },
        }
        p += 1;
        if (s == subject.len) {
            while (p < pattern.len and pattern[p] == '*') p += 1;
            break;
        }
    }
    return p == pattern.len and s == subject.len;
}

test "glob agrees with the server's algorithm on random patterns" {
    var prng = std.Random.DefaultPrng.init(0x610b);
    const random = prng.random();
    const alphabet = "ab*?[]^-\\";
    var pattern_buffer: [8]u8 = undefined;
    var subject_buffer: [8]u8 = undefined;
    for (0..200_000) |_| {
        const pattern = pattern_buffer[0..random.uintAtMost(usize, pattern_buffer.len)];
        const subject = subject_buffer[0..random.uintAtMost(usize, subject_buffer.len)];
        for (pattern) |*byte| byte.* = alphabet[random.uintLessThan(usize, alphabet.len)];
        for (subject) |*byte| byte.* = alphabet[random.uintLessThan(usize, 4)];
        if (match(pattern, subject) != referenceMatch(pattern, subject)) {
            std.debug.print("glob {s} vs {s}: reference says {}\n", .{ pattern, subject, referenceMatch(pattern, subject) });
            return error.TestUnexpectedResult;
        }
    }
}
