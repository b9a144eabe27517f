//! `manage`: a Django-style management command framework that runs a NetBox-style webhook
//! pipeline on Python RQ's Redis layout.
//!
//! A map of the crate, in the order one webhook travels:
//! - [`cli`]: the `manage` command line (help listing, common options, dispatch, exit codes).
//! - [`registry`]: commands register themselves with [`command!`]; `commands/` holds the built-in ones.
//! - [`config`]: [`Settings`], loaded once in layers (defaults, file, environment, flags).
//! - [`context`]: what a command gets: settings, output, the shared Redis connection and HTTP client.
//! - [`destinations`]: which addresses webhooks may reach (`[http] block_private`, `allow`).
//! - [`error`]: [`CommandError`], printed as `CommandError: …` with an exit code.
//! - [`python`]: Python's text for values (`repr`, `str`, `json.dumps`, `pprint`, `%`), shared by
//!   RQ's job descriptions and the webhook templates.
//! - [`webhooks`]: events to rules (NetBox conditions), templates to URL, headers and body, and
//!   signatures; pure logic, no Redis or HTTP.
//! - [`receiver`]: the `webhook_receiver` HTTP listener that prints what it gets.
//! - [`tasks`]: background tasks: queue, job and worker views and actions, for the `rq*`
//!   commands and the `background_tasks` web page.
//!
//! Other crates add commands by depending on this one, registering with [`command!`], and
//! calling [`main`] from their own `main.rs`.

#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod context;
pub mod destinations;
pub mod error;
pub mod gateway;
pub mod globals;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod output;
pub mod pipeline;
pub mod python;
pub mod receiver;
pub mod redact;
pub mod redis_conn;
pub mod redis_url;
pub mod registry;
pub mod rq;
pub mod serve;
pub mod signals;
pub mod size;
pub mod tasks;
pub mod trace;
pub mod webhooks;

/// The built-in commands, one file each.
#[path = "../commands/mod.rs"]
pub mod commands;

pub use config::Settings;
pub use context::Context;
pub use error::{CommandError, CommandResult};
pub use output::Output;

#[doc(hidden)]
pub use {clap, futures, inventory};

/// The whole `manage` program: parse `std::env::args`, run the command, return its exit code.
/// A crate with extra commands calls this from its own `main`.
pub fn main() -> std::process::ExitCode {
    cli::run(std::env::args_os())
}

/// Runs a command by name, as Django's `call_command` does, and returns what it printed and its
/// exit code instead of exiting. `args` are what would follow the command name on the command line.
pub fn call_command<I, S>(name: &str, args: I) -> cli::Outcome
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString>,
{
    let mut argv: Vec<std::ffi::OsString> = vec![cli::PROG.into(), name.into()];
    argv.extend(args.into_iter().map(Into::into));
    cli::execute(argv, Output::buffer(), Output::buffer(), false)
}
