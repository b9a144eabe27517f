//! `GET /metrics` in Prometheus's text format: what Redis knows (workers, queues, circuits,
//! jobs waiting), read at scrape time under django-rq's names where it has them, and, in a
//! worker, the process's own metrics (see [`crate::metrics`]).

use prometheus::{CounterVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use redis::aio::ConnectionLike;

use super::{stats, TaskError, TaskResult};

/// How long a scrape waits for Redis.
const READ_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);
use crate::{config::Settings, pipeline::limits};

/// The metrics text: Redis's view, and the process's own when `process` (a worker).
/// `manage_redis_up` says whether Redis answered the scrape. A worker whose Redis is away still
/// serves its own counters (an outage must not blank the deliveries and durations it had);
/// without them there is nothing to serve, and the error is returned.
pub async fn render<C: ConnectionLike>(
    conn: &mut C,
    settings: &Settings,
    process: bool,
) -> TaskResult<String> {
    let registry = Registry::new();
    // Within a scrape's time (Prometheus gives up after 10 s by default), even when Redis hangs.
    let read = tokio::time::timeout(READ_WITHIN, from_redis(&registry, conn, settings))
        .await
        .unwrap_or_else(|_| {
            Err(TaskError::Refused(format!(
                "Redis did not answer within {} s",
                READ_WITHIN.as_secs()
            )))
        });
    let status = Registry::new();
    gauge(
        &status,
        "manage_redis_up",
        "1 when Redis answered this scrape, 0 when it did not (only the process's own metrics follow).",
        &[],
    )
    .with_label_values(&[] as &[&str])
    .set(i64::from(read.is_ok()));
    let mut families = match read {
        Ok(()) => registry.gather(),
        Err(error) if !process => return Err(error),
        Err(_) => Vec::new(),
    };
    families.extend(status.gather());
    if process {
        families.extend(crate::metrics::metrics().gather());
    }
    families.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(crate::metrics::encode(&families))
}

/// Registers in `registry` what Redis knows: workers, jobs by queue and status, circuits, and
/// jobs waiting.
async fn from_redis<C: ConnectionLike>(
    registry: &Registry,
    conn: &mut C,
    settings: &Settings,
) -> TaskResult<()> {
    let overview = stats::overview(conn).await?;
    let names: Vec<&str> = settings.webhooks.iter().map(|w| w.name.as_str()).collect();
    let states = limits::states(conn, &names).await?;
    workers(registry, &overview.workers);
    let deferred = jobs(registry, &overview.queues);
    let for_limits = circuits(registry, &names, &states);
    let waiting = gauge(
        registry,
        "manage_jobs_waiting",
        "Deferred jobs by what they wait for: the end of an earlier delivery of the same object (order), or a webhook's limits or circuit (limits).",
        &["reason"],
    );
    waiting
        .with_label_values(&["limits"])
        .set(for_limits as i64);
    waiting
        .with_label_values(&["order"])
        .set(deferred.saturating_sub(for_limits) as i64);
    Ok(())
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let vec = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(vec.clone()))
        .expect("unique name");
    vec
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let vec = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(vec.clone()))
        .expect("unique name");
    vec
}

/// django-rq's worker metrics, one series per worker.
fn workers(registry: &Registry, all: &[super::workers::WorkerInfo]) {
    let workers = gauge(
        registry,
        "rq_workers",
        "RQ workers, one per worker.",
        &["name", "state", "queues"],
    );
    let successful = counter(
        registry,
        "rq_job_successful_total",
        "Jobs each worker finished.",
        &["name", "queues"],
    );
    let failed = counter(
        registry,
        "rq_job_failed_total",
        "Jobs each worker failed.",
        &["name", "queues"],
    );
    let working = CounterVec::new(
        Opts::new(
            "rq_working_seconds_total",
            "Seconds each worker spent running jobs.",
        ),
        &["name", "queues"],
    )
    .expect("valid metric");
    registry
        .register(Box::new(working.clone()))
        .expect("unique name");
    for worker in all {
        let queues = worker.queues.join(",");
        workers
            .with_label_values(&[&worker.name, &worker.state, &queues])
            .set(1);
        let labels = [worker.name.as_str(), queues.as_str()];
        successful
            .with_label_values(&labels)
            .inc_by(worker.successes);
        failed.with_label_values(&labels).inc_by(worker.failures);
        working
            .with_label_values(&labels)
            .inc_by(worker.total_working_time.max(0.0));
    }
}

/// `rq_jobs{queue,status}`; returns how many jobs are deferred in all.
fn jobs(registry: &Registry, queues: &[stats::QueueStats]) -> u64 {
    let jobs = gauge(
        registry,
        "rq_jobs",
        "RQ jobs by queue and status.",
        &["queue", "status"],
    );
    let mut deferred = 0;
    for queue in queues {
        for status in super::jobs::ListStatus::ALL {
            jobs.with_label_values(&[&queue.name, status.as_str()])
                .set(queue.count(status) as i64);
        }
        deferred += queue.deferred;
    }
    deferred
}

/// `manage_circuit_state{webhook}`; returns how many jobs wait for limits or a circuit.
fn circuits(registry: &Registry, names: &[&str], states: &[limits::State]) -> u64 {
    let circuit = gauge(
        registry,
        "manage_circuit_state",
        "Each webhook's circuit: 0 closed, 1 half open (probing), 2 open, 3 gone (410, until reset).",
        &["webhook"],
    );
    let mut for_limits = 0;
    for (name, state) in names.iter().zip(states) {
        let value = match state.circuit.as_str() {
            "half_open" => 1,
            "open" => 2,
            "gone" => 3,
            _ => 0,
        };
        circuit.with_label_values(&[name]).set(value);
        for_limits += state.waiting;
    }
    for_limits
}
