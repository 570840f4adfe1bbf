//! parser.zig — the resumable, iterative RESP2/RESP3 frame reader.
//!
//! Bytes are appended to one input buffer; `next` validates the frame at its front and returns
//! it whole once complete. Its one rule: no byte is validated twice. When a frame is incomplete
//! the reader keeps where it stopped (scan position, the CR search position of a long line and an
//! explicit stack of remaining element counts), so a large frame arriving in many small chunks
//! costs O(length) in total, not O(length²) (the mistake of readers that re-parse from the start
//! of a partial frame). The only re-read on resume is a bulk header (at most 22 bytes).
//!
//! No recursion: nesting is an explicit stack bounded by max_nesting_depth. Every length is
//! checked against its limit before anything is reserved for it. Top-level attributes (`|`) are
//! validated and dropped; attributes nested inside a frame stay in its raw bytes.

const std = @import("std");
const assert = std.debug.assert;
const Allocator = std.mem.Allocator;
const errors = @import("errors.zig");
const copy = @import("copy.zig").copy;

pub const ReaderError = error{ Protocol, BulkTooLong, TooDeep, AggregateTooLong, OutOfMemory };

pub const Limits = struct {
    max_bulk_length: u32,
    max_nesting_depth: u32,
    max_aggregate_length: u32,
};

/// The first top-level children are recorded while scanning (where they start, and the value of
/// a scalar) so classification reads them without parsing again. Four covers the longest pub/sub
/// push (pmessage: name, pattern, channel, payload).
pub const recorded_children_max = 4;

/// Flat frames up to this many elements are tried by the one-pass fast path first.
const flat_frame_elements_max = 16;

pub const Child = struct {
    /// Offset of the child's type byte in the frame.
    start: u32 = 0,
    type_byte: u8 = 0,
    /// `$-1`, `*-1` or `_`.
    is_null: bool = false,
    /// `$` and `+`: where the string starts in the frame and its length.
    body_start: u32 = 0,
    body_length: u32 = 0,
    /// `:`: the integer.
    integer: i64 = 0,
};

/// Longest length header ("-1" or up to 20 digits): a longer one is malformed, so an endless
/// digit run is refused at once instead of being buffered.
const length_line_length_max = 20;
/// Longest double line: redis writes at most ~24 characters; 512 leaves room for any "%f" form.
const double_line_length_max = 512;
const integer_line_length_max = 20;

/// After a frame drains the buffer, a buffer grown beyond this is released so one huge frame
/// does not pin its memory for the life of the connection.
const buffer_retained_capacity_max = 4 * 1024 * 1024;

pub const Frame = struct {
    /// The whole frame; borrowed from the reader until the next `consume`, `append` or `reset`.
    bytes: []const u8,
    type_byte: u8,
    /// Elements announced by a top-level aggregate (2N for a map), else 0.
    element_count: u64,
    /// Top-level children 0..min(element_count, 4); borrowed like `bytes`.
    children: *const [recorded_children_max]Child,
};

const Level = struct {
    remaining: u64,
    total: u64,
    is_attribute: bool,
};

const Step = enum { more, pending, frame_complete, attribute_complete };

