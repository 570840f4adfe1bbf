//! core.zig — the pw_parser handle: input, sticky error, classification, interning, the live
//! message set and the counters, behind plain Zig functions that lib.zig exports.
//!
//! Its rules: every sticky error goes through `fail` (counted once, explained once); every message
//! handed out is in `live_messages` until freed, so a double free or a foreign pointer is caught
//! in every build mode by a set lookup that never dereferences the pointer.

const std = @import("std");
const assert = std.debug.assert;
const Allocator = std.mem.Allocator;
const abi = @import("abi.zig");
const errors = @import("errors.zig");
const parser = @import("parser.zig");
const push = @import("push.zig");
const intern = @import("intern.zig");
const fast_path = @import("fast_path.zig");
const copy = @import("copy.zig").copy;
const Error = errors.Error;

const message_alignment = std.mem.Alignment.of(abi.Message);

pub const BatchResult = struct {
    pub const Stop = enum(u32) { nothing = abi.stop_nothing, room = abi.stop_room, error_next = abi.stop_error, cut = abi.stop_cut };
    status: enum { ok, pending, buffer_too_small },
    message_count: u32,
    data_bytes: u32,
    /// Why the batch ended (pw_feed_next_batch's out[2]): no complete frame is left, the batch
    /// ran out of room (or a message did not fit), the next call returns an error, or the rest
    /// of the bytes is a long message push cut by their end, left to the caller (assemble_min_bytes).
    stop: Stop = .nothing,
    /// pw_feed_next_batch's out[3]: bytes of the caller's `bytes` taken (read or buffered). Fewer
    /// than given only with stop == room (the rest goes with the next call) or stop == cut.
    bytes_taken: u32 = 0,
    /// With stop == cut: the whole length of the cut message push (pw_feed_next_batch's out[4]).
    cut_length: u32 = 0,
};

/// Hashes message addresses for the live set. Addresses come from the allocator, not from the
/// stream, so a multiplicative hash is enough (wyhash over 8 bytes was ~5% of pw_next_message +
/// pw_free_message at 16-byte payloads): dropping the always-zero alignment bits and multiplying
/// by an odd constant keeps distinct low bits distinct (the table index) and mixes the high bits
/// (the table's fingerprint).
const AddressContext = struct {
    pub fn hash(_: AddressContext, address: usize) u64 {
        return (@as(u64, address) >> 4) *% 0x9E3779B97F4A7C15;
    }
    pub fn eql(_: AddressContext, left: usize, right: usize) bool {
        return left == right;
    }
};

