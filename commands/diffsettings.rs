//! `manage diffsettings`: the settings in effect after every layer, secrets hidden, as Django's
//! command of the same name shows them.

use crate::{CommandError, CommandResult, Context, Settings};

/// Options of `manage diffsettings`.
#[derive(clap::Args, Debug)]
pub struct DiffSettingsArgs {
    /// Show every setting, not only those that differ from the defaults.
    #[arg(long)]
    pub all: bool,
    /// Print JSON instead of TOML.
    #[arg(long)]
    pub json: bool,
}

crate::command! {
    name: "diffsettings", group: "core", about: "Show the settings in effect (secrets hidden)",
    args: DiffSettingsArgs, run: diffsettings,
}

async fn diffsettings(ctx: Context, args: DiffSettingsArgs) -> CommandResult {
    let fail = |e: &dyn std::fmt::Display| CommandError::new(format!("cannot show settings: {e}"));
    let current = crate::config::redacted(ctx.settings()).map_err(|e| fail(&e))?;
    let shown = if args.all {
        current
    } else {
        crate::config::difference(
            &current,
            &crate::config::redacted(&Settings::default()).map_err(|e| fail(&e))?,
        )
    };
    if args.json {
        ctx.out()
            .line(serde_json::to_string_pretty(&shown).map_err(|e| fail(&e))?);
    } else {
        let value: toml::Value = serde_json::from_value(shown).map_err(|e| fail(&e))?;
        ctx.out()
            .write_bytes(toml::to_string(&value).map_err(|e| fail(&e))?.as_bytes());
    }
    Ok(())
}
