//! Turning a webhook and an event into the URL, headers and body to send, with Jinja2 templates
//! rendered by `minijinja` as NetBox renders them with Jinja2's `SandboxedEnvironment`.
//!
//! Each webhook's templates are checked and compiled once into a [`CompiledWebhook`] and reused
//! for every delivery. The language is Jinja2's as NetBox has it ([`super::jinja`]): Python's
//! methods, Jinja2's filters and tests, values printed as Python's `str()` prints them (`None`,
//! `True`, `1e+16`, `['a', 'b']`, `('x', 1)`). What would render differently from NetBox, or fail
//! at delivery for a reason that can be known at load, is refused by [`check_template`] when the
//! settings load, with the construct and what to write instead. Undefined names render as empty
//! text, attribute access on them fails, as with Jinja2's default `Undefined`. `tojson` is
//! Jinja2's: sorted keys, Python separators, `<>&'` escaped. `header_safe` strips control
//! characters, as NetBox's filter does.
//!
//! The default body (no `body_template`) is the context as Python's `json.dumps` writes it, byte
//! for byte what NetBox sends, so signatures agree too. Its keys are NetBox 4.6.8's
//! `send_webhook`'s, present exactly when it puts them there and in its order: `event,
//! timestamp, object_type, username, request_id, data`, then `request` when a request made the
//! change, `snapshots` when the event has some, `context` when plugins added some, and last any
//! key a relayed NetBox sent that we do not know, as given. A webhook's `netbox_version` picks
//! 4.5's keys (no `request`) or 4.7's (no top-level `username` and `request_id`) instead.

use minijinja::{Environment, ErrorKind, Value as Template};
use serde::Serialize;
use serde_json::{Map, Value};

use super::config::{NetboxVersion, WebhookConfig};
use super::event::Event;
use super::event_type::webhook_event;
use super::jinja;
use crate::python;

const URL: &str = "payload_url";
const HEADERS: &str = jinja::HEADERS_TEMPLATE;
const BODY: &str = "body_template";

/// What templates see, and what the default body is: NetBox's webhook context, its keys as
/// [`NetboxVersion`] has them (see the module's documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookContext {
    /// The public event name: `created`, `updated`, `deleted`, `job_started`, `job_ended`.
    pub event: String,
    /// When the event was enqueued, ISO 8601.
    pub timestamp: String,
    /// `app_label.model`, e.g. `dcim.site`.
    pub object_type: String,
    /// Who made the change, when known.
    pub username: Option<String>,
    /// The request that made the change, when known.
    pub request_id: Option<String>,
    /// The object's data merged with the rule's `action_data`.
    pub data: Value,
    /// `{"prechange": …, "postchange": …}`; `null` when the producer sent none.
    pub snapshots: Option<Value>,
    /// NetBox 4.6's `request` (`id`, `method`, `path`, `user`; 4.7 adds `path_info`, `GET`), as
    /// the producer gave it.
    pub request: Option<Value>,
    /// What NetBox plugins added (its `context` key), as given.
    pub context: Option<Value>,
    /// Keys of a relayed NetBox body that this version does not know, as given and in order.
    pub extra: Map<String, Value>,
    /// Whose keys these are.
    pub version: NetboxVersion,
}

