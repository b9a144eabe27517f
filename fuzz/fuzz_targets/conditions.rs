//! Event-rule conditions: any JSON conditions parse or are refused, and a parsed set evaluates
//! against any JSON data to a result or an error; never a panic.
//! Input: conditions JSON, a NUL byte, data JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use manage::webhooks::ConditionSet;
use serde_json::Value;

fuzz_target!(|input: &[u8]| {
    let mut parts = input.splitn(2, |b| *b == 0);
    let conditions = parts.next().unwrap_or_default();
    let data = parts.next().unwrap_or_default();
    let Ok(conditions) = serde_json::from_slice::<Value>(conditions) else {
        return;
    };
    let data = serde_json::from_slice::<Value>(data).unwrap_or(Value::Null);
    if let Ok(set) = ConditionSet::parse(&conditions) {
        let _ = set.eval(&data);
    }
});
