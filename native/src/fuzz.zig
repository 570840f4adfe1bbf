//! fuzz.zig — `pushwire-fuzz <seconds> <seed> [debug]`: runs fuzz_loop.iteration with a seeded
//! PRNG for the given time (default 10 s, seed from the clock). Prints the seed first so a failure
//! can be replayed exactly; exits non-zero on a failed check or a leak.
//!
//! Allocations go through a counting allocator that must be back to zero live allocations and
//! bytes after every iteration. It wraps the C heap by default (fast: more iterations per second);
//! with "debug" it wraps Zig's DebugAllocator, which also catches double frees and leaks by address
//! at the cost of ~40x fewer iterations.

const std = @import("std");
const Allocator = std.mem.Allocator;
const fuzz_loop = @import("fuzz_loop.zig");

/// Counts live allocations and bytes of the allocator it wraps.
const CountingAllocator = struct {
    backing: Allocator,
    live_allocations: u64 = 0,
    live_bytes: u64 = 0,

    fn allocator(self: *CountingAllocator) Allocator {
        return .{ .ptr = self, .vtable = &.{ .alloc = alloc, .resize = resize, .remap = remap, .free = free } };
    }

    fn alloc(context: *anyopaque, length: usize, alignment: std.mem.Alignment, return_address: usize) ?[*]u8 {
        const self: *CountingAllocator = @ptrCast(@alignCast(context));
        const memory = self.backing.rawAlloc(length, alignment, return_address) orelse return null;
        self.live_allocations += 1;
        self.live_bytes += length;
        return memory;
    }

    fn resize(context: *anyopaque, memory: []u8, alignment: std.mem.Alignment, new_length: usize, return_address: usize) bool {
        const self: *CountingAllocator = @ptrCast(@alignCast(context));
        if (!self.backing.rawResize(memory, alignment, new_length, return_address)) return false;
        self.live_bytes = self.live_bytes - memory.len + new_length;
        return true;
    }

    fn remap(context: *anyopaque, memory: []u8, alignment: std.mem.Alignment, new_length: usize, return_address: usize) ?[*]u8 {
        const self: *CountingAllocator = @ptrCast(@alignCast(context));
        const moved = self.backing.rawRemap(memory, alignment, new_length, return_address) orelse return null;
        self.live_bytes = self.live_bytes - memory.len + new_length;
        return moved;
    }

    fn free(context: *anyopaque, memory: []u8, alignment: std.mem.Alignment, return_address: usize) void {
        const self: *CountingAllocator = @ptrCast(@alignCast(context));
        std.debug.assert(self.live_allocations > 0 and self.live_bytes >= memory.len);
        self.live_allocations -= 1;
        self.live_bytes -= memory.len;
        self.backing.rawFree(memory, alignment, return_address);
    }
};

const Arguments = struct { seconds: u64, seed: u64, use_debug_allocator: bool };

fn parseArguments() !Arguments {
    var arguments = std.process.args();
    _ = arguments.skip();
    const seconds_text = arguments.next();
    const seed_text = arguments.next();
    const mode_text = arguments.next();
    return .{
        .seconds = if (seconds_text) |text| try std.fmt.parseInt(u64, text, 10) else 10,
        .seed = if (seed_text) |text| try std.fmt.parseInt(u64, text, 0) else @bitCast(std.time.milliTimestamp()),
        .use_debug_allocator = if (mode_text) |text| std.mem.eql(u8, text, "debug") else false,
    };
}

pub fn main() !u8 {
    const arguments = try parseArguments();
    // No stack traces per allocation: capturing them costs more than a whole iteration.
    var debug_allocator: std.heap.DebugAllocator(.{ .stack_trace_frames = 0 }) = .init;
    var counting: CountingAllocator = .{
        .backing = if (arguments.use_debug_allocator) debug_allocator.allocator() else std.heap.c_allocator,
    };
    const allocator = counting.allocator();

    std.debug.print("pushwire-fuzz: seed {d}, {d} s, {s} allocator\n", .{ arguments.seed, arguments.seconds, if (arguments.use_debug_allocator) "debug" else "C" });
    var prng = std.Random.DefaultPrng.init(arguments.seed);
    const random = prng.random();
    var timer = try std.time.Timer.start();
    const duration_ns = arguments.seconds * std.time.ns_per_s;
    var iterations: u64 = 0;
    while (timer.read() < duration_ns) : (iterations += 1) {
        // Each iteration gets its own seed so a failure can be replayed alone.
        const iteration_seed = random.int(u64);
        var iteration_prng = std.Random.DefaultPrng.init(iteration_seed);
        fuzz_loop.iteration(allocator, iteration_prng.random()) catch |err| {
            std.debug.print("pushwire-fuzz: FAILED at iteration {d} (iteration seed {d}): {s}\n", .{ iterations, iteration_seed, @errorName(err) });
            return 1;
        };
        if (counting.live_allocations != 0 or counting.live_bytes != 0) {
            std.debug.print("pushwire-fuzz: FAILED at iteration {d} (iteration seed {d}): {d} allocations / {d} bytes still live\n", .{ iterations, iteration_seed, counting.live_allocations, counting.live_bytes });
            return 1;
        }
    }
    if (debug_allocator.deinit() == .leak) {
        std.debug.print("pushwire-fuzz: FAILED: memory leaked\n", .{});
        return 1;
    }
    std.debug.print("pushwire-fuzz: ok, {d} iterations in {d} s: no crash, splits agree, nothing live, memory back to zero\n", .{ iterations, arguments.seconds });
    return 0;
}