impl Serialize for WebhookContext {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let old_keys = self.version != NetboxVersion::V4_7;
        // Python's truthiness, as `if snapshots:` tests it: an empty object is no snapshots.
        let snapshots = self
            .snapshots
            .as_ref()
            .filter(|s| !s.is_null() && s.as_object().is_none_or(|o| !o.is_empty()));
        let request = self
            .request
            .as_ref()
            .filter(|r| !r.is_null() && self.version != NetboxVersion::V4_5);
        let context = self
            .context
            .as_ref()
            .filter(|c| c.as_object().is_some_and(|o| !o.is_empty()));
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("event", &self.event)?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.serialize_entry("object_type", &self.object_type)?;
        if old_keys {
            map.serialize_entry("username", &self.username)?;
            map.serialize_entry("request_id", &self.request_id)?;
        }
        map.serialize_entry("data", &self.data)?;
        if let Some(request) = request {
            map.serialize_entry("request", request)?;
        }
        if let Some(snapshots) = snapshots {
            map.serialize_entry("snapshots", snapshots)?;
        }
        if let Some(context) = context {
            map.serialize_entry("context", context)?;
        }
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl WebhookContext {
    /// A context for a stored event type (`object_created`, …), which becomes the public name.
    pub fn new(event_type: &str, object_type: &str, timestamp: &str, data: Value) -> Self {
        Self {
            event: webhook_event(event_type).to_string(),
            timestamp: timestamp.to_string(),
            object_type: object_type.to_string(),
            username: None,
            request_id: None,
            data,
            snapshots: None,
            request: None,
            context: None,
            extra: Map::new(),
            version: NetboxVersion::default(),
        }
    }

    /// The context for an event and one rule's merged `data` (see `event::merged_data`).
    pub fn from_event(event: &Event, data: Value, timestamp: &str) -> Self {
        Self {
            username: event.username(),
            request_id: event.request_id(),
            snapshots: event.snapshots.clone(),
            request: event.request.clone(),
            context: event.context.clone(),
            extra: event.extra.clone(),
            ..Self::new(
                event.event_type.as_str(),
                &event.object_type,
                timestamp,
                data,
            )
        }
    }

    /// The default body: this context as Python's `json.dumps` writes it.
    pub fn default_body(&self) -> Vec<u8> {
        python::json_dumps(self, None).expect("a context of JSON values always serializes")
    }
}

/// Which configured template failed; each names NetBox's wording for the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateField {
    /// `payload_url`.
    PayloadUrl,
    /// `additional_headers`.
    AdditionalHeaders,
    /// `body_template`.
    BodyTemplate,
}

impl TemplateField {
    /// The configuration key.
    pub fn key(self) -> &'static str {
        match self {
            TemplateField::PayloadUrl => URL,
            TemplateField::AdditionalHeaders => HEADERS,
            TemplateField::BodyTemplate => BODY,
        }
    }

    fn failure(self) -> &'static str {
        match self {
            TemplateField::PayloadUrl => "Error rendering payload URL",
            TemplateField::AdditionalHeaders => "Error parsing HTTP headers",
            TemplateField::BodyTemplate => "Error rendering request body",
        }
    }
}

/// A template that would not compile or render, or rendered to something that cannot be sent.
/// Prints as NetBox logs it: `Error rendering request body for webhook site-hook: …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} for webhook {webhook}: {message}", field.failure())]
pub struct RenderError {
    /// The webhook's name.
    pub webhook: String,
    /// The template that failed.
    pub field: TemplateField,
    /// What went wrong.
    pub message: String,
}

/// Everything a delivery needs from the templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedRequest {
    /// The target, an http or https URL.
    pub url: String,
    /// `Content-Type` first, then the additional headers, which replace a header of the same name
    /// (ignoring case), as `requests` merges them in NetBox.
    pub headers: Vec<(String, String)>,
    /// The exact bytes to send and sign.
    pub body: Vec<u8>,
}

/// A webhook's templates, compiled once and rendered for every delivery.
pub struct CompiledWebhook {
    name: String,
    content_type: String,
    env: Environment<'static>,
    literal_url: Option<String>,
    has_headers: bool,
    has_body: bool,
    max_body: usize,
}

impl std::fmt::Debug for CompiledWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledWebhook")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The context converted for minijinja once per delivery, and only if a template needs it.
struct Scope<'c> {
    ctx: &'c WebhookContext,
    value: Option<Template>,
}

impl Scope<'_> {
    fn value(&mut self) -> &Template {
        let ctx = self.ctx;
        self.value
            .get_or_insert_with(|| Template::from_serialize(ctx))
    }
}

/// The most a rendered URL or header text may be; a body may be up to [`Bounds::max_body`].
pub const MAX_SHORT_OUTPUT: usize = 64 * 1024;

/// Bounds on rendering one webhook: the work of each template and the size of what it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Instructions per template render (minijinja's fuel).
    pub fuel: u64,
    /// The largest body a template may write (the HTTP `max_body`); rendering stops past it.
    pub max_body: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            fuel: jinja::DEFAULT_FUEL,
            max_body: 10 * 1024 * 1024,
        }
    }
}

impl CompiledWebhook {
    /// Compiles the webhook's templates with the default [`Bounds`]. A literal `payload_url`
    /// is checked here, once.
    pub fn new(webhook: &WebhookConfig) -> Result<Self, RenderError> {
        Self::with_bounds(webhook, Bounds::default())
    }

