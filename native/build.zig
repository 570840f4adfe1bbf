//! build.zig — libpushwire for the host (default), every shipped target (`prebuilt`), and the
//! `test`, `fuzz` and `bench` steps. The list of shipped targets is closed: adding one is a
//! deliberate change here and in the TS loader.

const std = @import("std");

/// Every target a package ships a prebuilt library for, named as the output folder.
const prebuilt_targets = [_][]const u8{
    "x86_64-linux-gnu",
    "aarch64-linux-gnu",
    "x86_64-linux-musl",
    "aarch64-linux-musl",
    "x86_64-macos",
    "aarch64-macos",
    "x86_64-windows",
};

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});

    const library = addLibrary(b, target, optimize, null);
    b.installArtifact(library);

    addTestStep(b, target, optimize);
    addToolStep(b, target, .{ .name = "pushwire-fuzz", .step = "fuzz", .source = "src/fuzz.zig", .description = "Run the seeded random-input loop: zig build fuzz -- <seconds> <seed>", .default_optimize = .ReleaseSafe }, optimize);
    addToolStep(b, target, .{ .name = "pushwire-bench", .step = "bench", .source = "src/bench.zig", .description = "Run the pure-Zig parser ceiling benchmark: zig build bench -- [messages]", .default_optimize = .ReleaseFast }, optimize);
    addPrebuiltStep(b);
}

fn addLibrary(b: *std.Build, target: std.Build.ResolvedTarget, optimize: std.builtin.OptimizeMode, strip: ?bool) *std.Build.Step.Compile {
    return b.addLibrary(.{
        .linkage = .dynamic,
        .name = "pushwire",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/lib.zig"),
            .target = target,
            .optimize = optimize,
            // The C heap: messages live in the host process's malloc, like any C library's.
            // (musl's loader resolves the resulting "libc.so" dependency to itself.)
            .link_libc = true,
            .strip = strip,
        }),
    });
}

fn addTestStep(b: *std.Build, target: std.Build.ResolvedTarget, optimize: std.builtin.OptimizeMode) void {
    const module = b.createModule(.{
        .root_source_file = b.path("src/test_all.zig"),
        .target = target,
        .optimize = optimize,
        // header_test.zig @cImports include/pushwire.h, which needs <stdint.h>.
        .link_libc = true,
    });
    module.addIncludePath(b.path("include"));
    const tests = b.addTest(.{ .root_module = module });
    const run = b.addRunArtifact(tests);
    const step = b.step("test", "Run all Zig unit tests");
    step.dependOn(&run.step);
}

const Tool = struct {
    name: []const u8,
    step: []const u8,
    source: []const u8,
    description: []const u8,
    /// Used when -Doptimize is not given: a fuzz loop wants safety checks, a benchmark speed.
    default_optimize: std.builtin.OptimizeMode,
};

fn addToolStep(b: *std.Build, target: std.Build.ResolvedTarget, tool: Tool, optimize: std.builtin.OptimizeMode) void {
    const chosen_optimize = if (b.user_input_options.contains("optimize")) optimize else tool.default_optimize;
    const executable = b.addExecutable(.{
        .name = tool.name,
        .root_module = b.createModule(.{
            .root_source_file = b.path(tool.source),
            .target = target,
            .optimize = chosen_optimize,
            .link_libc = true,
        }),
    });
    const install = b.addInstallArtifact(executable, .{});
    const run = b.addRunArtifact(executable);
    if (b.args) |arguments| run.addArgs(arguments);
    run.step.dependOn(&install.step);
    const step = b.step(tool.step, tool.description);
    step.dependOn(&run.step);
}

fn addPrebuiltStep(b: *std.Build) void {
    const step = b.step("prebuilt", "Build ReleaseFast libraries for every shipped target into zig-out/prebuilt/<target>/");
    for (prebuilt_targets) |triple| {
        const query = std.Target.Query.parse(.{ .arch_os_abi = triple }) catch
            std.debug.panic("bad prebuilt target {s}", .{triple});
        // Shipped binaries carry no debug info: a fraction of the size, same code.
        const library = addLibrary(b, b.resolveTargetQuery(query), .ReleaseFast, true);
        const install = b.addInstallArtifact(library, .{
            .dest_dir = .{ .override = .{ .custom = b.fmt("prebuilt/{s}", .{triple}) } },
            // Windows import libraries and debug files are not shipped.
            .implib_dir = .disabled,
            .pdb_dir = .disabled,
        });
        step.dependOn(&install.step);
    }
}
