//! The `manage` binary: everything lives in the library, so other crates can build the same program.

fn main() -> std::process::ExitCode {
    manage::main()
}