    /// Compiles the webhook's templates, to render within `bounds`.
    pub fn with_bounds(webhook: &WebhookConfig, bounds: Bounds) -> Result<Self, RenderError> {
        let fail = |field: TemplateField, message: String| RenderError {
            webhook: webhook.name.clone(),
            field,
            message,
        };
        let mut env = jinja::bounded_environment(jinja::Bounds {
            fuel: bounds.fuel,
            max_value: bounds.max_body,
        });
        let mut add = |field: TemplateField, source: &str| {
            let prepared = jinja::prepare(field.key(), source).map_err(|m| fail(field, m))?;
            env.add_template_owned(field.key(), prepared)
                .map_err(|e| fail(field, e.to_string()))
        };
        let literal_url = if is_template(&webhook.payload_url) {
            add(TemplateField::PayloadUrl, &webhook.payload_url)?;
            None
        } else {
            check_url(&webhook.payload_url).map_err(|m| fail(TemplateField::PayloadUrl, m))?;
            Some(webhook.payload_url.clone())
        };
        for (source, field) in [
            (
                &webhook.additional_headers,
                TemplateField::AdditionalHeaders,
            ),
            (&webhook.body_template, TemplateField::BodyTemplate),
        ] {
            if !source.is_empty() {
                add(field, source)?;
            }
        }
        Ok(Self {
            name: webhook.name.clone(),
            content_type: webhook.http_content_type.clone(),
            env,
            literal_url,
            has_headers: !webhook.additional_headers.is_empty(),
            has_body: !webhook.body_template.is_empty(),
            max_body: bounds.max_body,
        })
    }

    /// The webhook's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether anything is rendered by a template (else the request is the literal URL and the
    /// default body).
    pub fn has_templates(&self) -> bool {
        self.literal_url.is_none() || self.has_headers || self.has_body
    }

    /// URL, headers (with `Content-Type`) and body for one delivery, converting the context for
    /// the templates at most once.
    pub fn render(&self, ctx: &WebhookContext) -> Result<RenderedRequest, RenderError> {
        let mut scope = Scope { ctx, value: None };
        let url = self.url(&mut scope)?;
        let mut headers = vec![("Content-Type".to_string(), self.content_type.clone())];
        for (name, value) in self.headers(&mut scope)? {
            set_header(&mut headers, name, value);
        }
        let body = self.body(&mut scope)?;
        Ok(RenderedRequest { url, headers, body })
    }

    /// The payload URL, rendered if it is a template, and checked to be http or https with a host.
    pub fn render_url(&self, ctx: &WebhookContext) -> Result<String, RenderError> {
        self.url(&mut Scope { ctx, value: None })
    }

    /// The additional headers: the rendered text split into lines (as Python's `splitlines`),
    /// lines without `:` skipped, each split at its first `:` and trimmed; a later header
    /// replaces an earlier one of the same name, ignoring case. A name that is not an HTTP token
    /// or a value with a control character is an error, so no rendered data can inject a header.
    pub fn render_headers(
        &self,
        ctx: &WebhookContext,
    ) -> Result<Vec<(String, String)>, RenderError> {
        self.headers(&mut Scope { ctx, value: None })
    }

    /// The body: the rendered `body_template`, or the context as JSON when there is none.
    pub fn render_body(&self, ctx: &WebhookContext) -> Result<Vec<u8>, RenderError> {
        self.body(&mut Scope { ctx, value: None })
    }

    /// One template's rendered text, before the URL check and the header parsing: what Jinja2's
    /// `Template.render` returns in NetBox. A field without a template gives its literal URL or
    /// the default body.
    pub fn render_text(
        &self,
        field: TemplateField,
        ctx: &WebhookContext,
    ) -> Result<String, RenderError> {
        let mut scope = Scope { ctx, value: None };
        match field {
            TemplateField::PayloadUrl => match &self.literal_url {
                Some(url) => Ok(url.clone()),
                None => self.run(URL, field, &mut scope),
            },
            TemplateField::AdditionalHeaders if !self.has_headers => Ok(String::new()),
            TemplateField::BodyTemplate if !self.has_body => {
                Ok(String::from_utf8(ctx.default_body()).expect("json.dumps writes ASCII"))
            }
            _ => self.run(field.key(), field, &mut scope),
        }
    }

