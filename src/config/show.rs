//! Settings as data for display: secrets replaced, and the difference from the defaults.

use serde_json::{Map, Value};

use super::Settings;

/// Settings named like secrets whose values are file paths, shown so a wrong path can be seen.
const PATH_KEYS: &[&str] = &["client_key"];

/// A setting whose value is never shown: named as the redaction policy names secrets
/// (`token`, `netbox_secret`, `secret`, …), unless the value is a file's path.
fn is_secret(key: &str) -> bool {
    crate::redact::is_sensitive_name(key)
        && !PATH_KEYS.contains(&key)
        && !key.ends_with("_file")
        && !key.ends_with("_path")
}

/// The settings as JSON as the redaction policy shows them: secrets replaced by `********`,
/// every URL (`redis.url`, `http.proxy`, each `payload_url`) redacted, and the values of
/// sensitive `additional_headers` hidden.
pub fn redacted(settings: &Settings) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(settings)?;
    hide(&mut value);
    Ok(value)
}

fn hide(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // A webhook's own `redact_path` decides how much of its URL is shown.
            let redact_path = map.get("redact_path").and_then(Value::as_bool);
            for (key, entry) in map.iter_mut() {
                match entry {
                    Value::String(s) if is_secret(key) && !s.is_empty() => *s = "********".into(),
                    Value::String(s) if key == "payload_url" => {
                        *s = crate::redact::webhook_url(s, redact_path)
                    }
                    Value::String(s) if key.ends_with("url") || key == "proxy" => {
                        *s = crate::redact::url(s)
                    }
                    Value::String(s) if key == "additional_headers" => {
                        *s = crate::redact::headers_text(s)
                    }
                    other => hide(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(hide),
        _ => {}
    }
}

/// The parts of `current` that differ from `defaults`, section by section.
pub fn difference(current: &Value, defaults: &Value) -> Value {
    match (current, defaults) {
        (Value::Object(current), Value::Object(defaults)) => {
            let mut out = Map::new();
            for (key, value) in current {
                match defaults.get(key) {
                    Some(default) if default == value => {}
                    Some(default) if value.is_object() => {
                        let inner = difference(value, default);
                        if inner.as_object().is_some_and(|m| !m.is_empty()) {
                            out.insert(key.clone(), inner);
                        }
                    }
                    _ => {
                        out.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(out)
        }
        (current, _) => current.clone(),
    }
}
