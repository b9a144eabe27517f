//! `[[webhooks]]` and `[[event_rules]]` as they appear in `manage.toml`, with NetBox's defaults,
//! and [`validate`], which lists every problem at load instead of failing one job at a time.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::conditions::{ConditionError, ConditionSet};
use super::event::{normalize_event_type, EventType};
use super::{render, sign};

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
    /// fails the delivery rather than the job.
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Follow 3xx responses. Off by default, unlike NetBox, so a receiver cannot redirect a
    /// signed delivery somewhere else (NetBox issue #22761).
    #[serde(default)]
    pub follow_redirects: bool,
    /// Which signature headers to send when a secret is set.
    #[serde(default)]
    pub signing: Signing,
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
            .field("payload_url", &self.payload_url)
            .field("http_method", &self.http_method)
            .field("http_content_type", &self.http_content_type)
            .field("additional_headers", &self.additional_headers)
            .field("body_template", &self.body_template)
            .field("secret", &secret)
            .field("ssl_verification", &self.ssl_verification)
            .field("ca_file_path", &self.ca_file_path)
            .field("timeout", &self.timeout)
            .field("follow_redirects", &self.follow_redirects)
            .field("signing", &self.signing)
            .finish()
    }
}

fn yes() -> bool {
    true
}

fn default_content_type() -> String {
    "application/json".into()
}

fn default_timeout() -> u64 {
    30
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

/// Every problem with the webhooks and rules, one line each, naming the entry and the key.
/// `job_timeout_secs` is the RQ job timeout the deliveries run under. Checking the CA file is
/// the one look outside the configuration: it must exist when named.
pub fn validate(
    webhooks: &[WebhookConfig],
    rules: &[EventRuleConfig],
    job_timeout_secs: u64,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut webhook_names: HashMap<&str, usize> = HashMap::new();
    for (index, webhook) in webhooks.iter().enumerate() {
        let mut report = |key: &str, message: String| {
            problems.push(format!(
                "webhooks[{index}] ({}): key '{key}': {message}",
                webhook.name
            ))
        };
        check_name(
            &mut webhook_names,
            &webhook.name,
            index,
            "webhooks",
            &mut report,
        );
        check_webhook(webhook, job_timeout_secs, &mut report);
    }
    let mut rule_names: HashMap<&str, usize> = HashMap::new();
    for (index, rule) in rules.iter().enumerate() {
        let mut report = |key: &str, message: String| {
            problems.push(format!(
                "event_rules[{index}] ({}): key '{key}': {message}",
                rule.name
            ))
        };
        check_name(
            &mut rule_names,
            &rule.name,
            index,
            "event_rules",
            &mut report,
        );
        if !webhook_names.contains_key(rule.webhook.as_str()) {
            report(
                "webhook",
                format!("no [[webhooks]] entry is named {:?}", rule.webhook),
            );
        }
        check_rule(rule, &mut report);
    }
    problems
}

fn check_name<'a>(
    seen: &mut HashMap<&'a str, usize>,
    name: &'a str,
    index: usize,
    table: &str,
    report: &mut impl FnMut(&str, String),
) {
    if name.trim().is_empty() {
        report("name", "must not be empty".into());
    } else if let Some(first) = seen.get(name) {
        report(
            "name",
            format!("duplicate name {name:?}, already used by {table}[{first}]"),
        );
    } else {
        seen.insert(name, index);
    }
}

fn check_webhook(webhook: &WebhookConfig, job_timeout: u64, report: &mut impl FnMut(&str, String)) {
    if let Err(problem) = check_payload_url(&webhook.payload_url) {
        report("payload_url", problem);
    }
    for (field, source) in [
        (
            render::TemplateField::AdditionalHeaders,
            &webhook.additional_headers,
        ),
        (render::TemplateField::BodyTemplate, &webhook.body_template),
    ] {
        if let Err(problem) = render::check_template(field, source) {
            report(field.key(), problem);
        }
    }
    if !webhook.ca_file_path.is_empty() {
        if !webhook.ssl_verification {
            report(
                "ca_file_path",
                "Do not specify a CA certificate file if SSL verification is disabled.".into(),
            );
        } else if !Path::new(&webhook.ca_file_path).is_file() {
            report(
                "ca_file_path",
                format!("no such file: {:?}", webhook.ca_file_path),
            );
        }
    }
    if webhook.timeout < 1 || webhook.timeout >= job_timeout {
        report(
            "timeout",
            format!(
                "expected seconds from 1 to below the job timeout ({job_timeout}), found {}",
                webhook.timeout
            ),
        );
    }
    if webhook.signing == Signing::Standard {
        if let Err(problem) = sign::standard_key(&webhook.secret) {
            report("secret", problem);
        }
    }
}