    fn url(&self, scope: &mut Scope) -> Result<String, RenderError> {
        if let Some(url) = &self.literal_url {
            return Ok(url.clone());
        }
        let url = self.run(URL, TemplateField::PayloadUrl, scope)?;
        check_url(&url).map_err(|m| self.error(TemplateField::PayloadUrl, m))?;
        Ok(url)
    }

    fn headers(&self, scope: &mut Scope) -> Result<Vec<(String, String)>, RenderError> {
        if !self.has_headers {
            return Ok(Vec::new());
        }
        let text = self.run(HEADERS, TemplateField::AdditionalHeaders, scope)?;
        parse_headers(&text).map_err(|m| self.error(TemplateField::AdditionalHeaders, m))
    }

    fn body(&self, scope: &mut Scope) -> Result<Vec<u8>, RenderError> {
        if !self.has_body {
            return Ok(scope.ctx.default_body());
        }
        self.run(BODY, TemplateField::BodyTemplate, scope)
            .map(String::into_bytes)
    }

    fn run(
        &self,
        name: &str,
        field: TemplateField,
        scope: &mut Scope,
    ) -> Result<String, RenderError> {
        let limit = match field {
            TemplateField::BodyTemplate => self.max_body,
            _ => MAX_SHORT_OUTPUT,
        };
        let mut out = Capped::new(limit);
        let rendered = self.env.get_template(name).and_then(|template| {
            template
                .render_captured_to(scope.value(), &mut out)
                .map(|_| ())
        });
        match rendered {
            Ok(_) => String::from_utf8(out.bytes)
                .map_err(|_| self.error(field, "the template wrote text that is not UTF-8".into())),
            Err(_) if out.over => Err(self.error(
                field,
                format!("the rendered text is over {limit} bytes (the bound for {}); rendering stopped", field.key()),
            )),
            Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(self.error(
                field,
                format!("the template ran out of fuel: more than {} instructions (a loop in a loop?); rendering stopped", self.fuel()),
            )),
            Err(e) => Err(self.error(field, e.to_string())),
        }
    }

    fn fuel(&self) -> u64 {
        self.env.fuel().unwrap_or_default()
    }

    fn error(&self, field: TemplateField, message: String) -> RenderError {
        RenderError {
            webhook: self.name.clone(),
            field,
            message,
        }
    }
}

/// A writer that keeps at most `limit` bytes and fails past them, so rendering stops there.
struct Capped {
    bytes: Vec<u8>,
    limit: usize,
    over: bool,
}

impl Capped {
    fn new(limit: usize) -> Self {
        Self {
            bytes: Vec::new(),
            limit,
            over: false,
        }
    }
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            self.over = true;
            return Err(std::io::Error::other("rendered output over its bound"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// NetBox's test for a template (`\{[{%#]`): a value with `{{`, `{%` or `{#`.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Whether a template loads: it compiles, and renders as NetBox's Jinja2 would or fails at
/// delivery only for reasons that depend on the data. The error names the construct and says
/// what to write instead; syntax errors start with `invalid Jinja2 template: `.
pub fn check_template(field: TemplateField, source: &str) -> Result<(), String> {
    let prepared = jinja::prepare(field.key(), source)?;
    jinja::environment()
        .template_from_named_str(field.key(), &prepared)
        .map(|_| ())
        .map_err(|e| format!("invalid Jinja2 template: {e}"))
}

fn check_url(url: &str) -> Result<(), String> {
    if is_http_url(url) {
        Ok(())
    } else {
        Err(format!(
            "expected an http:// or https:// URL, found {:?}",
            crate::redact::url(url)
        ))
    }
}

/// Whether `url` is an absolute http or https URL with a host, the only targets a delivery may have.
pub fn is_http_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|parsed| {
        matches!(parsed.scheme(), "http" | "https")
            && parsed.host_str().is_some_and(|host| !host.is_empty())
    })
}

/// Splits rendered header text as NetBox does and refuses what could not be sent safely.
fn parse_headers(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut headers = Vec::new();
    for line in text.split(super::jinja::is_line_break) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (python_strip(name), python_strip(value));
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(format!("invalid header name {name:?}"));
        }
        if value.chars().any(|c| c.is_ascii_control()) {
            return Err(format!(
                "the value of header {name} contains a control character (use the header_safe filter)"
            ));
        }
        set_header(&mut headers, name.to_string(), value.to_string());
    }
    Ok(headers)
}

