//! The process's own metrics, in Prometheus's model: jobs in flight, how long jobs waited in
//! their queue, deliveries by webhook and outcome, and delivery durations. Recording is a few
//! atomic operations; `GET /metrics` adds what Redis knows (workers, queues, circuits) at
//! scrape time. Names follow django-rq's exporter where it has one, `manage_` otherwise.

use std::sync::LazyLock;

use prometheus::{
    proto::MetricFamily, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry,
};

/// Delivery and wait durations fall in these buckets (seconds).
pub const SECONDS_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Every metric this process records.
pub struct Metrics {
    registry: Registry,
    /// `manage_jobs_in_flight`: jobs this worker process runs now.
    pub jobs_in_flight: IntGauge,
    /// `manage_job_wait_seconds{queue}`: from (re)enqueued to started.
    pub job_wait: HistogramVec,
    /// `manage_deliveries_total{webhook,outcome,status_class}`: attempts by how they ended.
    pub deliveries: IntCounterVec,
    /// `manage_delivery_duration_seconds{webhook}`: how long the requests took.
    pub delivery_duration: HistogramVec,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        let jobs_in_flight = IntGauge::new(
            "manage_jobs_in_flight",
            "Jobs this worker process is running now.",
        )
        .expect("valid metric");
        let job_wait = HistogramVec::new(
            HistogramOpts::new(
                "manage_job_wait_seconds",
                "Time from a job's (re)enqueue to its start, by queue.",
            )
            .buckets(SECONDS_BUCKETS.to_vec()),
            &["queue"],
        )
        .expect("valid metric");
        let deliveries = IntCounterVec::new(
            Opts::new(
                "manage_deliveries_total",
                "Webhook delivery attempts by webhook, outcome (delivered, failed) and status class (2xx, 3xx, 4xx, 5xx, error).",
            ),
            &["webhook", "outcome", "status_class"],
        )
        .expect("valid metric");
        let delivery_duration = HistogramVec::new(
            HistogramOpts::new(
                "manage_delivery_duration_seconds",
                "How long webhook requests took, by webhook.",
            )
            .buckets(SECONDS_BUCKETS.to_vec()),
            &["webhook"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(jobs_in_flight.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(job_wait.clone()),
            Box::new(deliveries.clone()),
            Box::new(delivery_duration.clone()),
        ] {
            registry.register(collector).expect("unique metric names");
        }
        Self {
            registry,
            jobs_in_flight,
            job_wait,
            deliveries,
            delivery_duration,
        }
    }

    /// Everything recorded so far.
    pub fn gather(&self) -> Vec<MetricFamily> {
        self.registry.gather()
    }
}

/// `families` in Prometheus's text format.
pub fn encode(families: &[MetricFamily]) -> String {
    let mut out = String::new();
    prometheus::TextEncoder::new()
        .encode_utf8(families, &mut out)
        .expect("metrics encode");
    out
}
