//! What a webhook job (`extras.webhooks.send_webhook`) says about its webhook: the name the
//! producer put in its keyword arguments and, from the settings, where it is sent. Secrets never
//! leave this module.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{config::Settings, rq::serializer::Call, webhooks::SEND_WEBHOOK};

/// The webhook a job delivers.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookInfo {
    /// The webhook's name (`webhook` keyword argument), when the job names one.
    pub name: Option<String>,
    /// Where it is sent (`payload_url`), when the settings know the webhook.
    pub target: Option<String>,
    /// The event rule that matched (`event_rule`).
    pub event_rule: Option<String>,
    /// What happened (`event_type`, e.g. `object_created`).
    pub event_type: Option<String>,
    /// The kind of object (`object_type`, e.g. `dcim.site`).
    pub object_type: Option<String>,
}

/// The webhook of a `send_webhook` job; `None` for any other function.
pub fn info(settings: &Settings, call: &Call) -> Option<WebhookInfo> {
    if call.func_name != SEND_WEBHOOK {
        return None;
    }
    let name = named(&call.kwargs, "webhook");
    Some(WebhookInfo {
        target: name.as_deref().and_then(|n| webhook_target(settings, n)),
        event_rule: named(&call.kwargs, "event_rule"),
        event_type: named(&call.kwargs, "event_type"),
        object_type: named(&call.kwargs, "object_type"),
        name,
    })
}

/// A keyword argument as a name: a string, or an object's `name` (or `app_label.model` for an
/// object type), as producers other than ours may send whole objects.
fn named(kwargs: &Map<String, Value>, key: &str) -> Option<String> {
    match kwargs.get(key)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(object) => {
            let text = |k: &str| object.get(k).and_then(Value::as_str);
            text("name")
                .map(str::to_string)
                .or_else(|| Some(format!("{}.{}", text("app_label")?, text("model")?)))
        }
        _ => None,
    }
}

/// Where the webhook named `webhook_name` is delivered, for display: its method and
/// `payload_url` as the redaction policy shows it (a template as written); never its secret or
/// headers.
pub fn webhook_target(settings: &Settings, webhook_name: &str) -> Option<String> {
    let webhook = settings.webhooks.iter().find(|w| w.name == webhook_name)?;
    Some(format!(
        "{} {}",
        webhook.http_method.as_str(),
        webhook.shown_url()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_names_from_strings_and_objects() {
        let call = Call {
            func_name: SEND_WEBHOOK.into(),
            args: vec![],
            kwargs: json!({"webhook": "site-hook", "event_rule": {"name": "sites"}, "object_type": {"app_label": "dcim", "model": "site"}, "event_type": "object_created"})
                .as_object()
                .unwrap()
                .clone(),
        };
        let info = info(&Settings::default(), &call).unwrap();
        assert_eq!(info.name.as_deref(), Some("site-hook"));
        assert_eq!(info.event_rule.as_deref(), Some("sites"));
        assert_eq!(info.object_type.as_deref(), Some("dcim.site"));
        assert_eq!(info.event_type.as_deref(), Some("object_created"));
        assert!(super::info(
            &Settings::default(),
            &Call {
                func_name: "manage.echo".into(),
                ..call
            }
        )
        .is_none());
    }
}