/// Adds a header, replacing one of the same name (ignoring case) where it stands.
fn set_header(headers: &mut Vec<(String, String)>, name: String, value: String) {
    match headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(&name))
    {
        Some(existing) => *existing = (name, value),
        None => headers.push((name, value)),
    }
}

/// Python's `str.strip()`: Unicode whitespace plus the separators `\x1c`..`\x1f`.
fn python_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn webhook(extra: &str) -> WebhookConfig {
        let url = if extra.contains("payload_url") {
            ""
        } else {
            "payload_url = \"http://127.0.0.1:9000/\"\n"
        };
        toml::from_str(&format!("name = \"site-hook\"\n{url}{extra}")).unwrap()
    }

    fn compiled(extra: &str) -> CompiledWebhook {
        CompiledWebhook::new(&webhook(extra)).unwrap()
    }

    fn context() -> WebhookContext {
        WebhookContext {
            username: Some("admin".into()),
            request_id: Some("9c3c5f4e-1111-2222-3333-444455556666".into()),
            ..WebhookContext::new(
                "object_updated",
                "dcim.site",
                "2026-03-06T15:11:23.503186+00:00",
                json!({"id": 4, "name": "Café <1>", "status": {"value": "active"}, "description": null,
                       "enabled": true, "latitude": 1e16, "tags": [{"slug": "a"}, {"slug": "b"}]}),
            )
        }
    }

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn each_netbox_version_has_its_keys_present_when_netbox_puts_them_there() {
        let keys = |ctx: &WebhookContext| -> Vec<String> {
            let body: Value = serde_json::from_slice(&ctx.default_body()).unwrap();
            body.as_object().unwrap().keys().cloned().collect()
        };
        let mut full = context();
        full.request =
            Some(json!({"id": "r", "method": "POST", "path": "/api/dcim/sites/", "user": "admin"}));
        full.snapshots = Some(json!({"prechange": null, "postchange": {"name": "a"}}));
        full.context = Some(json!({"plugin": 1}));
        full.extra.insert("later".into(), json!(true));
        let expect = |version, list: &[&str]| {
            let ctx = WebhookContext {
                version,
                ..full.clone()
            };
            assert_eq!(keys(&ctx), list, "{version:?}");
        };
        expect(
            NetboxVersion::V4_6,
            &[
                "event",
                "timestamp",
                "object_type",
                "username",
                "request_id",
                "data",
                "request",
                "snapshots",
                "context",
                "later",
            ],
        );
        expect(
            NetboxVersion::V4_5,
            &[
                "event",
                "timestamp",
                "object_type",
                "username",
                "request_id",
                "data",
                "snapshots",
                "context",
                "later",
            ],
        );
        expect(
            NetboxVersion::V4_7,
            &[
                "event",
                "timestamp",
                "object_type",
                "data",
                "request",
                "snapshots",
                "context",
                "later",
            ],
        );
        // `if snapshots:` and `if callback_data:` are Python truthiness: empty is absent.
        let empty = WebhookContext {
            snapshots: Some(json!({})),
            context: Some(json!({})),
            ..context()
        };
        assert_eq!(
            keys(&empty),
            [
                "event",
                "timestamp",
                "object_type",
                "username",
                "request_id",
                "data"
            ]
        );
    }

    #[test]
    fn templates_see_the_request_when_there_is_one() {
        let hook = compiled(
            "body_template = \"{{ request.path if request is defined }} {{ request.user if request is defined else username }}\"",
        );
        let mut ctx = context();
        assert_eq!(text(hook.render_body(&ctx).unwrap()), " admin");
        // No request, no `request`: an attribute of it fails, as in Jinja2.
        let bare = compiled("body_template = \"{{ request.path }}\"");
        assert!(bare.render_body(&ctx).is_err());
        ctx.request = Some(
            json!({"id": "r", "method": "PATCH", "path": "/api/dcim/sites/4/", "user": "ann"}),
        );
        assert_eq!(
            text(hook.render_body(&ctx).unwrap()),
            "/api/dcim/sites/4/ ann"
        );
    }

    #[test]
    fn default_body_is_json_dumps_of_the_context() {
        // python3 -c 'import json; print(json.dumps({"event": "updated", ...}))' gives this;
        // no snapshots, no `snapshots` key, as NetBox 4.6.8's `if snapshots:`.
        let body = text(compiled("").render_body(&context()).unwrap());
        assert_eq!(
            body,
            r#"{"event": "updated", "timestamp": "2026-03-06T15:11:23.503186+00:00", "object_type": "dcim.site", "username": "admin", "request_id": "9c3c5f4e-1111-2222-3333-444455556666", "data": {"id": 4, "name": "Caf\u00e9 <1>", "status": {"value": "active"}, "description": null, "enabled": true, "latitude": 1e+16, "tags": [{"slug": "a"}, {"slug": "b"}]}}"#
        );
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"], context().data);
    }

    #[test]
    fn context_comes_from_the_event() {
        let event: Event = serde_json::from_value(json!({
            "object_type": "dcim.site", "event": "deleted", "data": {"id": 1},
            "snapshots": {"prechange": {"name": "x"}, "postchange": null}, "username": "bob",
        }))
        .unwrap();
        let ctx = WebhookContext::from_event(&event, json!({"id": 1, "foo": 2}), "T");
        assert_eq!(ctx.event, "deleted");
        assert_eq!(ctx.timestamp, "T");
        assert_eq!(ctx.username.as_deref(), Some("bob"));
        assert_eq!(ctx.request_id, None);
        assert_eq!(ctx.data, json!({"id": 1, "foo": 2}));
        assert_eq!(
            ctx.snapshots,
            Some(json!({"prechange": {"name": "x"}, "postchange": null}))
        );
        assert_eq!(
            WebhookContext::new("job_failed", "core.job", "T", Value::Null).event,
            "job_ended"
        );
    }

    #[test]
    fn templates_print_values_as_python_does() {
        let hook = compiled(
            "body_template = \"{{ event }}|{{ data.description }}|{{ data.enabled }}|{{ data.latitude }}|{{ data.tags|map(attribute='slug')|list }}|{{ data.status }}|{{ missing }}|{{ data.id + 1 }}\"",
        );
        assert_eq!(
            text(hook.render_body(&context()).unwrap()),
            "updated|None|True|1e+16|['a', 'b']|{'value': 'active'}||5"
        );
    }

    #[test]
    fn tojson_is_jinja2s() {
        // Jinja2 3.1.6: Template("{{ data|tojson }}").render(data=...) gives this.
        let hook = compiled("body_template = \"{{ data|tojson }}\"");
        assert_eq!(
            text(hook.render_body(&context()).unwrap()),
            r#"{"description": null, "enabled": true, "id": 4, "latitude": 1e+16, "name": "Caf\u00e9 \u003c1\u003e", "status": {"value": "active"}, "tags": [{"slug": "a"}, {"slug": "b"}]}"#
        );
        let indented = compiled("body_template = \"{{ data.status|tojson(indent=2) }}\"");
        assert_eq!(
            text(indented.render_body(&context()).unwrap()),
            "{\n  \"value\": \"active\"\n}"
        );
    }

    #[test]
    fn undefined_attribute_of_undefined_fails_like_jinja2() {
        // `{{ nothing.here }}` is refused at load: `nothing` is no name in the context.
        let hook = compiled("body_template = \"{{ data.nothing.here }}\"");
        let error = hook.render_body(&context()).unwrap_err();
        assert_eq!(error.field, TemplateField::BodyTemplate);
        assert!(
            error
                .to_string()
                .starts_with("Error rendering request body for webhook site-hook: "),
            "{error}"
        );
    }

    #[test]
    fn urls_render_and_must_stay_http() {
        let hook =
            compiled("payload_url = \"https://hooks.example.com/{{ object_type }}/{{ data.id }}\"");
        assert_eq!(
            hook.render_url(&context()).unwrap(),
            "https://hooks.example.com/dcim.site/4"
        );
        let escape = compiled("payload_url = \"{{ data.name }}\"");
        let error = escape.render_url(&context()).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"Error rendering payload URL for webhook site-hook: expected an http:// or https:// URL, found "Café <1>""#
        );
        let literal = CompiledWebhook::new(&webhook("payload_url = \"ftp://x\"")).unwrap_err();
        assert_eq!(literal.field, TemplateField::PayloadUrl);
    }

    #[test]
    fn headers_split_trim_and_override() {
        let hook = compiled(
            r#"http_content_type = "application/json"
additional_headers = """
X-Env: prod
not a header line

Authorization :  Bearer {{ username }}  
content-type: text/plain
X-Env: staging
X-Colon: a:b
""""#,
        );
        let request = hook.render(&context()).unwrap();
        assert_eq!(
            request.headers,
            [
                ("content-type".to_string(), "text/plain".to_string()),
                ("X-Env".into(), "staging".into()),
                ("Authorization".into(), "Bearer admin".into()),
                ("X-Colon".into(), "a:b".into()),
            ]
        );
        assert_eq!(request.url, "http://127.0.0.1:9000/");
        assert_eq!(request.body, context().default_body());
    }

    #[test]
    fn headers_cannot_be_injected() {
        let mut ctx = context();
        ctx.data["name"] = json!("x\r\nX-Evil: 1");
        // In NetBox this renders two lines and so sends an X-Evil header (issue #22746).
        let raw = compiled("additional_headers = \"X-Name: {{ data.name }}\"");
        let error = raw.render_headers(&ctx).unwrap_err();
        assert_eq!(error.field, TemplateField::AdditionalHeaders);
        assert!(
            error.to_string().starts_with(
                "Error parsing HTTP headers for webhook site-hook: invalid operation: a value printed into a header contains a control character"
            ),
            "{error}"
        );
        let safe = compiled("additional_headers = \"X-Name: {{ data.name|header_safe }}\"");
        assert_eq!(
            safe.render_headers(&ctx).unwrap(),
            [("X-Name".to_string(), "xX-Evil: 1".to_string())]
        );
        // Template text itself may hold line breaks between headers, but no other control character.
        let literal =
            compiled("additional_headers = \"X-A: 1\\r\\nX-B: {{ data.id }}\\nX-C: a\\tb\"");
        assert_eq!(
            literal.render_headers(&ctx).unwrap_err().message,
            "the value of header X-C contains a control character (use the header_safe filter)"
        );
        let bad_name = compiled("additional_headers = \"X Bad: 1\"");
        assert_eq!(
            bad_name.render_headers(&ctx).unwrap_err().message,
            r#"invalid header name "X Bad""#
        );
    }

    #[test]
    fn templates_compile_once_and_report_syntax_errors() {
        let error =
            CompiledWebhook::new(&webhook("body_template = \"{{ data.name \"")).unwrap_err();
        assert_eq!(error.field, TemplateField::BodyTemplate);
        assert!(error.message.contains("syntax error"), "{}", error.message);
        let body = TemplateField::BodyTemplate;
        assert!(check_template(body, "{% for t in data.tags %}{{ t.slug }}{% endfor %}").is_ok());
        assert!(check_template(body, "{% if %}")
            .unwrap_err()
            .starts_with("invalid Jinja2 template: syntax error"));
        assert!(is_template("http://x/{# c #}") && !is_template("http://x/{a}"));
    }

    #[test]
    fn runaway_templates_stop_at_their_bounds() {
        // The loop in a loop of the delivery-guarantees issue: 10^10 iterations unbounded.
        let nested = compiled(
            "body_template = \"{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}\"",
        );
        let error = nested.render_body(&context()).unwrap_err();
        assert!(
            error.message.contains("ran out of fuel")
                || error.message.contains("rendered text is over"),
            "{error}"
        );
        // 100 MiB of output stops at the body bound.
        let big = CompiledWebhook::with_bounds(
            &webhook(
                "body_template = \"{% for i in range(100000) %}{{ 'x' * 1048 }}{% endfor %}\"",
            ),
            Bounds {
                max_body: 1024 * 1024,
                ..Bounds::default()
            },
        )
        .unwrap();
        let error = big.render_body(&context()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Error rendering request body for webhook site-hook: the rendered text is over 1048576 bytes (the bound for body_template); rendering stopped"
        );
        // A string doubled in a loop stops at the value bound, long before memory runs out.
        let doubling = compiled(
            "body_template = \"{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}\"",
        );
        let error = doubling.render_body(&context()).unwrap_err();
        assert!(error.message.contains("over the bound of"), "{error}");
        let urls =
            compiled("payload_url = \"http://x/{% for i in range(100000) %}{{ i }}{% endfor %}\"");
        assert!(urls
            .render_url(&context())
            .unwrap_err()
            .message
            .contains("over 65536 bytes"));
    }

    #[test]
    fn the_sandbox_has_no_loader() {
        let error =
            CompiledWebhook::new(&webhook("body_template = \"{% include '/etc/passwd' %}\""))
                .unwrap_err();
        assert!(
            error.message.contains("template loader"),
            "{}",
            error.message
        );
    }
}
