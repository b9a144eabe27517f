//! Settings as data for display: secrets replaced, and the difference from the defaults.

use serde_json::{Map, Value};

use super::Settings;

/// Keys whose values are never shown: these, and any key ending in one (`netbox_secret`).
const SECRET_KEYS: &[&str] = &["secret", "token", "password"];

fn is_secret(key: &str) -> bool {
    SECRET_KEYS.iter().any(|secret| key.ends_with(secret))
}

/// The settings as JSON with every secret replaced by `********` and URL passwords masked.
pub fn redacted(settings: &Settings) -> serde_json::Result<Value> {
    let mut value = serde_json::to_value(settings)?;
    hide(&mut value);
    Ok(value)
}

fn hide(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, entry) in map.iter_mut() {
                match entry {
                    Value::String(s) if is_secret(key) && !s.is_empty() => *s = "********".into(),
                    Value::String(s) if key.ends_with("url") => {
                        *s = crate::redis_url::mask_password(s)
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
