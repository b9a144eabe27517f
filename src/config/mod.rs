//! Settings, loaded once per process in layers: built-in defaults, then the TOML file, then
//! `MANAGE_*` environment variables, then flags. Every command reads the same [`Settings`].

mod load;
mod sections;
mod validate;

pub use crate::http::HttpSettings;
pub use load::{ConfigError, ConfigSource, LoadOptions, Loaded, Problem};
pub use sections::{
    listen_address, GatewaySettings, RedisSettings, Settings, UiSettings, WorkerSettings,
};
mod show;
pub use show::{difference, redacted};
