//! Benchmark (run by scripts/bench.py): a steady stream of events through the library API,
//! `RATE` events per second (default 1,000) for `SECONDS` (default 10), one `enqueue_events`
//! call per event, as a web application would enqueue them. The receiver's `--json` log and the
//! body's `timestamp` give the latency from enqueue to delivery.

use std::time::Duration;

use manage::{
    config::{LoadOptions, Settings},
    webhooks::{enqueue_events, Event, EventType},
};

fn main() {
    let rate: u64 = std::env::var("RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let seconds: u64 = std::env::var("SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let options = LoadOptions {
        config_path: std::env::var_os("MANAGE_CONFIG").map(Into::into),
        overrides: Vec::new(),
    };
    let (settings, _) = Settings::load(&options).expect("settings");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = redis::Client::open(settings.redis.url.clone()).expect("redis url");
        let mut conn = client.get_multiplexed_async_connection().await.expect("redis");
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let total = rate * seconds;
        for i in 0..total {
            tick.tick().await;
            let event = Event {
                object_type: "dcim.site".into(),
                event_type: EventType::parse("updated").expect("event type"),
                data: serde_json::json!({"id": i, "slug": format!("site-{i}"), "status": {"value": "active"}}),
                snapshots: None,
                username: Some("bench".into()),
                request_id: Some(format!("lat-{i}")),
                timestamp: None,
            };
            enqueue_events(&mut conn, &settings, std::slice::from_ref(&event)).await.expect("enqueue");
        }
        println!("steady enqueue: {total} events at {rate}/s");
    });
}
