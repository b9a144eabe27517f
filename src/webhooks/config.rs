//! `[[webhooks]]` and `[[event_rules]]` as they appear in `manage.toml`, with NetBox's defaults.
//! What is wrong with them is found by [`validate`](super::validate).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::conditions::{ConditionError, ConditionSet};
use super::event_type::normalize_event_type;

/// One `[[webhooks]]` entry: where and how to send, NetBox's `Webhook` model as configuration.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Unique; rules refer to the webhook by it.
    pub name: String,
    /// `http://` or `https://`, or a Jinja2 template rendered with the body's context.
    pub payload_url: String,
    /// The request method.
    #[serde(default)]
    pub http_method: HttpMethod,
    /// Sent as `Content-Type` (an additional header of that name overrides it, as in NetBox).
    #[serde(default = "default_content_type")]
    pub http_content_type: String,
    /// Jinja2 rendering to one `Name: value` a line; see [`render`].
    #[serde(default)]
    pub additional_headers: String,
    /// Jinja2 for the body; empty sends the JSON of the context.
    #[serde(default)]
    pub body_template: String,
    /// The HMAC key; empty sends no signature. Hidden from `Debug`; another module redacts it
    /// for display, so it serializes as is.
    #[serde(default)]
    pub secret: String,
    /// Verify the receiver's TLS certificate.
    #[serde(default = "yes")]
    pub ssl_verification: bool,
    /// A CA bundle to verify against instead of the system's; empty for the system's.
    #[serde(default)]
    pub ca_file_path: String,
    /// Seconds allowed for the whole request; must be below the job timeout so a hung receiver
    /// fails the delivery rather than the job. `None`: `[http] timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Follow 3xx responses. Off by default, unlike NetBox, so a receiver cannot redirect a
    /// signed delivery somewhere else (NetBox issue #22761).
    #[serde(default)]
    pub follow_redirects: bool,
    /// Which signature headers to send when a secret is set.
    #[serde(default)]
    pub signing: Signing,
    /// Whether one object's deliveries to this webhook keep the order of its events.
    #[serde(default)]
    pub ordering: Ordering,
    /// At most this many deliveries to this webhook at once, across all workers; 0: no limit
    /// beyond each worker's concurrency.
    #[serde(default)]
    pub max_in_flight: u32,
    /// At most this many requests a second to this webhook, across all workers; 0: no limit.
    #[serde(default)]
    pub rate_limit: f64,
    /// This many failed attempts in a row open the circuit (deliveries wait, untried, using no
    /// retries); 0: no circuit breaker.
    #[serde(default)]
    pub breaker_failures: u32,
    /// Seconds an open circuit waits before one probe delivery is tried.
    #[serde(default = "default_breaker_open")]
    pub breaker_open: u64,
    /// Show only `scheme://host[:port]/…` of the URL wherever it is shown or stored (reasons,
    /// logs, the delivery log, the pages), for URLs whose path is the secret. `None`: hidden for
    /// the services known to do that (Slack, Discord, Teams; see [`crate::redact::hides_path`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redact_path: Option<bool>,
    /// Whose webhook context the templates see and the default body is: NetBox 4.6's by
    /// default, or 4.5's (no `request`) or 4.7's (no top-level `username` and `request_id`),
    /// for receivers written against another NetBox.
    #[serde(default)]
    pub netbox_version: NetboxVersion,
}

/// The NetBox release whose `send_webhook` context a webhook reproduces, key for key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetboxVersion {
    /// `event, timestamp, object_type, username, request_id, data`, then `snapshots` and
    /// `context` when there are some.
    #[serde(rename = "4.5")]
    V4_5,
    /// 4.5's, with `request` after `data` when a request made the change.
    #[default]
    #[serde(rename = "4.6")]
    V4_6,
    /// `event, timestamp, object_type, data`, then `request`, `snapshots` and `context`: the
    /// top-level `username` and `request_id` are gone (they are in `request`).
    #[serde(rename = "4.7")]
    V4_7,
}

/// Whether deliveries of one object keep their order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// A delivery of an object (its `object_type` and `data.id`) starts only after every
    /// earlier delivery of the same object to the same webhook has ended. Events without
    /// `data.id` are not ordered.
    #[default]
    Object,
    /// Deliveries run as soon as a worker takes them, in any order.
    None,
}

impl WebhookConfig {
    /// Whether any delivery limit or the circuit breaker is on (each costs Redis round trips
    /// per delivery, so webhooks without them skip the checks).
    pub fn limited(&self) -> bool {
        self.max_in_flight > 0 || self.rate_limit > 0.0 || self.breaker_failures > 0
    }

    /// `payload_url` as it may be shown (a template as written): no credentials, no query
    /// values, and no path when `redact_path` hides it.
    pub fn shown_url(&self) -> String {
        crate::redact::webhook_url(&self.payload_url, self.redact_path)
    }
}

