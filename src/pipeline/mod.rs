//! The webhook pipeline: where the pure [`webhooks`](crate::webhooks) logic meets Redis (through
//! [`rq`](crate::rq)) and HTTP. It is the only module that does.
//!
//! - [`lines`]: many events as JSON lines, parsed on every core.
//! - [`batcher`]: events of many concurrent callers enqueued together (the event gateway).
//! - [`enqueue`]: events to jobs: each rule an event matches becomes one
//!   `extras.webhooks.send_webhook` job, written as Python RQ writes jobs; one object's jobs to
//!   one webhook form a chain, each waiting for the one before.
//! - [`deliver`]: [`Deliveries`], the job function that renders, signs and sends a webhook and
//!   turns the answer into the job's outcome; [`request`] sends and reads the answer.
//! - [`limits`]: `max_in_flight`, `rate_limit` and the circuit breaker, across all workers.
//! - [`history`]: what is kept of each attempt, written in batches.
//! - [`keys`], [`scripts`]: the pipeline's own Redis keys and Lua scripts.
//!
//! [`Delivering`] is how `manage rqworker` gets the job functions and the work beside them.

pub mod batcher;
pub mod deliver;
pub mod enqueue;
pub mod history;
pub mod keys;
pub mod limits;
pub mod lines;
pub mod request;
pub mod scripts;

pub use deliver::Deliveries;
pub use enqueue::{enqueue_bulk, enqueue_events, jobs_for_event, BulkError, EnqueuedJob, Routing};

use crate::{
    http::HttpSettings,
    redis_conn::RedisConn,
    rq::functions::Functions,
    webhooks::{WebhookConfig, SEND_WEBHOOK},
};

/// Webhook delivery in a worker: the job functions (the built-in ones and
/// `extras.webhooks.send_webhook`), the periodic work beside them, and the history writer.
pub struct Delivering {
    deliveries: Deliveries,
    history: tokio::task::JoinHandle<()>,
    log_days: Option<u64>,
}

impl Delivering {
    /// Prepares every webhook (fails, naming the webhook, when one cannot be prepared: a CA file
    /// that cannot be read, say) and starts the history writer on `conn`.
    pub fn start(
        webhooks: &[WebhookConfig],
        http: &HttpSettings,
        history: &history::HistorySettings,
        conn: RedisConn,
    ) -> Result<Self, String> {
        let log_days = history.enabled.then_some(history.days);
        let (recorder, history) = history::Recorder::start(conn.clone(), history.clone());
        let deliveries = Deliveries::new(webhooks, http, conn, recorder);
        match deliveries {
            Ok(deliveries) => Ok(Self {
                deliveries,
                history,
                log_days,
            }),
            Err(error) => {
                history.abort();
                Err(error)
            }
        }
    }

    /// The names of the job functions a worker that delivers webhooks runs, for those who ask
    /// without starting one (`manage check`).
    pub fn function_names() -> Vec<String> {
        let mut names: Vec<String> = Functions::builtin()
            .names()
            .into_iter()
            .map(str::to_string)
            .collect();
        names.push(SEND_WEBHOOK.to_string());
        names
    }

    /// The job functions of a worker that delivers these webhooks.
    pub fn functions(&self) -> Functions {
        Functions::builtin().register(SEND_WEBHOOK, self.deliveries.clone())
    }

    /// The work beside deliveries for worker `name` (sweeping the limited webhooks, publishing
    /// deliveries in flight); runs until aborted.
    pub fn keep_up(&self, name: String) -> impl std::future::Future<Output = ()> + Send + 'static {
        deliver::keep_up(self.deliveries.clone(), name, self.log_days)
    }

    /// Whether jobs of the limited webhooks wait (so a burst worker stays for them).
    pub fn pending(&self) -> crate::rq::worker::Pending {
        let limits = std::sync::Arc::new(self.deliveries.limits());
        std::sync::Arc::new(move |mut conn| {
            let limits = limits.clone();
            Box::pin(async move {
                limits::any_waiting(&mut conn, &limits)
                    .await
                    .unwrap_or(true)
            })
        })
    }

    /// Waits until every attempt recorded so far is written (call once the worker has stopped).
    pub async fn finish(self) {
        drop(self.deliveries);
        if let Err(error) = self.history.await {
            tracing::warn!("the delivery history writer stopped: {error}");
        }
    }
}
