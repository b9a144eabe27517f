//! The `manage` binary: everything lives in the library, so other crates can build the same program.

/// mimalloc instead of glibc's allocator: a worker allocates and frees many small buffers per
/// job (job fields, JSON values, HTTP headers), and glibc's allocator was the largest single cost
/// in the worker's profile (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    manage::main()
}
