//! The webhook pipeline: where the pure [`webhooks`](crate::webhooks) logic meets Redis (through
//! [`rq`](crate::rq)) and HTTP. It is the only module that does.
//!
//! - [`lines`]: many events as JSON lines, parsed on every core.
//! - [`enqueue`]: events to jobs: each rule an event matches becomes one
//!   `extras.webhooks.send_webhook` job, written as Python RQ writes jobs.
//! - [`deliver`]: [`Deliveries`], the job function that renders, signs and sends a webhook and
//!   turns the answer into the job's outcome. [`worker_functions`] is how a worker gets it.

pub mod deliver;
pub mod enqueue;
pub mod lines;

pub use deliver::Deliveries;
pub use enqueue::{enqueue_bulk, enqueue_events, jobs_for_event, BulkError, EnqueuedJob, Routing};

use crate::{
    http::HttpSettings,
    rq::functions::Functions,
    webhooks::{WebhookConfig, SEND_WEBHOOK},
};

/// The job functions of a worker that delivers these webhooks: the built-in ones and
/// `extras.webhooks.send_webhook`. Fails, naming the webhook, when one cannot be prepared (a
/// CA file that cannot be read, say).
pub fn worker_functions(
    webhooks: &[WebhookConfig],
    http: &HttpSettings,
) -> Result<Functions, String> {
    let deliveries = Deliveries::new(webhooks, http)?;
    Ok(Functions::builtin().register(SEND_WEBHOOK, deliveries))
}
