//! An event as data (what changed, how, and the object's REST representation), and the rules it
//! triggers. NetBox builds these inside its web process; we read them as JSON lines.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::conditions;
use super::config::EventRuleConfig;
use super::event_type::EventType;
use crate::trace::TraceParent;

/// One change to one object, as `manage enqueue_event --lines` reads it (one JSON object a line)
/// and as NetBox's `EventContext` carries it to the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// `app_label.model`, e.g. `dcim.site`.
    pub object_type: String,
    /// What happened. The input key may be `event_type` or `event`, in long or short form.
    #[serde(alias = "event")]
    pub event_type: EventType,
    /// The object's REST API representation; conditions are evaluated against it. Required,
    /// and an object: as `enqueue_event --data` requires, so no input path takes less.
    #[serde(deserialize_with = "object")]
    pub data: Value,
    /// `{"prechange": …, "postchange": …}`, raw model fields, when the producer has them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "object_or_null"
    )]
    pub snapshots: Option<Value>,
    /// Who made the change (NetBox's deprecated `username` context key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The request that made the change (NetBox's deprecated `request_id` context key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// ISO 8601 time of the change; the enqueuer fills in the current time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The W3C `traceparent` of the change; its deliveries continue its trace (a new trace is
    /// started when absent).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "traceparent",
        serialize_with = "traceparent_text"
    )]
    pub traceparent: Option<TraceParent>,
    /// NetBox 4.6's `request`: the request that made the change (`id`, `method`, `path`,
    /// `user`; NetBox 4.7 adds `path_info` and `GET`), passed to the templates as given.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "request_object"
    )]
    pub request: Option<Value>,
    /// What NetBox plugins added to the context (its `context` key), as given.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "context_object"
    )]
    pub context: Option<Value>,
    /// Top-level keys of a relayed NetBox body that this version does not know, kept as given
    /// and in order so that the body delivered is the body NetBox sent. Not read from
    /// `enqueue_event` or `/events` input, which refuse unknown keys.
    #[serde(skip)]
    pub extra: Map<String, Value>,
}

impl Event {
    /// Who made the change: `username`, else `request.user`.
    pub fn username(&self) -> Option<String> {
        self.username.clone().or_else(|| self.request_field("user"))
    }

    /// The request that made it: `request_id`, else `request.id`.
    pub fn request_id(&self) -> Option<String> {
        self.request_id.clone().or_else(|| self.request_field("id"))
    }

    fn request_field(&self, key: &str) -> Option<String> {
        match self.request.as_ref()?.get(key)? {
            Value::String(text) => Some(text.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }
}

fn request_object<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    optional_object(deserializer, "`request` must be a JSON object ({\"id\": …, \"method\": …, \"path\": …, \"user\": …}) or null")
}

fn context_object<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    optional_object(deserializer, "`context` must be a JSON object or null")
}

fn optional_object<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    expected: &str,
) -> Result<Option<Value>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value @ Value::Object(_) => Ok(Some(value)),
        other => Err(serde::de::Error::custom(format!(
            "{expected}, found {}",
            kind(&other)
        ))),
    }
}

fn object<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match value {
        Value::Object(_) => Ok(value),
        other => Err(serde::de::Error::custom(format!(
            "`data` must be a JSON object (the object's REST representation), found {}",
            kind(&other)
        ))),
    }
}

fn object_or_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value @ Value::Object(_) => Ok(Some(value)),
        other => Err(serde::de::Error::custom(format!(
            "`snapshots` must be a JSON object ({{\"prechange\": …, \"postchange\": …}}) or null, found {}",
            kind(&other)
        ))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One event from one JSON object. Anything but an object is named as such (serde alone would
/// read an array as the struct's fields in order, and complain about the first); serde's
/// position is kept only where it helps: the column, and the line when the text has several.
pub fn parse_json(text: &[u8]) -> Result<Event, String> {
    if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(
            "expected one JSON object ({\"object_type\": …, \"event\": …, \"data\": {…}})".into(),
        );
    }
    serde_json::from_slice(text).map_err(|e| {
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m);
        match e.line() {
            0 => message.to_string(),
            1 => format!("{message} (column {})", e.column()),
            line => format!("{message} (line {line}, column {})", e.column()),
        }
    })
}

fn traceparent<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<TraceParent>, D::Error> {
    Option::<String>::deserialize(deserializer)?
        .map(|text| TraceParent::parse(&text).map_err(serde::de::Error::custom))
        .transpose()
}

fn traceparent_text<S: serde::Serializer>(
    value: &Option<TraceParent>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(parent) => serializer.serialize_str(&parent.to_string()),
        None => serializer.serialize_none(),
    }
}

/// The rules an event triggers, in configuration order: enabled, naming the event's object type
/// and event type, and whose conditions hold for the event's `data`. As in NetBox, each match
/// becomes its own job, so two rules for one webhook send twice.
pub fn matching_rules<'a, 'e>(
    rules: &'a [EventRuleConfig],
    event: &'e Event,
) -> impl Iterator<Item = &'a EventRuleConfig> + 'e
where
    'a: 'e,
{
    let event_type = event.event_type.as_str();
    rules.iter().filter(move |rule| {
        rule.enabled
            && rule.object_types.contains(&event.object_type)
            && rule.event_types.iter().any(|t| t == event_type)
            && rule_conditions_hold(rule, &event.data)
    })
}

/// Evaluates a rule's conditions. A rule whose conditions did not parse (which `validate`
/// reports at load) never matches.
fn rule_conditions_hold(rule: &EventRuleConfig, data: &Value) -> bool {
    match rule.conditions.as_ref().map(|c| c.parsed()) {
        None => true,
        Some(Ok(set)) => conditions::matches_rule(&rule.name, Some(set), data),
        Some(Err(error)) => {
            tracing::warn!(rule = %rule.name, %error, "event rule conditions are invalid; the rule does not match");
            false
        }
    }
}

