//! The Redis keys of the pipeline's own, beside RQ's (prefix `manage:`; RQ's tools never read
//! them): each webhook's circuit and limits, its delivery log, and each worker's count of
//! deliveries in flight.

use crate::rq::keys::OWN_PREFIX;

/// `manage:webhook:<name>`: the webhook's hash (circuit, failures in a row, last status), and
/// the prefix of its `:leases`, `:waiting`, `:timed` and `:rate` keys (see `lua/limits_lib.lua`).
pub fn webhook(name: &str) -> String {
    format!("{OWN_PREFIX}webhook:{name}")
}

/// `manage:webhook:<name>:waiting`: jobs waiting for a free slot or a closed circuit.
pub fn waiting(name: &str) -> String {
    format!("{}:waiting", webhook(name))
}

/// `manage:webhook:<name>:timed`: jobs waiting for their rate-limit slot.
pub fn timed(name: &str) -> String {
    format!("{}:timed", webhook(name))
}

/// `manage:webhook:<name>:leases`: deliveries in flight, when the webhook has `max_in_flight`.
pub fn leases(name: &str) -> String {
    format!("{}:leases", webhook(name))
}

/// `manage:deliveries:<name>`: the webhook's delivery log, a stream of its newest attempts.
pub fn deliveries(name: &str) -> String {
    format!("{OWN_PREFIX}deliveries:{name}")
}

/// `manage:stats:<name>:<hour>`: the webhook's counts by minute and its duration histogram for
/// the hour starting at unix second `hour`.
pub fn stats(name: &str, hour: i64) -> String {
    format!("{OWN_PREFIX}stats:{name}:{hour}")
}

/// `manage:inflight:<worker>`: a worker's deliveries in flight per webhook, refreshed while it
/// runs.
pub fn in_flight(worker: &str) -> String {
    format!("{OWN_PREFIX}inflight:{worker}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sit_beside_rqs() {
        assert_eq!(webhook("site-hook"), "manage:webhook:site-hook");
        assert_eq!(waiting("a b"), "manage:webhook:a b:waiting");
        assert_eq!(in_flight("w1"), "manage:inflight:w1");
    }
}
