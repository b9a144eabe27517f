//! Webhooks as pure logic, in the order an event travels: [`event`] finds the rules an event
//! triggers and the data each job carries ([`event_type`] names what happened); [`conditions`]
//! is NetBox's condition language those rules use; [`config`] holds the `[[webhooks]]` and
//! `[[event_rules]]` entries and [`validate`] checks them; [`render`] turns a webhook and a
//! context into the URL, headers and body (with [`crate::python`] writing values as Python does; [`jinja`] is the Jinja2-compatible environment);
//! [`sign`] adds the signature headers. Nothing here touches Redis or the network: given the
//! same input it returns the same bytes. [`pipeline`](crate::pipeline) joins it to Redis and HTTP.

pub mod conditions;
pub mod config;
pub mod event;
pub mod event_type;
pub mod jinja;
pub mod render;
pub mod sign;
pub mod validate;

pub use conditions::{matches, ConditionError, ConditionSet, InvalidCondition};
pub use config::{
    EventRuleConfig, HttpMethod, NetboxVersion, Ordering, RetryConfig, Signing, WebhookConfig,
};
pub use event::{matching_rules, merged_data, Event};
pub use event_type::EventType;
pub use render::{
    check_template, CompiledWebhook, RenderError, RenderedRequest, TemplateField, WebhookContext,
};
pub use sign::Signer;
pub use validate::validate;

/// The job timeout of webhook jobs, in seconds (NetBox's `RQ_DEFAULT_TIMEOUT`); every webhook's
/// HTTP timeout must be below it.
pub const JOB_TIMEOUT_SECS: u64 = 300;
/// The job function that delivers a webhook, named as NetBox names it so that Python RQ
/// workers and producers interoperate.
pub const SEND_WEBHOOK: &str = "extras.webhooks.send_webhook";
