//! errors.zig — the core's one error set and the fixed-size text that explains a sticky error.
//! Its rule: explaining an error never allocates (it happens exactly when memory may be short).

const std = @import("std");

/// Every failure the core can report. lib.zig maps each to a pw_status with one exhaustive switch.
pub const Error = error{
    Protocol,
    BulkTooLong,
    TooDeep,
    AggregateTooLong,
    QueueFull,
    PushShape,
    OutOfMemory,
    InvalidArgument,
    ForeignMessage,
};

/// Errors from the reader and classification, which poison the parser until reset.
pub fn isSticky(err: Error) bool {
    return switch (err) {
        error.Protocol,
        error.BulkTooLong,
        error.TooDeep,
        error.AggregateTooLong,
        error.QueueFull,
        error.PushShape,
        error.OutOfMemory,
        => true,
        error.InvalidArgument, error.ForeignMessage => false,
    };
}

/// Explanation of the last sticky error, e.g.
/// "protocol error at offset 1234: expected CRLF after bulk string of 5 bytes".
pub const ErrorText = struct {
    pub const capacity_bytes = 240;

    buffer: [capacity_bytes]u8 = undefined,
    length: usize = 0,

    pub fn clear(self: *ErrorText) void {
        self.length = 0;
    }

    pub fn slice(self: *const ErrorText) []const u8 {
        return self.buffer[0..self.length];
    }

    /// Formats "<label> at offset <offset>: <detail>"; truncates (never fails) when too long.
    pub fn set(
        self: *ErrorText,
        label: []const u8,
        offset: u64,
        comptime detail_format: []const u8,
        detail_arguments: anytype,
    ) void {
        var writer = std.Io.Writer.fixed(&self.buffer);
        writer.print("{s} at offset {d}: ", .{ label, offset }) catch {};
        writer.print(detail_format, detail_arguments) catch {};
        self.length = writer.end;
        std.debug.assert(self.length <= capacity_bytes);
    }
};

pub fn labelOf(err: Error) []const u8 {
    return switch (err) {
        error.Protocol => "protocol error",
        error.BulkTooLong => "bulk too long",
        error.TooDeep => "nesting too deep",
        error.AggregateTooLong => "aggregate too long",
        error.QueueFull => "queue full",
        error.PushShape => "push shape error",
        error.OutOfMemory => "out of memory",
        error.InvalidArgument => "invalid argument",
        error.ForeignMessage => "foreign message",
    };
}

test "error text formats offset and detail, and truncates" {
    var text: ErrorText = .{};
    text.set("protocol error", 1234, "expected CRLF after bulk string of {d} bytes", .{5});
    try std.testing.expectEqualStrings(
        "protocol error at offset 1234: expected CRLF after bulk string of 5 bytes",
        text.slice(),
    );
    const long = "x" ** 400;
    text.set("protocol error", 1, "{s}", .{long});
    try std.testing.expectEqual(@as(usize, ErrorText.capacity_bytes), text.length);
}
