//! Template rendering: any body template, URL template and event data compile or are refused,
//! and render to a request or an error; never a panic.
//! Input: body template, NUL, URL path template, NUL, data JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use manage::webhooks::{CompiledWebhook, WebhookConfig, WebhookContext};
use serde_json::{json, Value};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let mut parts = text.splitn(3, '\0');
    let body = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let data =
        serde_json::from_str::<Value>(parts.next().unwrap_or_default()).unwrap_or(Value::Null);
    let Ok(config) = serde_json::from_value::<WebhookConfig>(json!({
        "name": "fuzz",
        "payload_url": format!("http://hooks.example/{path}"),
        "body_template": body,
    })) else {
        return;
    };
    let Ok(compiled) = CompiledWebhook::new(&config) else {
        return;
    };
    let ctx = WebhookContext::new("created", "dcim.site", "2026-01-01T00:00:00+00:00", data);
    let _ = compiled.render(&ctx);
});