pub const Reader = struct {
    buffer: std.ArrayList(u8) = .empty,
    /// Start of the frame being read; bytes before it are consumed.
    read_offset: usize = 0,
    /// Bytes consumed since the last reset: the absolute stream offset of read_offset.
    stream_offset_consumed: u64 = 0,

    // Resume state; positions are relative to read_offset so compaction leaves them valid.
    scan_position: usize = 0,
    line_search_position: usize = 0,
    stack: std.ArrayList(Level) = .empty,
    frame_ready: bool = false,
    frame_type: u8 = 0,
    frame_element_count: u64 = 0,
    frame_children: [recorded_children_max]Child = @splat(.{}),

    /// Where and why the last error happened (absolute stream offset); read by the caller.
    error_text: errors.ErrorText = .{},
    /// Element headers examined since creation: lets tests prove no frame is re-scanned.
    scan_steps: u64 = 0,

    pub fn deinit(self: *Reader, allocator: Allocator) void {
        self.buffer.deinit(allocator);
        self.stack.deinit(allocator);
        self.* = undefined;
    }

    /// Drops all input and resume state; the next byte starts a new stream at offset 0.
    pub fn reset(self: *Reader, allocator: Allocator) void {
        self.buffer.clearAndFree(allocator);
        self.stack.clearRetainingCapacity();
        self.read_offset = 0;
        self.stream_offset_consumed = 0;
        self.clearFrameState();
        self.error_text.clear();
    }

    /// Input bytes accepted and not yet consumed.
    pub fn bufferedBytes(self: *const Reader) usize {
        assert(self.read_offset <= self.buffer.items.len);
        return self.buffer.items.len - self.read_offset;
    }

    pub fn append(self: *Reader, allocator: Allocator, bytes: []const u8) Allocator.Error!void {
        try self.compactFor(allocator, bytes.len);
        try self.buffer.ensureUnusedCapacity(allocator, bytes.len);
        const start = self.buffer.items.len;
        self.buffer.items.len = start + bytes.len;
        copy(self.buffer.items[start..], bytes);
    }

    /// Moves the unconsumed tail to the front, but only when growth is due and the move costs no
    /// more than the bytes it frees: each consumed byte pays for at most one moved byte. A
    /// compaction also leaves slack — room for 4× what it keeps plus the new bytes, but never
    /// past buffer_retained_capacity_max on its own account — so the next one comes later: with
    /// frames about as long as a socket read (64 KiB), a tight buffer moved half of every frame
    /// once more (measured: 64 KiB payloads 18% faster through the C ABI).
    fn compactFor(self: *Reader, allocator: Allocator, incoming_length: usize) Allocator.Error!void {
        if (self.read_offset == 0) return;
        const buffered = self.bufferedBytes();
        if (buffered == 0) {
            self.buffer.items.len = 0;
            self.read_offset = 0;
            return;
        }
        const needs_growth = self.buffer.items.len + incoming_length > self.buffer.capacity;
        if (!needs_growth or self.read_offset < buffered) return;
        const required = buffered + incoming_length;
        const capacity_wanted = @max(required, @min(4 * required, buffer_retained_capacity_max));
        // read_offset ≥ buffered: the tail and the front do not overlap.
        const tail = self.buffer.items[self.read_offset..];
        if (self.buffer.capacity < capacity_wanted) {
            // A fresh buffer receives only the unconsumed bytes (a realloc would copy all). If
            // it cannot be had, compacting in place and growing as before still works.
            if (std.ArrayList(u8).initCapacity(allocator, capacity_wanted)) |larger_const| {
                var larger = larger_const;
                larger.items.len = tail.len;
                copy(larger.items, tail);
                self.buffer.deinit(allocator);
                self.buffer = larger;
                self.read_offset = 0;
                return;
            } else |_| {}
        }
        copy(self.buffer.items[0..buffered], tail);
        self.buffer.items.len = buffered;
        self.read_offset = 0;
    }

    /// Drops the frame returned by `next` (which must have returned one).
    pub fn consume(self: *Reader, allocator: Allocator) void {
        assert(self.frame_ready);
        self.advanceFrameStart();
        self.releaseIfDrained(allocator);
    }

    /// The unconsumed input when nothing of it has been scanned yet (no partial frame, no ready
    /// frame), else null: what a one-pass reader like fast_path.zig may read instead of `next`.
    pub fn unscannedInput(self: *const Reader) ?[]const u8 {
        // A top-level line still incomplete leaves scan_position at 0 but a search position.
        if (self.scan_position != 0 or self.line_search_position != 0 or self.frame_ready) return null;
        assert(self.stack.items.len == 0);
        return self.buffer.items[self.read_offset..];
    }

    /// Drops a frame of `length` bytes that a one-pass reader found at the start of
    /// `unscannedInput()`; the reader's own state is untouched (it had not started on it).
    pub fn consumeUnscanned(self: *Reader, allocator: Allocator, length: usize) void {
        assert(self.scan_position == 0 and self.line_search_position == 0 and !self.frame_ready);
        assert(length > 0 and length <= self.bufferedBytes());
        self.read_offset += length;
        self.stream_offset_consumed += length;
        self.releaseIfDrained(allocator);
    }

    /// A drained buffer restarts at its front (no compaction ever needed), and one grown beyond
    /// buffer_retained_capacity_max by a huge frame gives its memory back.
    fn releaseIfDrained(self: *Reader, allocator: Allocator) void {
        if (self.bufferedBytes() != 0) return;
        self.buffer.items.len = 0;
        self.read_offset = 0;
        if (self.buffer.capacity > buffer_retained_capacity_max) self.buffer.clearAndFree(allocator);
    }

    fn advanceFrameStart(self: *Reader) void {
        self.read_offset += self.scan_position;
        self.stream_offset_consumed += self.scan_position;
        assert(self.read_offset <= self.buffer.items.len);
        self.clearFrameState();
    }

    fn clearFrameState(self: *Reader) void {
        assert(self.stack.items.len == 0 or !self.frame_ready);
        self.stack.clearRetainingCapacity();
        self.scan_position = 0;
        self.line_search_position = 0;
        self.frame_ready = false;
        self.frame_type = 0;
        self.frame_element_count = 0;
        // frame_children is not cleared: each child is written when its element starts, before
        // anything reads it (and a 128-byte clear per message is measurable).
    }

    /// The next complete frame, or null when more bytes are needed. Calling it again without
    /// `consume` returns the same frame without re-validating it.
    pub fn next(self: *Reader, allocator: Allocator, limits: Limits) ReaderError!?Frame {
        if (self.frame_ready) return self.readyFrame();
        if (self.scan_position == 0 and self.scanFlatFrame(limits)) return self.readyFrame();
        while (true) {
            switch (try self.scanElement(allocator, limits)) {
                .more => {},
                .pending => return null,
                .frame_complete => {
                    self.frame_ready = true;
                    return self.readyFrame();
                },
                .attribute_complete => self.advanceFrameStart(),
            }
        }
    }

    fn readyFrame(self: *Reader) Frame {
        assert(self.frame_ready);
        assert(self.stack.items.len == 0);
        const start = self.read_offset;
        return .{
            .bytes = self.buffer.items[start .. start + self.scan_position],
            .type_byte = self.frame_type,
            .element_count = self.frame_element_count,
            .children = &self.frame_children,
        };
    }

    /// Validates one element header (and a bulk or line body) at scan_position.
    fn scanElement(self: *Reader, allocator: Allocator, limits: Limits) ReaderError!Step {
        const data = self.buffer.items[self.read_offset..];
        const start = self.scan_position;
        if (start >= data.len) return .pending;
        self.scan_steps += 1;
        const type_byte = data[start];
        if (type_byte != '|') self.recordElementStart(type_byte, start);
        return switch (type_byte) {
            '+', '-', '(' => self.scanLine(data, start, limits.max_bulk_length, error.BulkTooLong),
            ':' => self.scanLine(data, start, integer_line_length_max, error.Protocol),
            ',' => self.scanLine(data, start, double_line_length_max, error.Protocol),
            '#' => self.scanLine(data, start, 1, error.Protocol),
            '_' => self.scanLine(data, start, 0, error.Protocol),
            '$', '!', '=' => self.scanBulk(data, start, limits),
            '*', '%', '~', '|', '>' => self.scanAggregate(allocator, data, start, limits),
            else => self.fail(error.Protocol, start, "unknown type byte 0x{x:0>2}", .{type_byte}),
        };
    }

    fn recordElementStart(self: *Reader, type_byte: u8, start: usize) void {
        if (self.stack.items.len == 0) {
            self.frame_type = type_byte;
            return;
        }
        const child = self.recordedChild() orelse return;
        child.* = .{ .start = @intCast(start), .type_byte = type_byte };
    }

    /// The record of the top-level child being scanned, when it is one of the first four.
    fn recordedChild(self: *Reader) ?*Child {
        if (self.stack.items.len != 1) return null;
        const parent = self.stack.items[0];
        if (parent.is_attribute) return null;
        const index = parent.total - parent.remaining;
        if (index >= recorded_children_max) return null;
        return &self.frame_children[@intCast(index)];
    }

    fn recordString(self: *Reader, body_start: usize, body_length: usize) void {
        const child = self.recordedChild() orelse return;
        child.body_start = @intCast(body_start);
        child.body_length = @intCast(body_length);
    }

    fn recordNull(self: *Reader) void {
        const child = self.recordedChild() orelse return;
        child.is_null = true;
    }

    fn scanLine(
        self: *Reader,
        data: []const u8,
        start: usize,
        content_length_max: usize,
        too_long_error: ReaderError,
    ) ReaderError!Step {
        const content_start = start + 1;
        const carriage_return = try self.findLineEnd(data, content_start, content_length_max, too_long_error) orelse
            return .pending;
        const content = data[content_start..carriage_return];
        try self.validateLine(data[start], content, start);
        switch (data[start]) {
            '+' => self.recordString(content_start, content.len),
            ':' => if (self.recordedChild()) |child| {
                child.integer = parseInteger(content).?;
            },
            '_' => self.recordNull(),
            else => {},
        }
        self.advanceTo(carriage_return + 2);
        return self.completeElement();
    }

    /// Index of the CR ending the line that starts at content_start, or null (pending). Resumes
    /// the search where the last call stopped, so a long line split over many feeds is scanned once.
    fn findLineEnd(
        self: *Reader,
        data: []const u8,
        content_start: usize,
        content_length_max: usize,
        too_long_error: ReaderError,
    ) ReaderError!?usize {
        const search_start = @max(content_start, self.line_search_position);
        const search_end = @min(data.len, content_start +| content_length_max +| 1);
        const found = std.mem.indexOfScalarPos(u8, data[0..search_end], search_start, '\r');
        const carriage_return = found orelse {
            self.line_search_position = search_end;
            if (search_end - content_start > content_length_max) {
                const what = if (too_long_error == error.BulkTooLong) "max_bulk_length" else "the type's line limit";
                return self.fail(too_long_error, content_start, "line longer than {d} bytes ({s})", .{ content_length_max, what });
            }
            return null;
        };
        if (carriage_return + 1 >= data.len) {
            self.line_search_position = carriage_return;
            return null;
        }
        if (data[carriage_return + 1] != '\n') {
            return self.fail(error.Protocol, carriage_return + 1, "expected LF after CR", .{});
        }
        return carriage_return;
    }

    fn validateLine(self: *Reader, type_byte: u8, content: []const u8, start: usize) ReaderError!void {
        const valid = switch (type_byte) {
            '+', '-' => true,
            ':' => parseInteger(content) != null,
            '(' => isBigNumber(content),
            ',' => isDouble(content),
            '#' => content.len == 1 and (content[0] == 't' or content[0] == 'f'),
            '_' => content.len == 0,
            else => unreachable,
        };
        if (valid) return;
        const expected: []const u8 = switch (type_byte) {
            ':' => "a signed 64-bit integer",
            '(' => "a big number (optional sign and digits)",
            ',' => "a double",
            '#' => "'t' or 'f' after '#'",
            '_' => "CRLF right after '_'",
            else => unreachable,
        };
        return self.fail(error.Protocol, start, "expected {s}", .{expected});
    }

    /// Parses a length header line; returns the value (-1 for null) and the index after its CRLF.
    fn scanLengthHeader(self: *Reader, data: []const u8, start: usize) ReaderError!?struct { value: i64, end: usize } {
        switch (readLengthLine(data, start + 1)) {
            .complete => |line| return .{ .value = line.value, .end = line.end },
            .pending => return null,
            .malformed => |position| {
                if (position > start + 1 and data[position - 1] == '\r') {
                    return self.fail(error.Protocol, position, "expected LF after CR", .{});
                }
                return self.fail(error.Protocol, position, "expected a length (up to 20 digits, or -1) after '{c}'", .{data[start]});
            },
        }
    }

    fn scanBulk(self: *Reader, data: []const u8, start: usize, limits: Limits) ReaderError!Step {
        const type_byte = data[start];
        const header = try self.scanLengthHeader(data, start) orelse return .pending;
        if (header.value == -1 and type_byte == '$') {
            self.recordNull();
            self.advanceTo(header.end);
            return self.completeElement();
        }
        if (header.value < 0) {
            return self.fail(error.Protocol, start, "negative length {d} after '{c}'", .{ header.value, type_byte });
        }
        const length: u64 = @intCast(header.value);
        if (length > limits.max_bulk_length) {
            return self.fail(error.BulkTooLong, start, "length {d} exceeds max_bulk_length {d}", .{ length, limits.max_bulk_length });
        }
        const body_start = header.end;
        const body_end = body_start + @as(usize, @intCast(length));
        if (body_end + 2 > data.len) {
            // The header is re-read on resume (≤ 22 bytes); the body is never scanned.
            self.line_search_position = 0;
            return .pending;
        }
        if (data[body_end] != '\r' or data[body_end + 1] != '\n') {
            return self.fail(error.Protocol, body_end, "expected CRLF after bulk string of {d} bytes", .{length});
        }
        if (type_byte == '=' and (length < 4 or data[body_start + 3] != ':')) {
            return self.fail(error.Protocol, body_start, "expected a 3-byte format and ':' in verbatim string", .{});
        }
        if (type_byte == '$') self.recordString(body_start, body_end - body_start);
        self.advanceTo(body_end + 2);
        return self.completeElement();
    }

    fn scanAggregate(
        self: *Reader,
        allocator: Allocator,
        data: []const u8,
        start: usize,
        limits: Limits,
    ) ReaderError!Step {
        const type_byte = data[start];
        const header = try self.scanLengthHeader(data, start) orelse return .pending;
        if (header.value == -1 and type_byte == '*') {
            self.recordNull();
            self.advanceTo(header.end);
            return self.completeElement();
        }
        if (header.value < 0) {
            return self.fail(error.Protocol, start, "negative length {d} after '{c}'", .{ header.value, type_byte });
        }
        const is_pairs = type_byte == '%' or type_byte == '|';
        const element_count = @as(u64, @intCast(header.value)) *| @as(u64, if (is_pairs) 2 else 1);
        if (element_count > limits.max_aggregate_length) {
            return self.fail(error.AggregateTooLong, start, "{d} elements exceed max_aggregate_length {d}", .{ element_count, limits.max_aggregate_length });
        }
        const is_attribute = type_byte == '|';
        if (element_count == 0) {
            self.advanceTo(header.end);
            if (!is_attribute) return self.completeElement();
            return if (self.stack.items.len == 0) .attribute_complete else .more;
        }
        if (self.stack.items.len >= limits.max_nesting_depth) {
            return self.fail(error.TooDeep, start, "nesting deeper than max_nesting_depth {d}", .{limits.max_nesting_depth});
        }
        // The stack only grows with the input (each level costs ≥ 4 bytes), never past the limit.
        try self.stack.append(allocator, .{ .remaining = element_count, .total = element_count, .is_attribute = is_attribute });
        if (self.stack.items.len == 1 and !is_attribute) self.frame_element_count = element_count;
        self.advanceTo(header.end);
        return .more;
    }

    /// The common pub/sub frame in one pass: a complete top-level `>` or `*` of at most
    /// flat_frame_elements_max bulk strings and integers. It never fails: anything else (nesting,
    /// other types, a limit crossed, malformed or incomplete bytes) declines, and the general path
    /// scans the frame from its start and reports exactly what it would have reported anyway.
    /// Declining costs at most one header per element, and happens once per frame start.
    fn scanFlatFrame(self: *Reader, limits: Limits) bool {
        assert(self.scan_position == 0 and self.stack.items.len == 0 and !self.frame_ready);
        const data = self.buffer.items[self.read_offset..];
        if (data.len < 4 or (data[0] != '>' and data[0] != '*')) return false;
        const header = switch (readLengthLine(data, 1)) {
            .complete => |line| line,
            else => return false,
        };
        if (header.value < 1 or header.value > flat_frame_elements_max) return false;
        const element_count: u32 = @intCast(header.value);
        if (element_count > limits.max_aggregate_length) return false;
        // Children are written in place: on a decline the general path rewrites each one it reaches.
        var position = header.end;
        for (0..element_count) |index| {
            const child = scanFlatElement(data, position, limits) orelse return false;
            if (index < recorded_children_max) self.frame_children[index] = child.record;
            position = child.end;
        }
        self.scan_steps += 1 + element_count;
        self.frame_type = data[0];
        self.frame_element_count = element_count;
        self.scan_position = position;
        self.frame_ready = true;
        return true;
    }

    /// One complete, valid `$` bulk string or `:` integer at `start`, or null (decline).
    fn scanFlatElement(data: []const u8, start: usize, limits: Limits) ?struct { record: Child, end: usize } {
        if (start >= data.len) return null;
        var record: Child = .{ .start = @intCast(start), .type_byte = data[start] };
        switch (data[start]) {
            '$' => {
                const line = switch (readLengthLine(data, start + 1)) {
                    .complete => |line| line,
                    else => return null,
                };
                if (line.value == -1) {
                    record.is_null = true;
                    return .{ .record = record, .end = line.end };
                }
                if (line.value < 0 or line.value > limits.max_bulk_length) return null;
                const body_end = line.end + @as(usize, @intCast(line.value));
                if (body_end + 2 > data.len or data[body_end] != '\r' or data[body_end + 1] != '\n') return null;
                record.body_start = @intCast(line.end);
                record.body_length = @intCast(line.value);
                return .{ .record = record, .end = body_end + 2 };
            },
            ':' => {
                const search_end = @min(data.len, start + 2 + integer_line_length_max);
                const carriage_return = std.mem.indexOfScalarPos(u8, data[0..search_end], start + 1, '\r') orelse return null;
                if (carriage_return + 1 >= data.len or data[carriage_return + 1] != '\n') return null;
                record.integer = parseInteger(data[start + 1 .. carriage_return]) orelse return null;
                return .{ .record = record, .end = carriage_return + 2 };
            },
            else => return null,
        }
    }

    /// One element ended: pop every aggregate it completes. Attributes do not count as elements.
    fn completeElement(self: *Reader) Step {
        while (self.stack.items.len > 0) {
            const top = &self.stack.items[self.stack.items.len - 1];
            assert(top.remaining > 0);
            top.remaining -= 1;
            if (top.remaining > 0) return .more;
            const finished = self.stack.pop().?;
            if (finished.is_attribute) {
                return if (self.stack.items.len == 0) .attribute_complete else .more;
            }
        }
        return .frame_complete;
    }

    fn advanceTo(self: *Reader, position: usize) void {
        assert(position > self.scan_position);
        self.scan_position = position;
        self.line_search_position = 0;
    }

    fn fail(
        self: *Reader,
        err: ReaderError,
        position: usize,
        comptime detail_format: []const u8,
        detail_arguments: anytype,
    ) ReaderError {
        const offset = self.stream_offset_consumed + position;
        self.error_text.set(errors.labelOf(err), offset, detail_format, detail_arguments);
        return err;
    }
};

