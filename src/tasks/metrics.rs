//! `GET /metrics` in Prometheus's text format: what Redis knows (workers, queues, circuits,
//! jobs waiting), read at scrape time under django-rq's names where it has them, and, in a
//! worker, the process's own metrics (see [`crate::metrics`]).

use prometheus::{CounterVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use redis::aio::ConnectionLike;

use super::{stats, TaskResult};
use crate::{config::Settings, pipeline::limits};

/// The metrics text: Redis's view, and the process's own when `process` (a worker).
pub async fn render<C: ConnectionLike>(
    conn: &mut C,
    settings: &Settings,
    process: bool,
) -> TaskResult<String> {
    let registry = Registry::new();
    let overview = stats::overview(conn).await?;
    let gauge = |name: &str, help: &str, labels: &[&str]| {
        let vec = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
        registry
            .register(Box::new(vec.clone()))
            .expect("unique name");
        vec
    };
    let counter = |name: &str, help: &str, labels: &[&str]| {
        let vec = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
        registry
            .register(Box::new(vec.clone()))
            .expect("unique name");
        vec
    };
    let workers = gauge(
        "rq_workers",
        "RQ workers, one per worker.",
        &["name", "state", "queues"],
    );
    let successful = counter(
        "rq_job_successful_total",
        "Jobs each worker finished.",
        &["name", "queues"],
    );
    let failed = counter(
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
    for worker in &overview.workers {
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
    let jobs = gauge(
        "rq_jobs",
        "RQ jobs by queue and status.",
        &["queue", "status"],
    );
    let mut deferred = 0;
    for queue in &overview.queues {
        for status in super::jobs::ListStatus::ALL {
            jobs.with_label_values(&[&queue.name, status.as_str()])
                .set(queue.count(status) as i64);
        }
        deferred += queue.deferred;
    }
    let names: Vec<&str> = settings.webhooks.iter().map(|w| w.name.as_str()).collect();
    let states = limits::states(conn, &names).await?;
    let circuit = gauge(
        "manage_circuit_state",
        "Each webhook's circuit: 0 closed, 1 half open (probing), 2 open, 3 gone (410, until reset).",
        &["webhook"],
    );
    let mut for_limits = 0;
    for (name, state) in names.iter().zip(&states) {
        let value = match state.circuit.as_str() {
            "half_open" => 1,
            "open" => 2,
            "gone" => 3,
            _ => 0,
        };
        circuit.with_label_values(&[name]).set(value);
        for_limits += state.waiting;
    }
    let waiting = gauge(
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
    let mut families = registry.gather();
    if process {
        families.extend(crate::metrics::metrics().gather());
    }
    Ok(crate::metrics::encode(&families))
}
