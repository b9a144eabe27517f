//! The page templates (compiled into the binary) and the filters they use. Templates end in
//! `.html`, so minijinja escapes every value: a job's data can never inject markup.

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use minijinja::{Environment, Value};

use crate::tasks::decode;

/// The stylesheet served at `/static/style.css`.
pub const STYLESHEET: &str = include_str!("templates/style.css");

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("queues.html", include_str!("templates/queues.html")),
    ("jobs.html", include_str!("templates/jobs.html")),
    ("job.html", include_str!("templates/job.html")),
    ("workers.html", include_str!("templates/workers.html")),
    ("webhooks.html", include_str!("templates/webhooks.html")),
    ("webhook.html", include_str!("templates/webhook.html")),
    ("message.html", include_str!("templates/message.html")),
];

/// Statuses that have their own colour; anything else is shown as bad data.
const KNOWN_STATUSES: &[&str] = &[
    "queued",
    "started",
    "deferred",
    "finished",
    "failed",
    "scheduled",
    "stopped",
    "canceled",
    "created",
    "missing",
    "idle",
    "busy",
    "suspended",
    "successful",
    "retried",
    "max_retries_exceeded",
    "closed",
    "open",
    "half_open",
    "gone",
];

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// Compiles every template; a template error is a bug caught by the tests.
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
        env.add_filter("time", |value: Option<String>| -> String {
            value
                .filter(|v| !v.is_empty())
                .map(|v| decode::display_time(&v))
                .unwrap_or_else(|| "—".into())
        });
        env.add_filter("ago", |value: Option<String>| -> String {
            value
                .map(|v| decode::age(&v, chrono::Utc::now()))
                .unwrap_or_default()
        });
        env.add_filter("pretty", |value: Value| -> String {
            match serde_json::to_value(&value) {
                Ok(json) => decode::pretty(&json),
                Err(e) => decode::undecodable(e),
            }
        });
        // A path segment or query value: everything but unreserved characters escaped.
        env.add_filter("urlencode", |value: String| -> String {
            url::form_urlencoded::byte_serialize(value.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        });
        env.add_filter("status_class", |value: String| -> String {
            if KNOWN_STATUSES.contains(&value.as_str()) {
                value
            } else {
                "bad".into()
            }
        });
        env.add_filter("seconds", |value: f64| -> String {
            if value < 60.0 {
                format!("{value:.1} s")
            } else if value < 3600.0 {
                format!("{:.1} min", value / 60.0)
            } else {
                format!("{:.1} h", value / 3600.0)
            }
        });
        Self { env }
    }

    /// Renders a template as an HTML response with `status`. A rendering failure (a bug) becomes
    /// a plain-text 500 that names it, rather than an empty page.
    pub fn page(&self, status: StatusCode, name: &str, context: Value) -> Response {
        match self.env.get_template(name).and_then(|t| t.render(context)) {
            Ok(html) => (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
            Err(error) => {
                tracing::error!("rendering {name} failed: {error:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("rendering {name} failed: {error}"),
                )
                    .into_response()
            }
        }
    }
}
