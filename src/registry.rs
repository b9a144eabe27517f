//! The command registry: every command, built in or added by another crate, registers itself here
//! through `inventory`, so adding a command is adding a file.

use futures::future::BoxFuture;

use crate::{context::Context, error::CommandResult};

/// The type-erased entry point of a command: parsed arguments in, outcome out.
pub type Handler = fn(Context, clap::ArgMatches) -> BoxFuture<'static, CommandResult>;

/// One registered command. Built with [`crate::command!`], which fills `args` and `run` from a
/// `clap::Args` type and an async handler.
pub struct CommandSpec {
    /// What the user types: `manage <name>`.
    pub name: &'static str,
    /// The Django-style app label the help listing groups by (`core`, `rq`, `webhooks`, …).
    pub group: &'static str,
    /// One line for the listing; also the top of `manage help <name>`.
    pub about: &'static str,
    /// Adds the command's own arguments to its clap `Command`.
    pub args: fn(clap::Command) -> clap::Command,
    /// Runs the command.
    pub run: Handler,
    /// Whether the command refuses to run when the settings have problems (Django's
    /// `requires_system_checks`). Only commands that report problems themselves turn it off.
    pub requires_system_checks: bool,
}

inventory::collect!(CommandSpec);

/// Every registered command, sorted by group then name, so listings are stable.
pub fn all() -> Vec<&'static CommandSpec> {
    let mut commands: Vec<&'static CommandSpec> =
        inventory::iter::<CommandSpec>.into_iter().collect();
    commands.sort_by(|a, b| (a.group, a.name).cmp(&(b.group, b.name)));
    commands.dedup_by(|a, b| a.name == b.name);
    commands
}

/// The command registered under `name`, if any.
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    inventory::iter::<CommandSpec>
        .into_iter()
        .find(|spec| spec.name == name)
}

/// The registered name closest to a mistyped one, as Django's "Did you mean …?" does.
pub fn closest(name: &str) -> Option<&'static str> {
    all()
        .into_iter()
        .map(|spec| (strsim::normalized_levenshtein(name, spec.name), spec.name))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// Registers a command. The handler is `async fn(Context, Args) -> CommandResult`.
///
/// ```ignore
/// manage::command! {
///     name: "hello", group: "demo", about: "Say hello",
///     args: HelloArgs, run: hello,
/// }
/// ```
#[macro_export]
macro_rules! command {
    (name: $name:expr, group: $group:expr, about: $about:expr, args: $args:ty, run: $run:path $(,)?) => {
        $crate::command! { name: $name, group: $group, about: $about, args: $args, run: $run, requires_system_checks: true }
    };
    (name: $name:expr, group: $group:expr, about: $about:expr, args: $args:ty, run: $run:path, requires_system_checks: $checks:expr $(,)?) => {
        const _: () = {
            fn __manage_run(
                ctx: $crate::Context,
                matches: $crate::clap::ArgMatches,
            ) -> $crate::futures::future::BoxFuture<'static, $crate::CommandResult> {
                ::std::boxed::Box::pin(async move {
                    let args = <$args as $crate::clap::FromArgMatches>::from_arg_matches(&matches)
                        .map_err(|e| $crate::CommandError::new(e).with_code(2))?;
                    $run(ctx, args).await
                })
            }
            $crate::inventory::submit! {
                $crate::registry::CommandSpec {
                    name: $name,
                    group: $group,
                    about: $about,
                    args: <$args as $crate::clap::Args>::augment_args,
                    run: __manage_run,
                    requires_system_checks: $checks,
                }
            }
        };
    };
}
