//! test_all.zig — the root of `zig build test`: pulls in the exported library (so every `pw_*`
//! export is compiled and callable) and every test file beside the code it tests.

test {
    _ = @import("lib.zig");
    _ = @import("errors.zig");
    _ = @import("intern.zig");
    _ = @import("slot.zig");
    _ = @import("copy.zig");
    _ = @import("glob.zig");
    _ = @import("push.zig");
    _ = @import("fast_path.zig");
    _ = @import("parser.zig");
    _ = @import("core.zig");
    _ = @import("parser_test.zig");
    _ = @import("push_test.zig");
    _ = @import("core_test.zig");
    _ = @import("lib_test.zig");
    _ = @import("header_test.zig");
}
