//! Per-webhook isolation: `max_in_flight`, `rate_limit` and the circuit breaker, enforced across
//! every worker on one Redis. A delivery asks [`Limits::gate`] before it sends; one that may
//! not start waits as a deferred job (it uses no retry) and goes back to the front of its queue
//! when a slot frees, its rate slot comes, or the circuit closes. [`Limits::done`] records each
//! attempt's end; [`sweep`] is the periodic pass that makes the waiting robust to crashed
//! workers and lost wake-ups. State lives in the keys of [`super::keys`].

use redis::aio::ConnectionLike;
use serde::Serialize;

use super::{keys, scripts};
use crate::{
    rq::{functions::Park, keys as rq_keys, timestamp},
    webhooks::{WebhookConfig, JOB_TIMEOUT_SECS},
};

/// Seconds a delivery's slot (or its probe) is held at most: the job timeout and a minute, so a
/// worker that died mid-delivery gives its slot back by itself.
pub const LEASE_SECS: u64 = JOB_TIMEOUT_SECS + 60;

/// One webhook's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    webhook: String,
    prefix: String,
    max_in_flight: u32,
    interval: f64,
    breaker_failures: u32,
    breaker_open: u64,
}

/// Whether a delivery may start.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Yes; it holds a slot until [`Limits::done`].
    Go,
    /// Not now: where it waits and why.
    Wait(Park, String),
}

/// How an attempt ended, for the circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A 2XX answer.
    Ok,
    /// Any other answer, or none.
    Failed,
    /// `410 Gone`: the endpoint says it is gone for good.
    Gone,
    /// Interrupted before an answer (timeout of the job, stop, shutdown): frees the slot only.
    Aborted,
}

impl Ending {
    fn as_str(self) -> &'static str {
        match self {
            Ending::Ok => "ok",
            Ending::Failed => "fail",
            Ending::Gone => "gone",
            Ending::Aborted => "aborted",
        }
    }
}

impl Limits {
    /// The limits a webhook has, or `None` when it has none (then nothing is checked, at no cost).
    pub fn of(webhook: &WebhookConfig) -> Option<Self> {
        webhook.limited().then(|| Self::circuit(webhook))
    }

    /// The webhook's limits and circuit, whether or not it has any limit: a webhook without
    /// limits still has a circuit that a `410 Gone` opens until it is reset.
    pub fn circuit(webhook: &WebhookConfig) -> Self {
        Self {
            webhook: webhook.name.clone(),
            prefix: keys::webhook(&webhook.name),
            max_in_flight: webhook.max_in_flight,
            interval: if webhook.rate_limit > 0.0 {
                1.0 / webhook.rate_limit
            } else {
                0.0
            },
            breaker_failures: webhook.breaker_failures,
            breaker_open: webhook.breaker_open,
        }
    }

    /// Asks whether job `id` may deliver now.
    pub async fn gate<C: ConnectionLike>(
        &self,
        conn: &mut C,
        id: &str,
    ) -> redis::RedisResult<Gate> {
        let reply: Vec<String> = scripts::GATE
            .prepare_invoke()
            .arg(&self.prefix)
            .arg(id)
            .arg(self.max_in_flight)
            .arg(self.interval)
            .arg(self.breaker_failures)
            .arg(LEASE_SECS)
            .invoke_async(conn)
            .await?;
        Ok(match reply.as_slice() {
            [wait, key, until, why] if wait == "wait" => Gate::Wait(
                Park {
                    key: key.clone(),
                    until: until.parse().unwrap_or(0.0),
                },
                self.reason(why),
            ),
            _ => Gate::Go,
        })
    }

    fn reason(&self, why: &str) -> String {
        let why = match why {
            "rate_limit" => format!("rate_limit ({} a second)", 1.0 / self.interval),
            "max_in_flight deliveries are under way" => {
                format!(
                    "{} (max_in_flight) deliveries are under way",
                    self.max_in_flight
                )
            }
            other => other.to_string(),
        };
        format!("webhook {} waits: {why}", self.webhook)
    }

    /// Records the end of job `id`'s attempt (`status`: the answer's status or the error, shown
    /// by `manage webhooks`); returns the circuit after it.
    pub async fn done<C: ConnectionLike>(
        &self,
        conn: &mut C,
        id: &str,
        ending: Ending,
        status: &str,
    ) -> redis::RedisResult<String> {
        let (before, after): (String, String) = scripts::DONE
            .prepare_invoke()
            .arg(&self.prefix)
            .arg(id)
            .arg(ending.as_str())
            .arg(status)
            .arg(self.max_in_flight)
            .arg(self.breaker_failures)
            .arg(self.breaker_open)
            .arg(timestamp::now())
            .invoke_async(conn)
            .await?;
        self.log_transition(&before, &after, status);
        Ok(after)
    }

    /// One log line when the circuit moves (the script that moved it is the only one that
    /// knows), so an outage is one warning rather than one per waiting job.
    fn log_transition(&self, before: &str, after: &str, status: &str) {
        let webhook = &self.webhook;
        match (before, after) {
            (before, "gone") if before != "gone" => tracing::warn!(
                "webhook {webhook}: the endpoint answered {status} (gone); its deliveries wait \
                 until `manage webhooks --reset {webhook}`"
            ),
            ("closed", "open") => tracing::warn!(
                "webhook {webhook}: circuit open after {} failed attempts in a row (last: \
                 {status}); its deliveries wait, one probe in {} s",
                self.breaker_failures,
                self.breaker_open
            ),
            ("half_open", "open") => tracing::warn!(
                "webhook {webhook}: the probe failed ({status}); the circuit stays open, next \
                 probe in {} s",
                self.breaker_open
            ),
            ("open" | "half_open", "closed") => tracing::warn!(
                "webhook {webhook}: circuit closed (a delivery answered {status}); waiting \
                 deliveries go on"
            ),
            _ => {}
        }
    }
}

