//! The context every command gets: settings, output streams, and the shared Redis connection and
//! HTTP client, each created on first use so a command that never needs Redis never connects.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::{
    config::{ConfigSource, RedisSettings, Settings},
    error::CommandError,
    globals::GlobalOptions,
    output::Output,
    redis_conn::{RedisConn, TlsFailure},
};

/// Shared state for one command run. Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Arc<Settings>,
    source: ConfigSource,
    problems: Vec<String>,
    globals: GlobalOptions,
    out: Output,
    err: Output,
    redis: OnceCell<RedisConn>,
    http: std::sync::OnceLock<reqwest::Client>,
}

impl Context {
    /// Builds a context; nothing connects until asked.
    pub fn new(
        settings: Settings,
        source: ConfigSource,
        problems: Vec<String>,
        globals: GlobalOptions,
        out: Output,
        err: Output,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings: Arc::new(settings),
                source,
                problems,
                globals,
                out,
                err,
                redis: OnceCell::new(),
                http: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The loaded settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The settings as a shareable handle, for tasks that outlive a borrow.
    pub fn settings_arc(&self) -> Arc<Settings> {
        self.inner.settings.clone()
    }

    /// Where the settings came from.
    pub fn config_source(&self) -> &ConfigSource {
        &self.inner.source
    }

    /// Problems found in the settings, each naming its origin and key. Empty unless the command
    /// registered with `requires_system_checks: false`.
    pub fn settings_problems(&self) -> &[String] {
        &self.inner.problems
    }

    /// The options every command accepts.
    pub fn globals(&self) -> &GlobalOptions {
        &self.inner.globals
    }

    /// The command's own output (stdout, or a buffer under `call_command`).
    pub fn out(&self) -> &Output {
        &self.inner.out
    }

    /// The command's error stream.
    pub fn err(&self) -> &Output {
        &self.inner.err
    }

    /// Django's verbosity: 0 quiet, 1 normal, 2 verbose, 3 very verbose.
    pub fn verbosity(&self) -> u8 {
        self.inner.globals.verbosity
    }

    /// Whether output may use ANSI colours.
    pub fn color(&self) -> bool {
        self.inner.globals.color_enabled(&self.inner.out)
    }

    /// The configured Redis address, password hidden, for messages.
    pub fn redis_display(&self) -> String {
        crate::redis_conn::display(&self.settings().redis.url)
    }

    /// The shared, multiplexed Redis connection. It reconnects by itself after an outage and,
    /// behind Sentinel, follows a failover to the new master; the first connection failing is
    /// reported with the (password-free) URL.
    pub async fn redis(&self) -> Result<RedisConn, CommandError> {
        self.inner
            .redis
            .get_or_try_init(|| async {
                let redis = &self.settings().redis;
                RedisConn::connect(&redis.url, &redis.connect_options())
                    .await
                    .map_err(|e| self.unreachable(describe(&e) + &tls_hint(&e, redis)))
            })
            .await
            .cloned()
    }

    /// A client for connections that must not be shared: blocking pops and pub/sub.
    /// With Sentinel, each call asks the sentinels for the current master.
    pub async fn redis_client(&self) -> Result<redis::Client, CommandError> {
        let redis = &self.settings().redis;
        crate::redis_conn::client_for(&redis.url, &redis.connect_options())
            .await
            .map_err(|e| self.unreachable(e))
    }

    /// The error for a Redis that cannot be reached, naming the URL without its password.
    pub fn unreachable(&self, error: impl std::fmt::Display) -> CommandError {
        CommandError::new(format!(
            "cannot reach Redis at {}: {error}",
            self.redis_display()
        ))
    }

    /// The pooled HTTP client with the `[http]` defaults; clones share the pool.
    pub fn http(&self) -> Result<reqwest::Client, CommandError> {
        if let Some(client) = self.inner.http.get() {
            return Ok(client.clone());
        }
        let client =
            crate::http::build_client(&self.settings().http, &crate::http::TlsOptions::default())
                .map_err(CommandError::new)?;
        Ok(self.inner.http.get_or_init(|| client).clone())
    }
}

/// An error with its causes, each said once (a Redis I/O error repeats its source in its own
/// text, which `{:#}` would print twice).
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

/// After a TLS failure, which settings decided it, so the message says what to change.
fn tls_hint(error: &anyhow::Error, redis: &RedisSettings) -> String {
    let Some(failure) = error.chain().find_map(|e| e.downcast_ref::<TlsFailure>()) else {
        return String::new();
    };
    match failure {
        TlsFailure::NotVerified { .. } if redis.ca_file.is_empty() => {
            " (checked against the system's CAs; [redis] ca_file names a private CA to trust)"
                .into()
        }
        TlsFailure::NotVerified { .. } => {
            format!(" (checked against [redis] ca_file {})", redis.ca_file)
        }
        TlsFailure::Refused { .. } if redis.client_cert.is_empty() => {
            " (no client certificate was sent: set [redis] client_cert and client_key)".into()
        }
        TlsFailure::Refused { .. } => {
            format!(" (sent [redis] client_cert {})", redis.client_cert)
        }
    }
}
