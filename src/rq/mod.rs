//! Python RQ 2.x's Redis protocol, with RQ's JSON serializer: jobs, queues, registries, results,
//! workers. Python RQ producers, workers and tools read and write the same keys.
//!
//! - [`keys`]: every key name, built in one place.
//! - [`timestamp`], [`serializer`]: RQ's timestamp format and the JSON/zlib/base64 encodings.
//! - [`job`]: the job hash: writing new jobs, reading any job tolerantly.
//! - [`queue`]: enqueueing, one job or a batch in one round trip.
//! - [`registry`]: the started/finished/failed/… registries, counts and requeueing.
//! - [`suspension`]: `rq:suspended`, which holds every worker.
//! - [`functions`]: job functions registered by name (`manage.echo`, `extras.webhooks.send_webhook`, …).
//! - [`scripts`]: the Lua scripts that make each state change one atomic round trip.
//! - [`worker`]: `manage rqworker`'s engine.

pub mod functions;
pub mod job;
pub mod keys;
pub mod queue;
pub mod registry;
pub mod scripts;
pub mod serializer;
pub mod suspension;
pub mod timestamp;
pub mod worker;

/// RQ's default job timeout in seconds (`Queue.DEFAULT_TIMEOUT`).
pub const DEFAULT_TIMEOUT: i64 = 180;
/// RQ's default result TTL in seconds.
pub const DEFAULT_RESULT_TTL: i64 = 500;
/// RQ's default failure TTL in seconds (one year).
pub const DEFAULT_FAILURE_TTL: i64 = 31_536_000;
