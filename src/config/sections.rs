//! The sections of `manage.toml`. Unknown keys are refused so a typo never goes unnoticed.

use serde::{Deserialize, Serialize};

/// Everything configurable, one field per TOML section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where the queues live.
    pub redis: RedisSettings,
    /// How outgoing HTTP (webhooks) behaves by default.
    pub http: crate::http::HttpSettings,
    /// Defaults for `manage rqworker`.
    pub worker: WorkerSettings,
    /// `[[webhooks]]`: where and how to send.
    pub webhooks: Vec<crate::webhooks::WebhookConfig>,
    /// `[[event_rules]]`: which events send which webhook.
    pub event_rules: Vec<crate::webhooks::EventRuleConfig>,
    /// The `manage background_tasks` web page.
    pub ui: UiSettings,
    /// What is kept about deliveries (the per-webhook log and counts).
    pub history: crate::pipeline::history::HistorySettings,
    /// `manage event_gateway`: events over HTTP.
    pub gateway: GatewaySettings,
}

/// `[redis]`: the connection every command shares.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `redis://[:password@]host:port/db`, `rediss://…`, or `redis+sentinel://…`.
    pub url: String,
    /// Seconds to wait for a connection before calling Redis unreachable.
    pub connect_timeout: f64,
    /// Seconds to wait for one reply (at least `connect_timeout`); a slower one counts as a
    /// failure, so a hung server cannot hang a command.
    pub reply_timeout: f64,
    /// For TLS URLs: a PEM file of the CAs to trust instead of the system's (a private CA).
    pub ca_file: String,
    /// For TLS URLs: a PEM client certificate (chain), for servers that ask for one
    /// (`tls-auth-clients yes`); needs `client_key`.
    pub client_cert: String,
    /// For TLS URLs: the PEM private key of `client_cert`.
    pub client_key: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379/0".into(),
            connect_timeout: 5.0,
            reply_timeout: 30.0,
            ca_file: String::new(),
            client_cert: String::new(),
            client_key: String::new(),
        }
    }
}

impl RedisSettings {
    /// What the Redis connections need besides the URL. Timeouts that are not usable (which
    /// validation reports) fall back to the defaults rather than failing here.
    pub fn connect_options(&self) -> crate::redis_conn::ConnectOptions {
        let seconds = |value: f64, default: f64| {
            std::time::Duration::try_from_secs_f64(value)
                .unwrap_or(std::time::Duration::from_secs_f64(default))
        };
        let path = |value: &str| (!value.is_empty()).then(|| std::path::PathBuf::from(value));
        let defaults = Self::default();
        crate::redis_conn::ConnectOptions {
            connect_timeout: seconds(self.connect_timeout, defaults.connect_timeout),
            reply_timeout: seconds(self.reply_timeout, defaults.reply_timeout),
            tls: crate::redis_conn::TlsFiles {
                ca_file: path(&self.ca_file),
                client_cert: path(&self.client_cert),
                client_key: path(&self.client_key),
            },
        }
    }
}

/// `[worker]`: defaults for `manage rqworker`, each overridable by its flag.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// Jobs in flight at once in one worker process.
    pub concurrency: usize,
    /// Queues served when none are named, in priority order.
    pub queues: Vec<String>,
    /// Seconds a worker's registration lives without a heartbeat (RQ's `--worker-ttl`).
    pub worker_ttl: u64,
    /// Where `manage rqworker` serves `/metrics`, `/live` and `/ready` (`PORT` or
    /// `ADDR:PORT`; a bare port listens on 127.0.0.1); empty: not served.
    #[serde(deserialize_with = "text")]
    pub metrics_bind: String,
    /// Run jobs no registered function can run (pickled, unknown names), failing them as RQ
    /// does, instead of leaving them and their queue to the workers whose they are: for a
    /// Redis shared with other RQ workers (NetBox's own), leave it false.
    pub take_foreign_jobs: bool,
    /// Seconds a failed job (and its results) is kept, written on every job enqueued (RQ's
    /// `failure_ttl`; -1 keeps it forever). RQ's own default is a year, which fills Redis with
    /// failed webhooks.
    pub failure_ttl: i64,
    /// Seconds a finished job and its result are kept (RQ's `result_ttl`; 0 deletes it at
    /// once, -1 keeps it forever).
    pub result_ttl: i64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 64,
            queues: vec!["high".into(), "default".into(), "low".into()],
            worker_ttl: 420,
            metrics_bind: String::new(),
            take_foreign_jobs: false,
            failure_ttl: 7 * 86_400,
            result_ttl: crate::rq::DEFAULT_RESULT_TTL,
        }
    }
}

/// A setting that is text even when it looks like a number: the environment layer reads
/// `MANAGE_WORKER__METRICS_BIND=9121` or an all-digit token as a number, and TOML users write
/// `metrics_bind = 9121`.
fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        String(String),
        Integer(i128),
        Float(f64),
        Bool(bool),
    }
    Ok(
        match Text::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom("expected text (a string, or a number written as one)")
        })? {
            Text::String(s) => s,
            Text::Integer(n) => n.to_string(),
            Text::Float(n) => n.to_string(),
            Text::Bool(b) => b.to_string(),
        },
    )
}