/// The methods NetBox offers for webhooks (`WebhookHttpMethodChoices`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`, NetBox's default.
    #[default]
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl HttpMethod {
    /// The method as sent on the request line.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// How a delivery is signed when the webhook has a secret.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signing {
    /// NetBox's `X-Hook-Signature`: hex HMAC-SHA512 of the body, keyed by the secret as text.
    #[default]
    Netbox,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature`, which bind
    /// the body to a time and an id so a captured delivery cannot be replayed later.
    Standard,
}

/// One `[[event_rules]]` entry: which events trigger which webhook, NetBox's `EventRule` model
/// as configuration (webhook actions only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRuleConfig {
    /// Unique; shown in logs and job descriptions.
    pub name: String,
    /// `app_label.model` names, e.g. `dcim.site`.
    #[serde(default)]
    pub object_types: Vec<String>,
    /// Long names (`object_created`, …); the short forms `created`, `updated`, `deleted` are
    /// accepted and stored in long form. Unknown names are kept so [`validate`] can name them.
    #[serde(default, deserialize_with = "event_types")]
    pub event_types: Vec<String>,
    /// A disabled rule matches nothing.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// NetBox conditions on the event's `data`; absent or `{}` means always. TOML has no null,
    /// so conditions comparing with `None` can only be written in JSON configuration.
    #[serde(
        default,
        deserialize_with = "conditions",
        skip_serializing_if = "Option::is_none"
    )]
    pub conditions: Option<Conditions>,
    /// The name of the `[[webhooks]]` entry to send.
    pub webhook: String,
    /// Merged into the job's `data` under the object's own keys, as NetBox does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_data: Option<Value>,
    /// The RQ queue the jobs go to.
    #[serde(default = "default_queue")]
    pub queue: String,
    /// Retries for failed deliveries; absent means none (RQ's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryConfig>,
}

/// RQ's `Retry(max, interval)`: how many more attempts a failed job gets and how long to wait
/// before each. When there are fewer intervals than attempts, the last one repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Retries after the first attempt; at least 1.
    pub max: u32,
    /// Seconds before each retry; empty retries at once. Signed so that a negative value can be
    /// reported by name rather than as a parse error.
    #[serde(default)]
    pub intervals: Vec<i64>,
}

/// A rule's conditions as written, and parsed once at load so matching never re-parses them or
/// recompiles a regex. Serializes as written.
#[derive(Clone)]
pub struct Conditions {
    raw: Value,
    parsed: Result<ConditionSet, ConditionError>,
}

impl Conditions {
    /// Parses `raw`, keeping any error for [`validate`] to report.
    pub fn new(raw: Value) -> Self {
        let parsed = ConditionSet::parse(&raw);
        Self { raw, parsed }
    }

    /// The conditions as configured.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// The parsed set, or why it could not be parsed.
    pub fn parsed(&self) -> Result<&ConditionSet, &ConditionError> {
        self.parsed.as_ref()
    }
}

impl PartialEq for Conditions {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl fmt::Debug for Conditions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Conditions({})", self.raw)
    }
}

impl Serialize for Conditions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = if self.secret.is_empty() {
            ""
        } else {
            "********"
        };
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("payload_url", &self.shown_url())
            .field("http_method", &self.http_method)
            .field("http_content_type", &self.http_content_type)
            .field(
                "additional_headers",
                &crate::redact::headers_text(&self.additional_headers),
            )
            .field("body_template", &self.body_template)
            .field("secret", &secret)
            .field("ssl_verification", &self.ssl_verification)
            .field("ca_file_path", &self.ca_file_path)
            .field("timeout", &self.timeout)
            .field("follow_redirects", &self.follow_redirects)
            .field("signing", &self.signing)
            .field("ordering", &self.ordering)
            .field("max_in_flight", &self.max_in_flight)
            .field("rate_limit", &self.rate_limit)
            .field("breaker_failures", &self.breaker_failures)
            .field("breaker_open", &self.breaker_open)
            .field("redact_path", &self.redact_path)
            .field("netbox_version", &self.netbox_version)
            .finish()
    }
}

fn yes() -> bool {
    true
}

fn default_content_type() -> String {
    "application/json".into()
}

fn default_breaker_open() -> u64 {
    60
}

fn default_queue() -> String {
    "default".into()
}

fn event_types<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let names = Vec::<String>::deserialize(deserializer)?;
    Ok(names
        .iter()
        .map(|n| normalize_event_type(n).to_string())
        .collect())
}

/// Absent, `null` and `{}` mean "no conditions", as NetBox treats an empty JSON field.
fn conditions<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Conditions>, D::Error> {
    let raw = Option::<Value>::deserialize(deserializer)?;
    Ok(match raw {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) if map.is_empty() => None,
        Some(raw) => Some(Conditions::new(raw)),
    })
}
