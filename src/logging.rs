//! Log output through `tracing` to stderr, at the level the verbosity asks for.

use tracing_subscriber::{fmt, EnvFilter};

use crate::globals::{GlobalOptions, LogFormat};

/// Installs the process-wide subscriber once. `RUST_LOG` overrides the verbosity's level.
pub fn install(globals: &GlobalOptions) {
    let level = match globals.verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        let quiet_deps = if globals.verbosity >= 3 {
            String::new()
        } else {
            ",hyper=warn,reqwest=warn,redis=warn,rustls=warn,h2=warn".into()
        };
        EnvFilter::new(format!("{level}{quiet_deps}"))
    });
    let color = globals.color_enabled(&crate::output::Output::Stderr);
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(globals.verbosity >= 2);
    let _ = match globals.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(color).try_init(),
    };
}
