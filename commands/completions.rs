//! `manage completions <shell>`: shell completion scripts generated from the registry.

use crate::{CommandResult, Context};

/// Options of `manage completions`.
#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

crate::command! {
    name: "completions", group: "core", about: "Print a shell completion script (bash, zsh, fish, elvish, powershell)",
    args: CompletionsArgs, run: completions,
}

async fn completions(ctx: Context, args: CompletionsArgs) -> CommandResult {
    let mut root = crate::cli::root_command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut root, crate::cli::PROG, &mut script);
    ctx.out().write_bytes(&script);
    Ok(())
}