pub const LengthLine = union(enum) {
    complete: struct { value: i64, end: usize },
    pending,
    /// Position of the first byte that cannot belong to a length line.
    malformed: usize,
};

/// Reads "<digits>\r\n" or "-<digits>\r\n" starting at content_start in one pass, without a
/// separate CR search: length headers are the hottest lines of a pub/sub stream. A bad byte is
/// reported as soon as it arrives, before the line is complete. Values beyond i64 saturate.
pub fn readLengthLine(data: []const u8, content_start: usize) LengthLine {
    var index = content_start;
    const negative = index < data.len and data[index] == '-';
    if (negative) index += 1;
    const digits_start = index;
    // Wrapping arithmetic in the loop (it is the hottest loop of a pub/sub stream); 19 digits
    // always fit in u64, and a 20th digit means the value exceeds i64 and saturates below.
    var value: u64 = 0;
    while (index < data.len) : (index += 1) {
        const digit = data[index] -% '0';
        if (digit > 9) break;
        if (index - content_start >= length_line_length_max) return .{ .malformed = index };
        value = value *% 10 +% digit;
    } else return .pending;
    if (data[index] != '\r' or index == digits_start) return .{ .malformed = index };
    if (index + 1 >= data.len) return .pending;
    if (data[index + 1] != '\n') return .{ .malformed = index + 1 };
    const digit_count = index - digits_start;
    const magnitude: i64 = if (digit_count >= 20 or value > std.math.maxInt(i64)) std.math.maxInt(i64) else @intCast(value);
    return .{ .complete = .{ .value = if (negative) -magnitude else magnitude, .end = index + 2 } };
}