pub const Parser = struct {
    allocator: Allocator,
    limits: parser.Limits,
    max_queued_bytes: u32,
    option_flags: u32,
    /// pw_options.in_place_min_bytes: payloads at least this long that pw_feed_next_batch reads
    /// from the caller's bytes stay there; 0 = never.
    in_place_min_bytes: u32,
    /// pw_options.assemble_min_bytes: a message push at least this long that pw_feed_next_batch
    /// finds cut by the end of the caller's bytes is left to the caller to assemble; 0 = never.
    assemble_min_bytes: u32,
    reader: parser.Reader = .{},
    interner: intern.Interner,
    /// Message address → allocation length in bytes, for every message not yet freed.
    live_messages: std.HashMapUnmanaged(usize, usize, AddressContext, std.hash_map.default_max_load_percentage) = .empty,
    live_message_bytes: u64 = 0,
    total_messages: u64 = 0,
    total_bytes_fed: u64 = 0,
    errors_raised: u64 = 0,
    sticky_error: ?Error = null,
    error_text: errors.ErrorText = .{},
    /// Length of the frame behind the last view when fast_path.zig read it (the reader never saw
    /// it), else 0: tells `consumeView` which way to drop it. Set by every read of a view.
    fast_frame_length: usize = 0,
    /// Tests and the fuzz loop turn the fast path off to compare it with the general path.
    fast_path_enabled: bool = true,
    /// The last message push's header, for the next one that repeats it (fast_path.zig).
    repeated_header: fast_path.RepeatedHeader = .{},

    pub fn create(allocator: Allocator, options: abi.Options) Error!*Parser {
        if (options.reserved != 0) return error.InvalidArgument;
        if (options.flags & ~abi.options_known_mask != 0) return error.InvalidArgument;
        const self = try allocator.create(Parser);
        self.* = .{
            .allocator = allocator,
            .limits = .{
                .max_bulk_length = orDefault(options.max_bulk_length, abi.default_max_bulk_length),
                .max_nesting_depth = orDefault(options.max_nesting_depth, abi.default_max_nesting_depth),
                .max_aggregate_length = orDefault(options.max_aggregate_length, abi.default_max_aggregate_length),
            },
            .max_queued_bytes = orDefault(options.max_queued_bytes, abi.default_max_queued_bytes),
            .option_flags = options.flags,
            .in_place_min_bytes = options.in_place_min_bytes,
            .assemble_min_bytes = options.assemble_min_bytes,
            .interner = intern.Interner.init(options.max_interned_names),
        };
        return self;
    }

    fn orDefault(value: u32, default: u32) u32 {
        return if (value == 0) default else value;
    }

    /// Frees everything, outstanding messages included.
    pub fn destroy(self: *Parser) void {
        const allocator = self.allocator;
        var iterator = self.live_messages.iterator();
        while (iterator.next()) |entry| freeAllocation(allocator, entry.key_ptr.*, entry.value_ptr.*);
        self.live_messages.deinit(allocator);
        self.reader.deinit(allocator);
        self.interner.deinit(allocator);
        allocator.destroy(self);
    }

    pub fn reset(self: *Parser) void {
        self.reader.reset(self.allocator);
        self.fast_frame_length = 0;
        self.sticky_error = null;
        self.error_text.clear();
        self.repeated_header = .{};
    }

    pub fn setFlags(self: *Parser, flags: u32) Error!void {
        if (flags & ~abi.options_known_mask != 0) return error.InvalidArgument;
        self.option_flags = flags;
        // The header was judged under the old flags (they decide whether '*' arrays are read).
        self.repeated_header = .{};
    }

    pub fn feed(self: *Parser, bytes: []const u8) Error!void {
        if (self.sticky_error) |err| return err;
        if (bytes.len == 0) return;
        const buffered: u64 = self.reader.bufferedBytes();
        const queued = buffered + self.live_message_bytes + bytes.len;
        if (queued > self.max_queued_bytes) {
            self.error_text.set(errors.labelOf(error.QueueFull), self.streamOffsetEnd(), "{d} buffered + {d} live message bytes + {d} new bytes exceed max_queued_bytes {d}", .{ buffered, self.live_message_bytes, bytes.len, self.max_queued_bytes });
            return self.raise(error.QueueFull);
        }
        self.reader.append(self.allocator, bytes) catch {
            self.error_text.set(errors.labelOf(error.OutOfMemory), self.streamOffsetEnd(), "cannot buffer {d} more bytes", .{bytes.len});
            return self.raise(error.OutOfMemory);
        };
        self.total_bytes_fed += bytes.len;
    }

    fn streamOffsetEnd(self: *const Parser) u64 {
        return self.reader.stream_offset_consumed + self.reader.bufferedBytes();
    }

    /// Makes `err` sticky; its text must already be set.
    fn raise(self: *Parser, err: Error) Error {
        assert(errors.isSticky(err));
        assert(self.sticky_error == null);
        self.sticky_error = err;
        self.errors_raised += 1;
        return err;
    }

    /// Reads the message push at the front of the input into `view` when fast_path.zig can
    /// (true), else false: the general path must read the frame. Inline, and an out-parameter
    /// rather than an optional view, so the view stays in registers.
    inline fn readFastView(self: *Parser, view: *push.View) bool {
        assert(self.sticky_error == null);
        self.fast_frame_length = 0;
        if (!self.fast_path_enabled) return false;
        const input = self.reader.unscannedInput() orelse return false;
        const length = fast_path.readMessage(input, self.limits, self.option_flags, view);
        assert(length <= input.len);
        self.fast_frame_length = length;
        return length != 0;
    }

    /// The general path: parser.zig validates the frame, push.zig classifies it. The view
    /// borrows the input buffer until it is consumed; one not consumed (batch out of room,
    /// allocation failure) is returned again next time without re-validation.
    fn nextFrameView(self: *Parser) Error!?push.View {
        assert(self.sticky_error == null);
        self.fast_frame_length = 0;
        const frame_or_null = self.reader.next(self.allocator, self.limits) catch |err| {
            self.error_text = self.reader.error_text;
            if (err == error.OutOfMemory) {
                self.error_text.set(errors.labelOf(err), self.streamOffsetEnd(), "cannot grow the nesting stack", .{});
            }
            return self.raise(err);
        };
        const frame = frame_or_null orelse return null;
        return push.classify(frame, .{
            .option_flags = self.option_flags,
            .stream_offset = self.reader.stream_offset_consumed,
            .error_text = &self.error_text,
        }) catch |err| return self.raise(err);
    }

    inline fn consumeView(self: *Parser) void {
        if (self.fast_frame_length != 0) {
            self.reader.consumeUnscanned(self.allocator, self.fast_frame_length);
            self.fast_frame_length = 0;
        } else {
            self.reader.consume(self.allocator);
        }
        self.total_messages += 1;
    }

    inline fn internChannel(self: *Parser, view: push.View) u32 {
        if (view.channel_is_null) return 0;
        return switch (view.kind) {
            .reply, .error_reply, .pong, .invalidate => 0,
            else => self.interner.intern(self.allocator, view.channel),
        };
    }

    inline fn internPattern(self: *Parser, view: push.View) u32 {
        if (view.kind != .pmessage) return 0;
        return self.interner.intern(self.allocator, view.pattern);
    }

    /// The interned ids of a view's names (0 = none), as a batch header carries them.
    const NameIds = struct { channel: u32, pattern: u32 };

    inline fn namesOf(self: *Parser, view: push.View) NameIds {
        return .{ .channel = self.internChannel(view), .pattern = self.internPattern(view) };
    }

    /// fast_path.readMessage, with its names interned, through the repeated-header shortcut
    /// when the frame starts with the last one's header (which is remembered otherwise).
    inline fn readMessagePush(self: *Parser, bytes: []const u8, view: *push.View, ids: *NameIds) usize {
        const repeated = &self.repeated_header;
        const repeated_length = repeated.read(bytes, self.limits.max_bulk_length, view);
        if (repeated_length != 0) {
            ids.* = .{ .channel = repeated.channel_id, .pattern = repeated.pattern_id };
            return repeated_length;
        }
        const length = fast_path.readMessage(bytes, self.limits, self.option_flags, view);
        if (length == 0) return 0;
        ids.* = self.namesOf(view.*);
        repeated.remember(bytes, view.*, ids.channel, ids.pattern);
        return length;
    }

    /// pw_next_message: one allocation holding the struct and its bytes.
    pub fn nextMessage(self: *Parser) Error!?*abi.Message {
        if (self.sticky_error) |err| return err;
        var fast_view: push.View = undefined;
        if (self.readFastView(&fast_view)) return self.messageOf(fast_view);
        const view = try self.nextFrameView() orelse return null;
        return self.messageOf(view);
    }

    /// Allocates, fills and consumes the message of `view`. Inline, so a fast view stays in
    /// registers (one view merged from both paths went through memory: ~30 moves a message).
    inline fn messageOf(self: *Parser, view: push.View) Error!*abi.Message {
        const data_length = view.channel.len + view.pattern.len + view.payload.len;
        const allocation_length = @sizeOf(abi.Message) + data_length;
        const allocation = self.allocator.alignedAlloc(u8, message_alignment, allocation_length) catch
            return self.raiseOutOfMemory(allocation_length);
        self.live_messages.ensureUnusedCapacity(self.allocator, 1) catch {
            self.allocator.free(allocation);
            return self.raiseOutOfMemory(allocation_length);
        };
        const message: *abi.Message = @ptrCast(allocation.ptr);
        var data: []u8 = allocation[@sizeOf(abi.Message)..];
        message.* = .{
            .kind = @intFromEnum(view.kind),
            .flags = view.flags,
            .count = view.count,
            .channel_id = self.internChannel(view),
            .pattern_id = self.internPattern(view),
            .channel_length = @intCast(view.channel.len),
            .pattern_length = @intCast(view.pattern.len),
            .payload_length = @intCast(view.payload.len),
            .channel = copyPart(&data, view.channel),
            .pattern = copyPart(&data, view.pattern),
            .payload = copyPart(&data, view.payload),
        };
        assert(data.len == 0);
        self.live_messages.putAssumeCapacityNoClobber(@intFromPtr(message), allocation_length);
        self.live_message_bytes += allocation_length;
        self.consumeView();
        return message;
    }

    fn raiseOutOfMemory(self: *Parser, length: usize) Error {
        self.error_text.set(errors.labelOf(error.OutOfMemory), self.reader.stream_offset_consumed, "cannot allocate a message of {d} bytes", .{length});
        return self.raise(error.OutOfMemory);
    }

    /// Copies `part` to the front of `data` and advances it; null for an empty part (the header
    /// promises NULL pointers for zero lengths).
    inline fn copyPart(data: *[]u8, part: []const u8) ?[*]const u8 {
        if (part.len == 0) return null;
        const destination = data.*[0..part.len];
        copyBytes(destination, part);
        data.* = data.*[part.len..];
        return destination.ptr;
    }

    /// pw_free_message: the set lookup comes first, so a stale or foreign pointer is never read.
    pub fn freeMessage(self: *Parser, message: *abi.Message) Error!void {
        const entry = self.live_messages.fetchRemove(@intFromPtr(message)) orelse return error.ForeignMessage;
        assert(self.live_message_bytes >= entry.value);
        self.live_message_bytes -= entry.value;
        freeAllocation(self.allocator, entry.key, entry.value);
    }

    fn freeAllocation(allocator: Allocator, address: usize, length: usize) void {
        const bytes: [*]align(message_alignment.toByteUnits()) u8 = @ptrFromInt(address);
        allocator.free(bytes[0..length]);
    }

    /// pw_next_batch: copies straight from the input buffer; allocates nothing per message.
    pub fn nextBatch(self: *Parser, headers: []u32, data: []u8) Error!BatchResult {
        assert(headers.len % abi.batch_header_words == 0 and headers.len > 0);
        var result: BatchResult = .{ .status = .ok, .message_count = 0, .data_bytes = 0 };
        return self.continueBatch(headers, data, &result);
    }

    /// pw_feed_next_batch: pw_feed then pw_next_batch in one call, plus why the batch stopped.
    /// The message pushes in `bytes` are read straight from the caller's bytes (readInPlace): on
    /// a subscriber's stream most bytes are never copied into the input buffer at all.
    pub fn feedNextBatch(self: *Parser, bytes: []const u8, headers: []u32, data: []u8) Error!BatchResult {
        assert(headers.len % abi.batch_header_words == 0 and headers.len > 0);
        if (self.sticky_error) |err| return err;
        var result: BatchResult = .{ .status = .ok, .message_count = 0, .data_bytes = 0 };
        var rest = bytes;
        if (rest.len != 0 and self.fast_path_enabled) {
            // The same check pw_feed makes, on the same numbers: the outcome does not depend on
            // how many of the bytes end up buffered.
            try self.checkQueueRoom(rest.len);
            const outcome = self.readInPlace(bytes, headers, data, &result) catch |err| {
                result.bytes_taken = @intCast(bytes.len);
                return keptOrError(result, err);
            };
            switch (outcome) {
                .done => {
                    if (result.message_count == 0 and result.status == .ok) result.status = .pending;
                    result.bytes_taken = @intCast(bytes.len);
                    return result;
                },
                .rest => |unread| {
                    // A full batch (or data buffer) leaves the rest unread rather than buffered:
                    // the next call reads it in place too (buffering the rest of a 512 KiB chunk
                    // each time 1024 messages filled a batch was a copy of most of the stream).
                    // A cut long frame goes back to the caller, which assembles it.
                    if (result.stop == .room or result.stop == .cut) {
                        if (result.message_count == 0 and result.status == .ok) result.status = .pending;
                        result.bytes_taken = @intCast(bytes.len - unread.len);
                        return result;
                    }
                    rest = unread;
                },
            }
        }
        result.bytes_taken = @intCast(bytes.len);
        if (rest.len != 0) self.feed(rest) catch |err| return keptOrError(result, err);
        if (result.stop != .nothing or result.status == .buffer_too_small) return result;
        return self.continueBatch(headers, data, &result);
    }

    const InPlaceOutcome = union(enum) {
        /// Every byte is read or buffered, and what is buffered is one incomplete message push:
        /// no complete frame is left (the general reader must not start on the partial one, or
        /// the next chunk could not complete it in place).
        done,
        /// These bytes (a suffix of `bytes`) are neither read nor buffered. With stop == room (a
        /// full batch or data buffer) they stay untaken for the next call, with stop == cut they
        /// are a long frame for the caller to assemble; otherwise (a frame the fast path
        /// declines) they are buffered and the batch goes on from the input buffer.
        rest: []const u8,
    };

    /// Appends the message pushes in `bytes` to the batch, read from `bytes` itself. A frame
    /// that straddles from the previous chunk (it is what the input buffer holds) is completed
    /// with only its missing bytes, found from its header (fast_path.messageExtent), so the rest
    /// of the chunk is still read in place (buffering whole chunks was ~10% of a 256-byte
    /// stream). With `in_place_min_bytes`, long payloads are not even copied into `data`.
    fn readInPlace(self: *Parser, bytes: []const u8, headers: []u32, data: []u8, result: *BatchResult) Error!InPlaceOutcome {
        const message_count_max = headers.len / abi.batch_header_words;
        var rest = bytes;
        while (true) {
            if (result.message_count == message_count_max) {
                result.stop = .room;
                return .{ .rest = rest };
            }
            if (self.reader.bufferedBytes() != 0) {
                const input = self.reader.unscannedInput() orelse return .{ .rest = rest };
                const wanted: usize = switch (fast_path.messageExtent(input, self.limits, self.option_flags)) {
                    .declined => return .{ .rest = rest },
                    .exactly => |length| length,
                    // Its length is not known yet: take a little more and look again.
                    .at_least => |length| @max(length, input.len + 64),
                };
                if (wanted > input.len) {
                    if (rest.len == 0) return .done;
                    const taken = @min(wanted - input.len, rest.len);
                    try self.feed(rest[0..taken]);
                    rest = rest[taken..];
                    continue;
                }
                // The buffered frame is complete: read it (and any whole frames after it).
                const count_before = result.message_count;
                if (!self.appendFastMessages(headers, data, result)) {
                    result.stop = .room;
                    return .{ .rest = rest };
                }
                if (result.message_count == count_before) return .{ .rest = rest };
                continue;
            }
            if (rest.len == 0) return .done;
            var consumed: usize = 0;
            // A first message too large for `data`: the caller reads it from the input buffer
            // with pw_next_batch into a buffer of its own, so it is buffered (alone).
            var too_large_length: usize = 0;
            while (result.message_count < message_count_max) {
                var view: push.View = undefined;
                var ids: NameIds = undefined;
                const length = self.readMessagePush(rest[consumed..], &view, &ids);
                if (length == 0) break;
                if (!self.appendToBatchFrom(bytes, view, ids, headers, data, result)) {
                    if (result.status == .buffer_too_small) too_large_length = length;
                    result.stop = .room;
                    break;
                }
                consumed += length;
                self.total_messages += 1;
            }
            self.reader.stream_offset_consumed += consumed;
            self.total_bytes_fed += consumed;
            rest = rest[consumed..];
            if (too_large_length != 0) {
                try self.feed(rest[0..too_large_length]);
                rest = rest[too_large_length..];
            }
            if (result.stop != .nothing) return .{ .rest = rest };
            if (result.message_count == message_count_max or rest.len == 0) continue;
            // The front frame is incomplete (buffer it alone: the next chunk completes it) or one
            // the general path must read.
            switch (fast_path.messageExtent(rest, self.limits, self.option_flags)) {
                .declined => return .{ .rest = rest },
                .exactly => |length| {
                    if (length <= rest.len) return .{ .rest = rest };
                    if (self.leavesCutFrame(length)) {
                        result.stop = .cut;
                        result.cut_length = @intCast(length);
                        return .{ .rest = rest };
                    }
                },
                .at_least => {},
            }
            try self.feed(rest);
            return .done;
        }
    }

    /// True when a cut message push of `length` bytes goes back to the caller to assemble
    /// (PW_STOP_CUT) rather than into the input buffer: buffered, its bytes were copied in and
    /// then out again into a buffer of its own; the caller's copy is the only one (NativeParser,
    /// 64 KiB frames in 192 KiB chunks: 4.0–4.2 → 2.2–3.0 µs a message on Bun). Only when the
    /// frame fits the queue limit, so a frame the limit refuses is refused where it always was.
    inline fn leavesCutFrame(self: *const Parser, length: usize) bool {
        if (self.assemble_min_bytes == 0 or length < self.assemble_min_bytes) return false;
        assert(self.reader.bufferedBytes() == 0);
        return length <= self.max_queued_bytes - @min(self.max_queued_bytes, self.live_message_bytes);
    }

    /// An error met after some messages of a batch were written: those are returned and the
    /// (sticky) error waits for the next call, so nothing already accepted is lost.
    fn keptOrError(result: BatchResult, err: Error) Error!BatchResult {
        if (result.message_count == 0) return err;
        var kept = result;
        kept.stop = .error_next;
        return kept;
    }

    fn checkQueueRoom(self: *Parser, length: usize) Error!void {
        const buffered: u64 = self.reader.bufferedBytes();
        const queued = buffered + self.live_message_bytes + length;
        if (queued > self.max_queued_bytes) {
            self.error_text.set(errors.labelOf(error.QueueFull), self.streamOffsetEnd(), "{d} buffered + {d} live message bytes + {d} new bytes exceed max_queued_bytes {d}", .{ buffered, self.live_message_bytes, length, self.max_queued_bytes });
            return self.raise(error.QueueFull);
        }
    }

    /// Appends buffered messages to `result` until the batch is full, the input holds no complete
    /// frame, or an error comes; sets `result.stop` to say which.
    fn continueBatch(self: *Parser, headers: []u32, data: []u8, result_pointer: *BatchResult) Error!BatchResult {
        const message_count_max = headers.len / abi.batch_header_words;
        var result = result_pointer.*;
        result.stop = .room;
        while (result.message_count < message_count_max) {
            if (self.sticky_error) |err| return keptOrError(result, err);
            if (self.fast_path_enabled) {
                if (!self.appendFastMessages(headers, data, &result)) break;
                if (result.message_count == message_count_max) break;
                if (self.holdsCutMessage()) {
                    result.stop = .nothing;
                    break;
                }
            }
            // The frame the fast path declined (or all of them, when it is off).
            const view_or_null = self.nextFrameView() catch |err| return keptOrError(result, err);
            const view = view_or_null orelse {
                result.stop = .nothing;
                break;
            };
            if (!self.appendToBatch(view, self.namesOf(view), headers, data, &result)) break;
            self.reader.consume(self.allocator);
            self.total_messages += 1;
        }
        if (result.message_count == 0 and result.status == .ok) result.status = .pending;
        return result;
    }

    /// True when all the input holds is the start of a message push cut by the end of the bytes
    /// fed so far, and the general reader has not started on it: it must not, or the next
    /// pw_feed_next_batch could not complete it with its missing bytes (readInPlace needs it
    /// unscanned) and would buffer the whole chunk instead — and, the next cut frame being
    /// scanned the same way, every chunk after it. Seen after any frame the fast path declines
    /// (a subscribe confirmation sharing a chunk with messages): a fifth of a 256 B replay
    /// stream went through the buffer, 3.0 M instead of 4.2 M msgs/s. Not reading it yet
    /// changes no outcome: messageExtent declines whatever the general path would refuse as
    /// soon as it sees it, so such a frame is still read (and refused) right away.
    inline fn holdsCutMessage(self: *const Parser) bool {
        const input = self.reader.unscannedInput() orelse return false;
        if (input.len == 0) return false;
        return switch (fast_path.messageExtent(input, self.limits, self.option_flags)) {
            .declined => false,
            .exactly, .at_least => |length| length > input.len,
        };
    }

    /// Appends the run of message pushes at the front of the input that fast_path.zig reads,
    /// consuming them from the reader once at the end rather than per message (the per-message
    /// bookkeeping was a tenth of the batch path). False when the batch has no room for the next
    /// one; true when the run ended at a frame the general path must read (or at the end of the
    /// input, or with the batch full).
    inline fn appendFastMessages(self: *Parser, headers: []u32, data: []u8, result: *BatchResult) bool {
        assert(self.sticky_error == null and self.fast_path_enabled);
        const input = self.reader.unscannedInput() orelse return true;
        const message_count_max = headers.len / abi.batch_header_words;
        const message_count_before = result.message_count;
        var consumed: usize = 0;
        var has_room = true;
        while (result.message_count < message_count_max) {
            var view: push.View = undefined;
            var ids: NameIds = undefined;
            const length = self.readMessagePush(input[consumed..], &view, &ids);
            if (length == 0) break;
            if (!self.appendToBatch(view, ids, headers, data, result)) {
                has_room = false;
                break;
            }
            consumed += length;
        }
        if (consumed > 0) {
            self.reader.consumeUnscanned(self.allocator, consumed);
            self.total_messages += result.message_count - message_count_before;
        }
        return has_room;
    }

    /// Writes one message, or returns false when its bytes do not fit (`result` then says
    /// buffer_too_small when it is the batch's first message). The caller consumes the frame.
    inline fn appendToBatch(self: *Parser, view: push.View, ids: NameIds, headers: []u32, data: []u8, result: *BatchResult) bool {
        return self.appendToBatchFrom(null, view, ids, headers, data, result);
    }

    /// appendToBatch for a view of `input` (the caller's bytes, not the input buffer): with
    /// in_place_min_bytes set, a payload at least that long stays where it is (its offset in
    /// `input` goes in the header instead of the count, which is 0 for message kinds).
    inline fn appendToBatchFrom(self: *Parser, input: ?[]const u8, view: push.View, ids: NameIds, headers: []u32, data: []u8, result: *BatchResult) bool {
        assert(result.data_bytes <= data.len);
        const payload_in_place = input != null and self.in_place_min_bytes != 0 and
            view.payload.len >= self.in_place_min_bytes;
        const payload_copied = if (payload_in_place) 0 else view.payload.len;
        const needed = view.channel.len + view.pattern.len + payload_copied;
        if (needed > data.len - result.data_bytes) {
            if (result.message_count == 0) {
                result.status = .buffer_too_small;
                result.data_bytes = @intCast(needed);
                result.stop = .room;
            }
            return false;
        }
        const header_start = result.message_count * abi.batch_header_words;
        const header = headers[header_start..][0..abi.batch_header_words];
        writeBatchMessage(view, ids, header, data, result.data_bytes, payload_in_place);
        if (payload_in_place) {
            assert(view.count == 0);
            header[abi.batch_flags] |= abi.flag_payload_in_input;
            header[abi.batch_payload_input_offset] = @intCast(@intFromPtr(view.payload.ptr) - @intFromPtr(input.?.ptr));
        }
        result.data_bytes += @intCast(needed);
        result.message_count += 1;
        return true;
    }

    inline fn writeBatchMessage(view: push.View, ids: NameIds, header: *[abi.batch_header_words]u32, data: []u8, offset: u32, payload_in_place: bool) void {
        const channel_id_word: u32 = if (ids.channel > 0xFFFF) 0 else ids.channel;
        const pattern_id_word: u32 = if (ids.pattern > 0xFFFF) 0 else ids.pattern;
        header[abi.batch_kind] = @intFromEnum(view.kind);
        header[abi.batch_flags] = view.flags;
        header[abi.batch_count] = view.count;
        header[abi.batch_name_ids] = channel_id_word | (pattern_id_word << 16);
        header[abi.batch_data_offset] = offset;
        header[abi.batch_channel_length] = @intCast(view.channel.len);
        header[abi.batch_pattern_length] = @intCast(view.pattern.len);
        header[abi.batch_payload_length] = @intCast(view.payload.len);
        var cursor: usize = offset;
        const payload_copied = if (payload_in_place) view.payload[0..0] else view.payload;
        for ([_][]const u8{ view.channel, view.pattern, payload_copied }) |part| {
            copyBytes(data[cursor..][0..part.len], part);
            cursor += part.len;
        }
    }

    /// Copies a part of a message. Channel names and small payloads are most parts: up to 32
    /// bytes they take two overlapping moves inline instead of a libc call (measured: the calls
    /// were a fifth of the batch path at 16-byte payloads); longer ones go to copy.zig.
    /// The caller's buffer and the input buffer never overlap.
    inline fn copyBytes(destination: []u8, source: []const u8) void {
        assert(destination.len == source.len);
        const length = source.len;
        switch (length) {
            0 => {},
            1...3 => {
                destination[0] = source[0];
                destination[length / 2] = source[length / 2];
                destination[length - 1] = source[length - 1];
            },
            4...7 => copyOverlapping(4, destination, source),
            8...15 => copyOverlapping(8, destination, source),
            16...32 => copyOverlapping(16, destination, source),
            else => copy(destination, source),
        }
    }

    /// The first and the last `width` bytes: together they cover width..2*width bytes.
    inline fn copyOverlapping(comptime width: usize, destination: []u8, source: []const u8) void {
        assert(source.len >= width and source.len <= 2 * width and destination.len == source.len);
        const tail = source.len - width;
        const head_bytes: [width]u8 = source[0..width].*;
        const tail_bytes: [width]u8 = source[tail..][0..width].*;
        destination[0..width].* = head_bytes;
        destination[tail..][0..width].* = tail_bytes;
    }

    pub fn counters(self: *const Parser) abi.Counters {
        const buffered: u64 = self.reader.bufferedBytes();
        return .{
            .live_messages = self.live_messages.count(),
            .live_bytes = buffered + self.live_message_bytes,
            .total_messages = self.total_messages,
            .total_bytes_fed = self.total_bytes_fed,
            .errors = self.errors_raised,
            .buffered_bytes = buffered,
        };
    }

    pub fn errorMessage(self: *const Parser) []const u8 {
        if (self.sticky_error == null) return "";
        return self.error_text.slice();
    }

    pub fn internedName(self: *const Parser, id: u32) ?[]const u8 {
        return self.interner.nameOf(id);
    }
};