/// The periodic pass over `limits` (see `lua/sweep.lua`); returns how many waiting jobs went
/// back on their queues.
pub async fn sweep<C: ConnectionLike>(conn: &mut C, limits: &[Limits]) -> redis::RedisResult<u64> {
    if limits.is_empty() {
        return Ok(0);
    }
    let mut invocation = scripts::SWEEP.prepare_invoke();
    invocation.arg(timestamp::now());
    for limit in limits {
        invocation
            .arg(&limit.prefix)
            .arg(limit.max_in_flight)
            .arg(LEASE_SECS);
    }
    invocation.invoke_async(conn).await
}

/// Whether any of `limits` has jobs waiting (for a slot, a rate slot or a closed circuit).
pub async fn any_waiting<C: ConnectionLike>(
    conn: &mut C,
    limits: &[Limits],
) -> redis::RedisResult<bool> {
    if limits.is_empty() {
        return Ok(false);
    }
    let mut pipe = redis::pipe();
    for limit in limits {
        pipe.zcard(format!("{}:waiting", limit.prefix))
            .zcard(format!("{}:timed", limit.prefix));
    }
    let counts: Vec<u64> = pipe.query_async(conn).await?;
    Ok(counts.iter().any(|n| *n > 0))
}

/// What `manage webhooks` shows of one webhook's state in Redis.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct State {
    /// `closed`, `open`, `half_open` (a probe is under way) or `gone` (410, until reset).
    pub circuit: String,
    /// Deliveries in flight, when the webhook has `max_in_flight` (else counted by workers).
    pub leases: u64,
    /// Jobs waiting for a slot, a rate slot or a closed circuit.
    pub waiting: u64,
    /// The last attempt's status (`200`, `503`, or the error), if any.
    pub last_status: Option<String>,
    /// When the last attempt ended (RQ timestamp).
    pub last_at: Option<String>,
    /// Failed attempts since the last success.
    pub failures: u64,
}

/// The state of each named webhook, in one round trip.
pub async fn states<C: ConnectionLike>(
    conn: &mut C,
    names: &[&str],
) -> redis::RedisResult<Vec<State>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for name in names {
        pipe.cmd("HMGET").arg(keys::webhook(name)).arg(&[
            "circuit",
            "last_status",
            "last_at",
            "failures",
        ]);
        pipe.zcard(keys::leases(name));
        pipe.zcard(keys::waiting(name));
        pipe.zcard(keys::timed(name));
    }
    type Row = (
        (Option<String>, Option<String>, Option<String>, Option<u64>),
        u64,
        u64,
        u64,
    );
    let rows: Vec<Row> = pipe.query_async(conn).await?;
    Ok(rows
        .into_iter()
        .map(
            |((circuit, last_status, last_at, failures), leases, waiting, timed)| State {
                circuit: circuit.unwrap_or_else(|| "closed".into()),
                leases,
                waiting: waiting + timed,
                last_status,
                last_at,
                failures: failures.unwrap_or(0),
            },
        )
        .collect())
}

/// Closes a webhook's circuit (also one opened by `410 Gone`) and puts the jobs waiting on it
/// back on their queues at once. Returns the circuit it had.
pub async fn reset<C: ConnectionLike>(conn: &mut C, name: &str) -> redis::RedisResult<String> {
    let (before, _moved): (String, u64) = scripts::RESET
        .prepare_invoke()
        .arg(keys::webhook(name))
        .arg(timestamp::now())
        .invoke_async(conn)
        .await?;
    Ok(before)
}

/// Deliveries in flight per webhook, summed over the live workers' counts.
pub async fn in_flight<C: ConnectionLike>(
    conn: &mut C,
) -> redis::RedisResult<std::collections::HashMap<String, u64>> {
    let workers: Vec<String> = redis::cmd("SMEMBERS")
        .arg(rq_keys::WORKERS)
        .query_async(conn)
        .await?;
    if workers.is_empty() {
        return Ok(Default::default());
    }
    let mut pipe = redis::pipe();
    for worker in workers.iter().filter_map(|w| rq_keys::worker_name(w)) {
        pipe.hgetall(keys::in_flight(worker));
    }
    let counts: Vec<std::collections::HashMap<String, u64>> = pipe.query_async(conn).await?;
    let mut total = std::collections::HashMap::new();
    for (webhook, count) in counts.into_iter().flatten() {
        *total.entry(webhook).or_default() += count;
    }
    Ok(total)
}

/// Which of `names` have a circuit closed by nothing but an operator (`gone`, after a `410`).
pub async fn gone<C: ConnectionLike>(
    conn: &mut C,
    names: &[&str],
) -> redis::RedisResult<Vec<bool>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for name in names {
        pipe.hget(keys::webhook(name), "circuit");
    }
    let circuits: Vec<Option<String>> = pipe.query_async(conn).await?;
    Ok(circuits
        .into_iter()
        .map(|c| c.as_deref() == Some("gone"))
        .collect())
}
