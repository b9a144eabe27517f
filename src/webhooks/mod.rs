//! Webhooks as pure logic, in the order an event travels: [`event`] finds the rules an event
//! triggers and the data each job carries; [`conditions`] is NetBox's condition language those
//! rules use; [`config`] holds the `[[webhooks]]` and `[[event_rules]]` entries and checks them;
//! [`render`] turns a webhook and a context into the URL, headers and body (with
//! [`crate::python`] writing values as Python does); [`sign`] adds the signature headers. Nothing
//! here touches Redis or the network.

pub mod conditions;
pub mod config;
pub mod event;
pub mod jinja;
pub mod render;
pub mod sign;

pub use conditions::{matches, ConditionError, ConditionSet, InvalidCondition};
pub use config::{validate, EventRuleConfig, HttpMethod, RetryConfig, Signing, WebhookConfig};
pub use event::{matching_rules, merged_data, Event, EventType};
pub use render::{
    check_template, CompiledWebhook, RenderError, RenderedRequest, TemplateField, WebhookContext,
};
pub use sign::Signer;
pub mod deliver;
pub mod enqueue;

pub use enqueue::{enqueue_bulk, enqueue_event, enqueue_events, jobs_for_event, BulkError};

/// The job timeout of webhook jobs, in seconds (NetBox's `RQ_DEFAULT_TIMEOUT`); every webhook's
/// HTTP timeout must be below it.
pub const JOB_TIMEOUT_SECS: u64 = 300;
/// The job function that delivers a webhook, named as NetBox names it so that Python RQ
/// workers and producers interoperate.
pub const SEND_WEBHOOK: &str = "extras.webhooks.send_webhook";
