//! [`validate`]: every problem with the `[[webhooks]]` and `[[event_rules]]` entries, listed at
//! load instead of failing one job at a time.

use std::collections::HashMap;
use std::path::Path;

use super::config::{Conditions, EventRuleConfig, Signing, WebhookConfig};
use super::event_type::EventType;
use super::{render, sign};

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
    if let Some(timeout) = webhook.timeout.filter(|t| *t < 1 || *t >= job_timeout) {
        report(
            "timeout",
            format!(
                "expected seconds from 1 to below the job timeout ({job_timeout}), found {timeout}"
            ),
        );
    }
    if !(webhook.rate_limit >= 0.0 && webhook.rate_limit.is_finite()) {
        report(
            "rate_limit",
            format!(
                "expected requests per second, 0 (no limit) or more, found {}",
                webhook.rate_limit
            ),
        );
    }
    if webhook.breaker_open < 1 {
        report(
            "breaker_open",
            "expected seconds of at least 1 before a probe".into(),
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
    let expected = format!(
        "expected an http:// or https:// URL or a Jinja2 template, found {:?}",
        crate::redact::url(url)
    );
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
    use crate::webhooks::config::{HttpMethod, RetryConfig};
    use serde::Deserialize;
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
        assert_eq!(hook.timeout, None, "[http] timeout applies");
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