/// The `data` a rule's job carries: `{**action_data, **data}` as NetBox builds it, so the
/// rule's `action_data` keys appear at the top level and the object's own keys win. Data that is
/// not an object cannot be merged into and is returned unchanged; absent (null) data becomes the
/// action data alone.
pub fn merged_data(rule: &EventRuleConfig, event: &Event) -> Value {
    let extra = match &rule.action_data {
        Some(Value::Object(extra)) if !extra.is_empty() => extra,
        _ => return event.data.clone(),
    };
    match &event.data {
        Value::Object(data) => {
            let mut merged: Map<String, Value> = extra.clone();
            for (key, value) in data {
                merged.insert(key.clone(), value.clone());
            }
            Value::Object(merged)
        }
        Value::Null => Value::Object(extra.clone()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(toml_text: &str) -> Vec<EventRuleConfig> {
        #[derive(Deserialize)]
        struct File {
            event_rules: Vec<EventRuleConfig>,
        }
        toml::from_str::<File>(toml_text).unwrap().event_rules
    }

    fn site(status: &str) -> Event {
        serde_json::from_value(json!({
            "object_type": "dcim.site",
            "event": "created",
            "data": {"id": 1, "name": "a", "status": {"value": status}, "foo": "object"},
        }))
        .unwrap()
    }

    #[test]
    fn events_read_either_key_and_refuse_unknown_keys() {
        let a: Event = serde_json::from_str(
            r#"{"object_type":"dcim.site","event_type":"object_updated","data":{}}"#,
        )
        .unwrap();
        assert_eq!(a.event_type, EventType::ObjectUpdated);
        let b: Event =
            serde_json::from_str(r#"{"object_type":"dcim.site","event":"deleted","data":{}}"#)
                .unwrap();
        assert_eq!(b.event_type, EventType::ObjectDeleted);
        let no_data = parse_json(br#"{"object_type":"dcim.site","event":"deleted"}"#);
        assert_eq!(no_data.unwrap_err(), "missing field `data` (column 45)");
        assert!(serde_json::from_str::<Event>(
            r#"{"object_type":"dcim.site","event":"deleted","dta":{}}"#
        )
        .is_err());
        assert!(serde_json::from_str::<Event>(
            r#"{"object_type":"dcim.site","event":"deleted","event_type":"deleted"}"#
        )
        .is_err());
        // Serializing writes the long name under `event_type`.
        let text = serde_json::to_string(&b).unwrap();
        assert_eq!(
            text,
            r#"{"object_type":"dcim.site","event_type":"object_deleted","data":{}}"#
        );
    }

    #[test]
    fn rules_match_on_enabled_type_event_and_conditions() {
        let rules = rules(
            r#"
            [[event_rules]]
            name = "active sites"
            object_types = ["dcim.site"]
            event_types = ["created", "object_updated"]
            conditions = { attr = "status.value", value = "active" }
            webhook = "h"

            [[event_rules]]
            name = "all sites, disabled"
            object_types = ["dcim.site"]
            event_types = ["object_created"]
            enabled = false
            webhook = "h"

            [[event_rules]]
            name = "devices"
            object_types = ["dcim.device"]
            event_types = ["object_created"]
            webhook = "h"

            [[event_rules]]
            name = "site deletes"
            object_types = ["dcim.site", "dcim.device"]
            event_types = ["deleted"]
            webhook = "h"

            [[event_rules]]
            name = "any site create"
            object_types = ["dcim.site"]
            event_types = ["created"]
            webhook = "h"

            [[event_rules]]
            name = "broken path"
            object_types = ["dcim.site"]
            event_types = ["created"]
            conditions = { attr = "nope.value", value = "active" }
            webhook = "h"
            "#,
        );
        let names = |event: &Event| -> Vec<&str> {
            matching_rules(&rules, event)
                .map(|r| r.name.as_str())
                .collect()
        };
        assert_eq!(names(&site("active")), ["active sites", "any site create"]);
        assert_eq!(names(&site("planned")), ["any site create"]);
        let mut deleted = site("active");
        deleted.event_type = EventType::ObjectDeleted;
        assert_eq!(names(&deleted), ["site deletes"]);
    }

    #[test]
    fn merged_data_lets_the_object_win() {
        let rule = &rules(
            r#"
            [[event_rules]]
            name = "r"
            object_types = ["dcim.site"]
            event_types = ["created"]
            webhook = "h"
            action_data = { foo = 1, extra = "x" }
            "#,
        )[0];
        let merged = merged_data(rule, &site("active"));
        assert_eq!(merged["foo"], json!("object"));
        assert_eq!(merged["extra"], json!("x"));
        assert_eq!(merged["id"], json!(1));
        // Action data keys come first, then the object's own keys, as `{**a, **d}` orders them.
        let keys: Vec<&String> = merged.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["foo", "extra", "id", "name", "status"]);

        let mut empty = site("active");
        empty.data = Value::Null;
        assert_eq!(merged_data(rule, &empty), json!({"foo": 1, "extra": "x"}));
    }

    #[test]
    fn merged_data_without_action_data_is_the_data() {
        let rule = &rules(
            r#"
            [[event_rules]]
            name = "r"
            object_types = ["dcim.site"]
            event_types = ["created"]
            webhook = "h"
            "#,
        )[0];
        let event = site("active");
        assert_eq!(merged_data(rule, &event), event.data);
    }
}
