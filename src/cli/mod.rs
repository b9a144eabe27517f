//! The command line: Django's `manage.py` behaviour on top of clap. Parses the options every
//! command shares, finds the command in the registry, and turns its outcome into an exit code.

mod global;
mod help;

use std::{ffi::OsString, process::ExitCode};

pub use crate::globals::{GlobalOptions, LogFormat};
pub use help::root_command;

use crate::{config::Settings, context::Context, error::CommandError, output::Output, registry};

/// The program name shown in usage lines and hints.
pub const PROG: &str = "manage";

/// How a command run ended, with what it printed when the output was captured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The process exit code.
    pub code: u8,
    /// What went to stdout.
    pub stdout: String,
    /// What went to stderr.
    pub stderr: String,
}

/// Runs the command line `argv` (program name first) and returns the exit code: the whole
/// life of the `manage` binary.
pub fn run(argv: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let outcome = execute(argv, Output::Stdout, Output::Stderr, true);
    ExitCode::from(outcome.code)
}

/// Parses, dispatches and runs, writing to the given outputs. `install_logging` is false under
/// `call_command`, which must not replace the host program's tracing subscriber.
pub(crate) fn execute(
    argv: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    out: Output,
    err: Output,
    install_logging: bool,
) -> Outcome {
    let finish = |code: u8| Outcome {
        code,
        stdout: out.captured(),
        stderr: err.captured(),
    };
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let mut root = help::root_command();
    root.build();
    let matches = match root.try_get_matches_from_mut(argv.clone()) {
        Ok(matches) => matches,
        Err(error) => {
            let rendered = error.render();
            let text = if global::wants_color(&argv, &err) {
                rendered.ansi().to_string()
            } else {
                rendered.to_string()
            };
            let code = if error.use_stderr() {
                let text = with_usage(text, &mut root, &argv);
                err.write_bytes(text.as_bytes());
                2
            } else {
                out.write_bytes(text.as_bytes());
                0
            };
            return finish(code);
        }
    };
    let Some((name, sub_matches)) = matches.subcommand() else {
        out.write_bytes(help::listing().as_bytes());
        return finish(0);
    };
    if name == "help" {
        return match sub_matches.get_one::<String>("command") {
            None => {
                out.write_bytes(help::listing().as_bytes());
                finish(0)
            }
            Some(command) if registry::find(command).is_some() => {
                let sub = root
                    .find_subcommand_mut(command)
                    .expect("registered commands are subcommands");
                out.write_bytes(sub.render_long_help().to_string().as_bytes());
                finish(0)
            }
            Some(command) => {
                err.write_bytes(help::unknown_command(command).as_bytes());
                finish(1)
            }
        };
    }
    let Some(spec) = registry::find(name) else {
        err.write_bytes(help::unknown_command(name).as_bytes());
        return finish(1);
    };
    finish(dispatch(spec, sub_matches, &out, &err, install_logging))
}

/// Loads the settings (refusing bad ones unless the command checks them itself), builds the
/// context and runs the command; returns the exit code.
fn dispatch(
    spec: &'static registry::CommandSpec,
    sub_matches: &clap::ArgMatches,
    out: &Output,
    err: &Output,
    install_logging: bool,
) -> u8 {
    let globals = GlobalOptions::from_matches(sub_matches);
    if install_logging {
        crate::logging::install(&globals);
    }
    match Settings::load_unchecked(&globals.load_options()) {
        Err(error) => report(err, &globals, &CommandError::from(error)),
        Ok(loaded) if spec.requires_system_checks && !loaded.problems.is_empty() => report(
            err,
            &globals,
            &CommandError::from(crate::config::ConfigError {
                problems: loaded.problems,
            }),
        ),
        Ok(loaded) => {
            let ctx = Context::new(
                loaded.settings,
                loaded.source,
                loaded.problems,
                globals.clone(),
                out.clone(),
                err.clone(),
            );
            match run_handler(spec, ctx, sub_matches.clone()) {
                Ok(()) => 0,
                Err(error) => report(err, &globals, &error),
            }
        }
    }
}

/// Clap leaves the usage line out of some errors (a bad value, for one); every usage error
/// shows it, so the user sees what the command takes.
fn with_usage(text: String, root: &mut clap::Command, argv: &[OsString]) -> String {
    if text.contains("Usage:") {
        return text;
    }
    let command = argv
        .iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| registry::find(a).is_some());
    let usage = match command.and_then(|name| root.find_subcommand_mut(name)) {
        Some(sub) => sub.render_usage(),
        None => root.render_usage(),
    };
    let (head, tail) = match text.find("\nFor more information") {
        Some(at) => text.split_at(at),
        None => (text.as_str(), ""),
    };
    format!(
        "{}\n{usage}\n{tail}",
        head.trim_end_matches('\n').to_owned() + "\n"
    )
}

/// Runs a handler to completion on a fresh multi-threaded runtime, or on the caller's runtime
/// when there is one (as under `call_command` from async code).
fn run_handler(
    spec: &'static registry::CommandSpec,
    ctx: Context,
    matches: clap::ArgMatches,
) -> Result<(), CommandError> {
    let future = (spec.run)(ctx, matches);
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => std::thread::scope(|scope| {
            scope
                .spawn(|| handle.block_on(future))
                .join()
                .unwrap_or_else(|_| Err(CommandError::new("the command panicked")))
        }),
        Err(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| CommandError::new(format!("cannot start the async runtime: {e}")))?
            .block_on(future),
    }
}

/// Prints `CommandError: …` (and with `--traceback`, every cause) and gives the exit code.
fn report(err: &Output, globals: &GlobalOptions, error: &CommandError) -> u8 {
    let chain = error.chain();
    let mut text = String::new();
    let first = chain.first().cloned().unwrap_or_default();
    let mut lines = first.lines();
    text.push_str(&format!(
        "CommandError: {}\n",
        lines.next().unwrap_or_default()
    ));
    for line in lines {
        text.push_str(&format!("  {line}\n"));
    }
    if globals.traceback {
        for cause in chain.iter().skip(1) {
            text.push_str(&format!("Caused by: {cause}\n"));
        }
    } else if chain.len() > 1 {
        text.push_str(&format!("  ({})\n", chain[1..].join(": ")));
    }
    err.write_bytes(text.as_bytes());
    error.code()
}