/// "-1" or decimal digits; values beyond i64 saturate (they exceed every limit anyway).
/// null when malformed (empty, other signs, non-digits, a negative other than digits).
pub fn parseLength(content: []const u8) ?i64 {
    if (content.len == 0) return null;
    const negative = content[0] == '-';
    const digits = if (negative) content[1..] else content;
    if (digits.len == 0) return null;
    var value: i64 = 0;
    for (digits) |digit| {
        if (digit < '0' or digit > '9') return null;
        value = value *| 10 +| @as(i64, digit - '0');
    }
    return if (negative) -value else value;
}

/// A RESP integer: optional sign, 1..19 digits, within i64. null when malformed or overflowing.
pub fn parseInteger(content: []const u8) ?i64 {
    if (content.len == 0) return null;
    const negative = content[0] == '-';
    const digits = if (negative or content[0] == '+') content[1..] else content;
    if (digits.len == 0 or digits.len > 19) return null;
    // 19 digits fit in u64; the sign decides the bound (i64 has one more negative value).
    var magnitude: u64 = 0;
    for (digits) |digit| {
        if (digit < '0' or digit > '9') return null;
        magnitude = magnitude * 10 + (digit - '0');
    }
    const bound: u64 = if (negative) @as(u64, 1) << 63 else std.math.maxInt(i64);
    if (magnitude > bound) return null;
    if (negative) return @intCast(-@as(i128, magnitude));
    return @intCast(magnitude);
}

fn isBigNumber(content: []const u8) bool {
    const digits = if (content.len > 0 and (content[0] == '-' or content[0] == '+')) content[1..] else content;
    if (digits.len == 0) return false;
    for (digits) |digit| if (digit < '0' or digit > '9') return false;
    return true;
}

/// Lenient on purpose: accepts the characters of decimal, exponent, inf and nan forms; TS parses.
fn isDouble(content: []const u8) bool {
    if (content.len == 0) return false;
    for (content) |character| {
        const allowed = switch (character) {
            '0'...'9', '+', '-', '.', 'e', 'E', 'i', 'n', 'f', 'a', 'I', 'N', 'F', 'A' => true,
            else => false,
        };
        if (!allowed) return false;
    }
    return true;
}
