//! Additional headers: any header template and event data render to headers that are safe to
//! send (no control characters, valid names) or to an error; never a panic.
//! Input: headers template, NUL, data JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use manage::webhooks::{CompiledWebhook, WebhookConfig, WebhookContext};
use serde_json::{json, Value};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let (headers, data) = text.split_once('\0').unwrap_or((text, ""));
    let data = serde_json::from_str::<Value>(data).unwrap_or(Value::Null);
    let Ok(config) = serde_json::from_value::<WebhookConfig>(json!({
        "name": "fuzz",
        "payload_url": "http://hooks.example/",
        "additional_headers": headers,
    })) else {
        return;
    };
    let Ok(compiled) = CompiledWebhook::new(&config) else {
        return;
    };
    let ctx = WebhookContext::new("created", "dcim.site", "2026-01-01T00:00:00+00:00", data);
    if let Ok(rendered) = compiled.render_headers(&ctx) {
        for (name, value) in rendered {
            assert!(
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':'),
                "{name:?}"
            );
            assert!(!value.chars().any(|c| c.is_ascii_control()), "{value:?}");
        }
    }
});
