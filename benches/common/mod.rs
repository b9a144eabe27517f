//! What the benchmarks share: numbers from the environment, the settings loaded as the `manage`
//! binary loads them (`MANAGE_CONFIG`), a runtime and Redis connection, and the site event they
//! send.

use manage::{
    config::{LoadOptions, Settings},
    webhooks::{Event, EventType},
};

/// The number in environment variable `name`, else `default`.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The settings from `MANAGE_CONFIG` (else ./manage.toml), checked.
pub fn settings() -> Settings {
    let options = LoadOptions {
        config_path: std::env::var_os("MANAGE_CONFIG").map(Into::into),
        overrides: Vec::new(),
    };
    Settings::load(&options).expect("settings").0
}

/// How events are routed to jobs under `settings`.
pub fn routing(settings: &Settings) -> manage::pipeline::Routing {
    manage::pipeline::Routing::new(&settings.event_rules, &settings.webhooks).with_ttls(
        Some(settings.worker.result_ttl),
        Some(settings.worker.failure_ttl),
    )
}

/// A multi-threaded runtime, as the `manage` binary runs.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A multiplexed connection to the settings' Redis.
pub async fn connect(settings: &Settings) -> redis::aio::MultiplexedConnection {
    redis::Client::open(settings.redis.url.clone())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis")
}

/// Site number `i` changed (`event_type`: created, updated…), with request id `request_id`.
pub fn site_event(i: u64, event_type: &str, request_id: String) -> Event {
    Event {
        object_type: "dcim.site".into(),
        event_type: EventType::parse(event_type).expect("event type"),
        data: serde_json::json!({"id": i, "name": format!("site-{i}"), "slug": format!("site-{i}"), "status": {"value": "active"}}),
        snapshots: None,
        username: Some("bench".into()),
        request_id: Some(request_id),
        timestamp: None,
        traceparent: None,
        request: None,
        context: None,
        extra: Default::default(),
    }
}
