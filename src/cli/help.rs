//! The root clap command and Django's help texts: the grouped listing and "Unknown command".

use clap::{Arg, Command};

use super::PROG;
use crate::registry;

/// The root command with every registered command as a subcommand.
pub fn root_command() -> Command {
    let mut root = Command::new(PROG)
        .about("Management commands for the webhook pipeline")
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true)
        .allow_external_subcommands(true)
        .subcommand(
            Command::new("help")
                .about("Show the list of commands, or one command's options")
                .arg(Arg::new("command").value_name("COMMAND")),
        );
    root = super::global::add_to(root);
    for spec in registry::all() {
        root = root.subcommand(
            (spec.args)(Command::new(spec.name))
                .about(spec.about)
                .long_about(None),
        );
    }
    root
}

/// `manage help`: every command, grouped by app label and sorted, as Django lists them.
pub(crate) fn listing() -> String {
    let commands = registry::all();
    let width = commands
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut text = format!("\nType '{PROG} help <subcommand>' for help on a specific subcommand.\n\nAvailable subcommands:\n");
    let mut current_group = "";
    for spec in commands {
        if spec.group != current_group {
            text.push_str(&format!("\n[{}]\n", spec.group));
            current_group = spec.group;
        }
        text.push_str(&format!("    {:<width$}  {}\n", spec.name, spec.about));
    }
    text
}

/// Django's message for a name that is not a command, with a suggestion when one is close.
pub(crate) fn unknown_command(name: &str) -> String {
    let suggestion = registry::closest(name)
        .map(|close| format!(" Did you mean {close}?"))
        .unwrap_or_default();
    format!("Unknown command: '{name}'.{suggestion}\nType '{PROG} help' for usage.\n")
}