/// A listen address from `PORT` or `ADDR:PORT`: a bare port (or `:PORT`) listens on loopback,
/// so nothing is exposed beyond this machine unless an address says so.
pub fn listen_address(text: &str) -> Result<std::net::SocketAddr, String> {
    let text = text.trim();
    let port = text.strip_prefix(':').unwrap_or(text);
    if let Ok(port) = port.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        format!("expected a port or an address and port such as 127.0.0.1:9121, found {text:?}")
    })
}

/// `[gateway]`: `manage event_gateway`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// Where it listens; loopback by default.
    #[serde(deserialize_with = "text")]
    pub bind: String,
    /// The bearer token `POST /events` needs; empty turns `/events` off.
    #[serde(deserialize_with = "text")]
    pub token: String,
    /// The secret of the NetBox webhook pointed at `POST /netbox` (its `X-Hook-Signature`);
    /// empty turns `/netbox` off.
    #[serde(deserialize_with = "text")]
    pub netbox_secret: String,
    /// The largest request body taken.
    pub max_body: crate::size::ByteSize,
    /// The largest body `POST /netbox` reads. It is read before its signature can be checked,
    /// so anyone may send it: NetBox's bodies are a few KiB, and this keeps strangers far
    /// below `max_body`.
    pub netbox_max_body: crate::size::ByteSize,
    /// `POST /netbox` bodies read at once; more are answered 503 at once (NetBox retries), so
    /// unauthenticated reads hold at most `netbox_max_concurrent × netbox_max_body`.
    pub netbox_max_concurrent: usize,
    /// Seconds from a connection's first byte (or its previous answer) to the end of a
    /// request's head; an idle keep-alive connection is closed after as long.
    pub header_timeout: f64,
    /// Seconds to receive a whole request body; slower is answered 408.
    pub body_timeout: f64,
    /// Connections open at once; more are answered 503 and closed (lowered, with a warning, to
    /// what the file-descriptor limit allows).
    pub max_connections: usize,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8001".into(),
            token: String::new(),
            netbox_secret: String::new(),
            max_body: crate::size::ByteSize(10 * 1024 * 1024),
            netbox_max_body: crate::size::ByteSize(1024 * 1024),
            netbox_max_concurrent: 16,
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

impl GatewaySettings {
    /// The server's bounds.
    pub fn limits(&self) -> crate::serve::Limits {
        limits(
            self.header_timeout,
            self.max_connections,
            "[gateway] max_connections",
        )
    }

    /// The deadline of one request's body.
    pub fn body_timeout(&self) -> std::time::Duration {
        seconds(self.body_timeout, BODY_TIMEOUT)
    }
}

/// The listeners' defaults: a head within 10 s (Go's and nginx's advice is seconds, not
/// minutes), a body within 30 s, and 4,096 connections.
const HEADER_TIMEOUT: f64 = 10.0;
const BODY_TIMEOUT: f64 = 30.0;
const MAX_CONNECTIONS: usize = 4096;

/// A server's bounds; a timeout that is not usable (which validation reports) falls back to the
/// default.
fn limits(
    header_timeout: f64,
    max_connections: usize,
    setting: &'static str,
) -> crate::serve::Limits {
    crate::serve::Limits {
        header_timeout: seconds(header_timeout, HEADER_TIMEOUT),
        max_connections,
        setting,
    }
    .within_descriptors()
}

fn seconds(value: f64, default: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .unwrap_or(std::time::Duration::from_secs_f64(default))
}

/// `[ui]`: the `manage background_tasks` web page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiSettings {
    /// The access token; empty means a fresh one is generated at each start and printed with
    /// the URL, so a page left open elsewhere stops working when the server restarts.
    #[serde(deserialize_with = "text")]
    pub token: String,
    /// Where the page listens; loopback by default so only this machine can reach it.
    #[serde(deserialize_with = "text")]
    pub bind: String,
    /// Seconds between automatic reloads of every page; 0 turns it off (`?refresh=N` still works).
    pub refresh: u64,
    /// Seconds from a connection's first byte (or its previous answer) to the end of a
    /// request's head; an idle keep-alive connection is closed after as long.
    pub header_timeout: f64,
    /// Seconds to receive a whole request (a form) before answering 408.
    pub body_timeout: f64,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
}

impl Default for UiSettings {
    fn default() -> Self {
        Self {
            token: String::new(),
            bind: "127.0.0.1:8000".into(),
            refresh: 0,
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

impl UiSettings {
    /// The server's bounds.
    pub fn limits(&self) -> crate::serve::Limits {
        limits(
            self.header_timeout,
            self.max_connections,
            "[ui] max_connections",
        )
    }

    /// The deadline of one request's body.
    pub fn body_timeout(&self) -> std::time::Duration {
        seconds(self.body_timeout, BODY_TIMEOUT)
    }
}
