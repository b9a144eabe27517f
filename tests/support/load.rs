//! Webhook load for the reliability tests: a project whose one rule sends every `dcim.site`
//! change to an endpoint, events enqueued in bulk with `enqueue_event --lines`, each with its
//! own `request_id`, and deliveries counted by that id at the receiver.

use std::{collections::HashMap, path::Path, process::Output};

use super::{
    endpoint::Endpoint,
    hooks::{hook, project_at, rule},
};

/// A project directory whose manage.toml points at `redis_url` and sends every site event to
/// `endpoint`.
pub fn project(redis_url: &str, endpoint: &Endpoint) -> tempfile::TempDir {
    let url = format!("{}/hook", endpoint.base());
    project_at(redis_url, &(hook("load", &url, "") + &rule("load", "")))
}

/// The request id of event number `i` in a batch named `batch`.
pub fn request_id(batch: &str, i: usize) -> String {
    format!("{batch}-{i}")
}

/// Runs `manage enqueue_event --lines` in `dir` with events `range` of `batch`, one job each.
pub fn enqueue(dir: &Path, batch: &str, range: std::ops::Range<usize>) -> Output {
    let mut lines = String::with_capacity(range.len() * 120);
    for i in range {
        lines.push_str(&format!(
            "{{\"object_type\": \"dcim.site\", \"event\": \"updated\", \"data\": {{\"id\": {i}, \"name\": \"site {i}\"}}, \"request_id\": \"{}\"}}\n",
            request_id(batch, i)
        ));
    }
    super::run_with_input(
        super::manage(dir).args(["-v", "0", "enqueue_event", "--lines"]),
        lines.as_bytes(),
    )
}

/// [`enqueue`], which must succeed.
pub fn enqueued(dir: &Path, batch: &str, range: std::ops::Range<usize>) {
    let out = enqueue(dir, batch, range);
    assert!(out.status.success(), "{}", super::stderr(&out));
}

/// How many times the endpoint got each request id.
pub fn deliveries(endpoint: &Endpoint) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for request in endpoint.requests() {
        let id = request.json()["request_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// Request ids of `batch` numbers `range` that never arrived.
pub fn missing(
    counts: &HashMap<String, usize>,
    batch: &str,
    range: std::ops::Range<usize>,
) -> Vec<String> {
    range
        .map(|i| request_id(batch, i))
        .filter(|id| !counts.contains_key(id))
        .collect()
}

/// How many request ids arrived more than once.
pub fn twice(counts: &HashMap<String, usize>) -> usize {
    counts.values().filter(|n| **n > 1).count()
}
