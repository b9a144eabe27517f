//! The options every command accepts (`--config`, `--verbosity`, colour, `--traceback`, log
//! format, and the flag layer of the settings), as plain data: the CLI fills them, the context
//! and logging read them, so neither needs the CLI.

use std::path::PathBuf;

use crate::{config::LoadOptions, output::Output};

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The parsed common options.
#[derive(Debug, Clone)]
pub struct GlobalOptions {
    /// `--config PATH` / `MANAGE_CONFIG`.
    pub config: Option<PathBuf>,
    /// `-v/--verbosity 0..3`.
    pub verbosity: u8,
    /// `--no-color`.
    pub no_color: bool,
    /// `--force-color`.
    pub force_color: bool,
    /// `--traceback`: print the whole error chain.
    pub traceback: bool,
    /// `--log-format text|json`.
    pub log_format: LogFormat,
    /// `--redis-url URL`: the flag layer for `[redis] url`.
    pub redis_url: Option<String>,
    /// `--set section.key=value`, repeatable: the flag layer for any setting.
    pub set: Vec<(String, String)>,
}

impl Default for GlobalOptions {
    fn default() -> Self {
        Self {
            config: None,
            verbosity: 1,
            no_color: false,
            force_color: false,
            traceback: false,
            log_format: LogFormat::Text,
            redis_url: None,
            set: Vec::new(),
        }
    }
}

impl GlobalOptions {
    /// The flag layer of the settings.
    pub fn load_options(&self) -> LoadOptions {
        let mut overrides = self.set.clone();
        if let Some(url) = &self.redis_url {
            overrides.push(("redis.url".into(), format!("{url:?}")));
        }
        LoadOptions {
            config_path: self.config.clone(),
            overrides,
        }
    }

    /// Colour when forced, never when refused or when `NO_COLOR` is set, else when `stream` is a terminal.
    pub fn color_enabled(&self, stream: &Output) -> bool {
        if self.force_color {
            return true;
        }
        !self.no_color && std::env::var_os("NO_COLOR").is_none() && stream.is_terminal()
    }
}
