//! A program of your own with every built-in command plus yours: depend on `manage`, register
//! commands with `manage::command!`, and call `manage::main()`.
//!
//! ```sh
//! cargo run --example custom_manage -- help
//! cargo run --example custom_manage -- greet --name Ada
//! ```

use manage::{CommandResult, Context};

/// Options of `greet`.
#[derive(clap::Args, Debug)]
struct GreetArgs {
    /// Who to greet.
    #[arg(long, default_value = "world")]
    name: String,
    /// Greet this many times.
    #[arg(long, default_value_t = 1)]
    times: u32,
}

manage::command! {
    name: "greet", group: "demo", about: "Print a greeting (an example of a command from another crate)",
    args: GreetArgs, run: greet,
}

async fn greet(ctx: Context, args: GreetArgs) -> CommandResult {
    for _ in 0..args.times {
        ctx.out().line(format!("Hello, {}!", args.name));
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    manage::main()
}
