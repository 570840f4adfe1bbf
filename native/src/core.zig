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
const Error = errors.Error;

const message_alignment = std.mem.Alignment.of(abi.Message);

pub const BatchResult = struct {
    status: enum { ok, pending, buffer_too_small },
    message_count: u32,
    data_bytes: u32,
};

pub const Parser = struct {
    allocator: Allocator,
    limits: parser.Limits,
    max_queued_bytes: u32,
    option_flags: u32,
    reader: parser.Reader = .{},
    interner: intern.Interner,
    /// Message address → allocation length in bytes, for every message not yet freed.
    live_messages: std.AutoHashMapUnmanaged(usize, usize) = .empty,
    live_message_bytes: u64 = 0,
    total_messages: u64 = 0,
    total_bytes_fed: u64 = 0,
    errors_raised: u64 = 0,
    sticky_error: ?Error = null,
    error_text: errors.ErrorText = .{},

    pub fn create(allocator: Allocator, options: abi.Options) Error!*Parser {
        if (options.reserved[0] != 0 or options.reserved[1] != 0) return error.InvalidArgument;
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
        self.sticky_error = null;
        self.error_text.clear();
    }

    pub fn setFlags(self: *Parser, flags: u32) Error!void {
        if (flags & ~abi.options_known_mask != 0) return error.InvalidArgument;
        self.option_flags = flags;
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

    /// The next frame, classified; borrows the input buffer until `consumeView`.
    fn nextView(self: *Parser) Error!?push.View {
        if (self.sticky_error) |err| return err;
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

    fn consumeView(self: *Parser) void {
        self.reader.consume(self.allocator);
        self.total_messages += 1;
    }

    fn internChannel(self: *Parser, view: push.View) u32 {
        if (view.channel_is_null) return 0;
        return switch (view.kind) {
            .reply, .error_reply, .pong, .invalidate => 0,
            else => self.interner.intern(self.allocator, view.channel),
        };
    }

    fn internPattern(self: *Parser, view: push.View) u32 {
        if (view.kind != .pmessage) return 0;
        return self.interner.intern(self.allocator, view.pattern);
    }

    /// pw_next_message: one allocation holding the struct and its bytes.
    pub fn nextMessage(self: *Parser) Error!?*abi.Message {
        const view = try self.nextView() orelse return null;
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
    fn copyPart(data: *[]u8, part: []const u8) ?[*]const u8 {
        if (part.len == 0) return null;
        const destination = data.*[0..part.len];
        @memcpy(destination, part);
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
        const message_count_max = headers.len / abi.batch_header_words;
        var result: BatchResult = .{ .status = .ok, .message_count = 0, .data_bytes = 0 };
        while (result.message_count < message_count_max) {
            const view_or_null = self.nextView() catch |err| {
                // Messages already written are kept; the sticky error waits for the next call.
                if (result.message_count > 0) return result;
                return err;
            };
            const view = view_or_null orelse break;
            const needed = view.channel.len + view.pattern.len + view.payload.len;
            if (needed > data.len - result.data_bytes) {
                if (result.message_count > 0) return result;
                return .{ .status = .buffer_too_small, .message_count = 0, .data_bytes = @intCast(needed) };
            }
            const header_start = result.message_count * abi.batch_header_words;
            self.writeBatchMessage(view, headers[header_start..][0..abi.batch_header_words], data, result.data_bytes);
            result.data_bytes += @intCast(needed);
            result.message_count += 1;
            self.consumeView();
        }
        if (result.message_count == 0) result.status = .pending;
        return result;
    }

    fn writeBatchMessage(self: *Parser, view: push.View, header: *[abi.batch_header_words]u32, data: []u8, offset: u32) void {
        const channel_id = self.internChannel(view);
        const pattern_id = self.internPattern(view);
        const channel_id_word: u32 = if (channel_id > 0xFFFF) 0 else channel_id;
        const pattern_id_word: u32 = if (pattern_id > 0xFFFF) 0 else pattern_id;
        header[abi.batch_kind] = @intFromEnum(view.kind);
        header[abi.batch_flags] = view.flags;
        header[abi.batch_count] = view.count;
        header[abi.batch_name_ids] = channel_id_word | (pattern_id_word << 16);
        header[abi.batch_data_offset] = offset;
        header[abi.batch_channel_length] = @intCast(view.channel.len);
        header[abi.batch_pattern_length] = @intCast(view.pattern.len);
        header[abi.batch_payload_length] = @intCast(view.payload.len);
        var cursor: usize = offset;
        for ([_][]const u8{ view.channel, view.pattern, view.payload }) |part| {
            @memcpy(data[cursor..][0..part.len], part);
            cursor += part.len;
        }
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