/// NetBox's `Webhook.clean()` rule: a value containing `{{`, `{%` or `{#` is a template, which
/// must compile and may only spell out an http or https scheme; anything else must be an http or
/// https URL with a host.
fn check_payload_url(url: &str) -> Result<(), String> {
    let expected =
        format!("expected an http:// or https:// URL or a Jinja2 template, found {url:?}");
    if render::is_template(url) {
        if let Some(scheme) = literal_scheme(url) {
            if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
                return Err(expected);
            }
        }
        return render::check_template(render::TemplateField::PayloadUrl, url);
    }
    if render::is_http_url(url) {
        Ok(())
    } else {
        Err(expected)
    }
}

/// The scheme written at the start of a value (`^[a-zA-Z][a-zA-Z0-9+.-]*:`), if any.
fn literal_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
    valid.then_some(scheme)
}

fn check_rule(rule: &EventRuleConfig, report: &mut impl FnMut(&str, String)) {
    if rule.object_types.is_empty() {
        report("object_types", "must name at least one object type".into());
    }
    for object_type in &rule.object_types {
        let valid = object_type.split_once('.').is_some_and(|(app, model)| {
            !app.is_empty() && !model.is_empty() && !model.contains('.')
        });
        if !valid {
            report(
                "object_types",
                format!("expected app_label.model (e.g. \"dcim.site\"), found {object_type:?}"),
            );
        }
    }
    if rule.event_types.is_empty() {
        report("event_types", "must name at least one event type".into());
    }
    for name in &rule.event_types {
        if let Err(problem) = name.parse::<EventType>() {
            report("event_types", problem);
        }
    }
    if let Some(Err(error)) = rule.conditions.as_ref().map(Conditions::parsed) {
        report("conditions", error.to_string());
    }
    if let Some(data) = &rule.action_data {
        if !data.is_object() {
            report(
                "action_data",
                format!("Action data must be a JSON object, found {data}"),
            );
        }
    }
    if rule.queue.trim().is_empty() {
        report("queue", "must not be empty".into());
    }
    if let Some(retry) = &rule.retry {
        if retry.max < 1 {
            report(
                "retry",
                "max must be at least 1 (leave retry out for no retries)".into(),
            );
        }
        if let Some(negative) = retry.intervals.iter().find(|i| **i < 0) {
            report(
                "retry",
                format!("intervals must be seconds of 0 or more, found {negative}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct File {
        #[serde(default)]
        webhooks: Vec<WebhookConfig>,
        #[serde(default)]
        event_rules: Vec<EventRuleConfig>,
    }

    fn load(text: &str) -> File {
        toml::from_str(text).unwrap()
    }

    const EXAMPLE: &str = r#"
        [[webhooks]]
        name = "site-hook"
        payload_url = "http://127.0.0.1:9000/"
        http_method = "PUT"
        additional_headers = "X-Env: prod"
        secret = "s3cret"
        timeout = 10
        signing = "standard"

        [[event_rules]]
        name = "active sites"
        object_types = ["dcim.site"]
        event_types = ["created", "object_updated", "deleted"]
        conditions = { and = [{ attr = "status.value", value = "active" }, { attr = "asn", op = "gt", value = 1.5 }] }
        webhook = "site-hook"
        action_data = { foo = 1 }
        retry = { max = 3, intervals = [10, 60, 300] }
    "#;

    #[test]
    fn reads_the_example_with_netbox_defaults() {
        let file = load(EXAMPLE);
        let hook = &file.webhooks[0];
        assert_eq!(hook.http_method, HttpMethod::Put);
        assert_eq!(hook.http_content_type, "application/json");
        assert!(hook.ssl_verification);
        assert!(!hook.follow_redirects);
        assert_eq!(hook.signing, Signing::Standard);

        let rule = &file.event_rules[0];
        assert_eq!(
            rule.event_types,
            ["object_created", "object_updated", "object_deleted"]
        );
        assert!(rule.enabled);
        assert_eq!(rule.queue, "default");
        assert_eq!(rule.action_data, Some(json!({"foo": 1})));
        assert_eq!(
            rule.retry,
            Some(RetryConfig {
                max: 3,
                intervals: vec![10, 60, 300]
            })
        );
        let conditions = rule.conditions.as_ref().unwrap();
        assert_eq!(
            conditions.raw(),
            &json!({"and": [{"attr": "status.value", "value": "active"}, {"attr": "asn", "op": "gt", "value": 1.5}]})
        );
        let set = conditions.parsed().unwrap();
        assert!(set
            .eval(&json!({"status": {"value": "active"}, "asn": 2}))
            .unwrap());
    }

    #[test]
    fn defaults_when_only_required_keys_are_given() {
        let file = load(
            r#"
            [[webhooks]]
            name = "h"
            payload_url = "https://example.com/"
            [[event_rules]]
            name = "r"
            webhook = "h"
            conditions = {}
            "#,
        );
        let hook = &file.webhooks[0];
        assert_eq!(hook.http_method, HttpMethod::Post);
        assert_eq!(hook.timeout, 30);
        assert_eq!(hook.signing, Signing::Netbox);
        assert!(hook.secret.is_empty());
        let rule = &file.event_rules[0];
        assert!(rule.conditions.is_none());
        assert!(rule.action_data.is_none());
        assert!(rule.retry.is_none());
        // Empty object and event types load, and validation names them.
        let problems = validate(&file.webhooks, &file.event_rules, 300);
        assert_eq!(
            problems,
            [
                "event_rules[0] (r): key 'object_types': must name at least one object type",
                "event_rules[0] (r): key 'event_types': must name at least one event type",
            ]
        );
    }

    #[test]
    fn unknown_keys_and_methods_are_refused() {
        let typo = toml::from_str::<File>(
            "[[webhooks]]\nname = \"h\"\npayload_url = \"http://x/\"\nsecrett = \"x\"\n",
        );
        assert!(typo.unwrap_err().to_string().contains("secrett"));
        let method = toml::from_str::<File>(
            "[[webhooks]]\nname = \"h\"\npayload_url = \"http://x/\"\nhttp_method = \"TRACE\"\n",
        );
        assert!(method.is_err());
    }

    #[test]
    fn figment_reads_the_same_entries() {
        use figment::providers::{Format, Toml};
        let file: File = figment::Figment::from(Toml::string(EXAMPLE))
            .extract()
            .unwrap();
        assert_eq!(file.webhooks, load(EXAMPLE).webhooks);
        assert_eq!(file.event_rules, load(EXAMPLE).event_rules);
    }

    #[test]
    fn the_example_is_valid_apart_from_its_secret() {
        let file = load(EXAMPLE);
        assert_eq!(
            validate(&file.webhooks, &file.event_rules, 300),
            ["webhooks[0] (site-hook): key 'secret': standard signing needs a secret of the form whsec_<base64>, found one without the whsec_ prefix"]
        );
        let mut hooks = file.webhooks.clone();
        hooks[0].secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into();
        assert!(validate(&hooks, &file.event_rules, 300).is_empty());
    }

    #[test]
    fn validation_names_every_problem() {
        let file = load(
            r#"
            [[webhooks]]
            name = "a"
            payload_url = "ftp://x"
            ssl_verification = false
            ca_file_path = "/etc/ssl/certs/ca.pem"
            timeout = 300
            [[webhooks]]
            name = "a"
            payload_url = "{{ base }/x"
            additional_headers = "X-A: {% if %}"
            body_template = "{{ data.name "
            timeout = 0
            signing = "standard"
            secret = "whsec_!!!"
            [[webhooks]]
            name = "c"
            payload_url = "file:///{{ data.path }}"
            ca_file_path = "/nonexistent/ca.pem"

            [[event_rules]]
            name = "r"
            object_types = ["site"]
            event_types = ["created", "job_ended"]
            webhook = "missing"
            conditions = { attr = "x", op = "gt", value = "a" }
            action_data = [1]
            queue = ""
            retry = { max = 0, intervals = [5, -1] }
            [[event_rules]]
            name = "r"
            object_types = ["dcim.site"]
            event_types = ["deleted"]
            webhook = "c"
            "#,
        );
        let problems = validate(&file.webhooks, &file.event_rules, 300);
        let expected = [
            r#"webhooks[0] (a): key 'payload_url': expected an http:// or https:// URL or a Jinja2 template, found "ftp://x""#,
            "webhooks[0] (a): key 'ca_file_path': Do not specify a CA certificate file if SSL verification is disabled.",
            "webhooks[0] (a): key 'timeout': expected seconds from 1 to below the job timeout (300), found 300",
            r#"webhooks[1] (a): key 'name': duplicate name "a", already used by webhooks[0]"#,
            "webhooks[1] (a): key 'payload_url': invalid Jinja2 template: ",
            "webhooks[1] (a): key 'additional_headers': invalid Jinja2 template: ",
            "webhooks[1] (a): key 'body_template': invalid Jinja2 template: ",
            "webhooks[1] (a): key 'timeout': expected seconds from 1 to below the job timeout (300), found 0",
            "webhooks[1] (a): key 'secret': standard signing needs a secret of the form whsec_<base64>, found invalid base64 after whsec_",
            r#"webhooks[2] (c): key 'payload_url': expected an http:// or https:// URL or a Jinja2 template, found "file:///{{ data.path }}""#,
            r#"webhooks[2] (c): key 'ca_file_path': no such file: "/nonexistent/ca.pem""#,
            r#"event_rules[0] (r): key 'webhook': no [[webhooks]] entry is named "missing""#,
            r#"event_rules[0] (r): key 'object_types': expected app_label.model (e.g. "dcim.site"), found "site""#,
            r#"event_rules[0] (r): key 'event_types': unknown event type "job_ended", expected one of object_created, object_updated, object_deleted, job_started, job_completed, job_failed, job_errored (or created, updated, deleted)"#,
            "event_rules[0] (r): key 'conditions': Invalid type for gt operation: <class 'str'>",
            "event_rules[0] (r): key 'action_data': Action data must be a JSON object, found [1]",
            "event_rules[0] (r): key 'queue': must not be empty",
            "event_rules[0] (r): key 'retry': max must be at least 1 (leave retry out for no retries)",
            "event_rules[0] (r): key 'retry': intervals must be seconds of 0 or more, found -1",
            r#"event_rules[1] (r): key 'name': duplicate name "r", already used by event_rules[0]"#,
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for (problem, expected) in problems.iter().zip(expected) {
            assert!(
                problem.starts_with(expected),
                "{problem:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn payload_urls_follow_netbox_rules() {
        for ok in [
            "http://127.0.0.1:9000/",
            "https://hooks.example.com/x?y=1",
            "http://single-label/",
            "{{ data.url }}",
            "https://{{ data.host }}/hook",
            "HTTPS://example.com/{% if data.id %}{{ data.id }}{% endif %}",
        ] {
            assert_eq!(check_payload_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "example.com/hook",
            "ftp://x",
            "http://",
            "localhost:9000/{{ x }}",
            "file:///{{ data.path }}",
        ] {
            assert!(check_payload_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_secret_and_serialize_keeps_it() {
        let file = load(EXAMPLE);
        let shown = format!("{:?}", file.webhooks[0]);
        assert!(shown.contains(r#"secret: "********""#), "{shown}");
        assert!(!shown.contains("s3cret"));
        let value = serde_json::to_value(&file.webhooks[0]).unwrap();
        assert_eq!(value["secret"], json!("s3cret"));
        assert_eq!(value["http_method"], json!("PUT"));
    }

    #[test]
    fn rules_serialize_as_written() {
        let rule = &load(EXAMPLE).event_rules[0];
        let value = serde_json::to_value(rule).unwrap();
        assert_eq!(value["conditions"]["and"][0]["attr"], json!("status.value"));
        assert_eq!(value["event_types"][0], json!("object_created"));
    }
}
