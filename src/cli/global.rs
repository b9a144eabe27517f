//! The options every command accepts, before or after its name, as clap arguments.

use std::{ffi::OsString, path::PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::{
    globals::{GlobalOptions, LogFormat},
    output::Output,
};

const HEADING: &str = "Common options";

/// Adds the common options to the root command; `global` makes them valid after the command name.
pub(crate) fn add_to(command: Command) -> Command {
    command
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("PATH")
                .env("MANAGE_CONFIG")
                .global(true)
                .help_heading(HEADING)
                .help("Settings file (default: ./manage.toml when present)"),
        )
        .arg(
            Arg::new("verbosity")
                .short('v')
                .long("verbosity")
                .value_name("LEVEL")
                .value_parser(clap::value_parser!(u8).range(0..=3))
                .global(true)
                .help_heading(HEADING)
                .help("0 = quiet, 1 = normal, 2 = verbose, 3 = very verbose [default: 1]"),
        )
        .arg(
            Arg::new("no-color")
                .long("no-color")
                .action(ArgAction::SetTrue)
                .global(true)
                .conflicts_with("force-color")
                .help_heading(HEADING)
                .help("Don't colourize the output"),
        )
        .arg(
            Arg::new("force-color")
                .long("force-color")
                .action(ArgAction::SetTrue)
                .global(true)
                .help_heading(HEADING)
                .help("Colourize the output even when it is not a terminal"),
        )
        .arg(
            Arg::new("traceback")
                .long("traceback")
                .action(ArgAction::SetTrue)
                .global(true)
                .help_heading(HEADING)
                .help("Print the whole error chain on failure"),
        )
        .arg(
            Arg::new("log-format")
                .long("log-format")
                .value_name("FORMAT")
                .value_parser(["text", "json"])
                .global(true)
                .help_heading(HEADING)
                .help("Log line format on stderr [default: text]"),
        )
        .arg(
            Arg::new("redis-url")
                .long("redis-url")
                .value_name("URL")
                .global(true)
                .help_heading(HEADING)
                .help("Override [redis] url"),
        )
        .arg(
            Arg::new("set")
                .long("set")
                .value_name("KEY=VALUE")
                .action(ArgAction::Append)
                .global(true)
                .value_parser(parse_assignment)
                .help_heading(HEADING)
                .help("Override any setting, e.g. --set worker.concurrency=8 (repeatable)"),
        )
}

fn parse_assignment(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() && key.contains('.') => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected section.key=value, found {raw:?}")),
    }
}

impl GlobalOptions {
    /// Reads the common options from a command's matches (clap propagates globals down).
    pub fn from_matches(matches: &ArgMatches) -> Self {
        Self {
            config: matches.get_one::<String>("config").map(PathBuf::from),
            verbosity: matches.get_one::<u8>("verbosity").copied().unwrap_or(1),
            no_color: matches.get_flag("no-color"),
            force_color: matches.get_flag("force-color"),
            traceback: matches.get_flag("traceback"),
            log_format: match matches.get_one::<String>("log-format").map(String::as_str) {
                Some("json") => LogFormat::Json,
                _ => LogFormat::Text,
            },
            redis_url: matches.get_one::<String>("redis-url").cloned(),
            set: matches
                .get_many::<(String, String)>("set")
                .map(|values| values.cloned().collect())
                .unwrap_or_default(),
        }
    }
}

/// Whether a usage error may be coloured, decided from the raw arguments since parsing failed.
pub(crate) fn wants_color(argv: &[OsString], stream: &Output) -> bool {
    let has = |flag: &str| argv.iter().any(|a| a == flag);
    has("--force-color")
        || (!has("--no-color") && std::env::var_os("NO_COLOR").is_none() && stream.is_terminal())
}
