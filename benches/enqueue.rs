//! Benchmark (run by scripts/bench.py): enqueue throughput through the library API.
//! `N` events (default 50,000) go through `manage::webhooks::enqueue_bulk` (transactions of
//! 1,000 events, the next built while one is written). Settings come from `MANAGE_CONFIG` as for the `manage` binary.

use manage::{
    config::{LoadOptions, Settings},
    webhooks::{enqueue_bulk, Event, EventType},
};

fn main() {
    let n: usize = std::env::var("N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let options = LoadOptions {
        config_path: std::env::var_os("MANAGE_CONFIG").map(Into::into),
        overrides: Vec::new(),
    };
    let (settings, _) = Settings::load(&options).expect("settings");
    let events: Vec<Event> = (0..n)
        .map(|i| Event {
            object_type: "dcim.site".into(),
            event_type: EventType::parse("created").expect("event type"),
            data: serde_json::json!({"id": i, "name": format!("site-{i}"), "slug": format!("site-{i}"), "status": {"value": "active"}}),
            snapshots: None,
            username: Some("bench".into()),
            request_id: Some(format!("req-{i}")),
            timestamp: None,
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = redis::Client::open(settings.redis.url.clone()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        let settings = std::sync::Arc::new(settings);
        let start = std::time::Instant::now();
        let jobs: usize = enqueue_bulk(&mut conn, settings, events)
            .await
            .expect("enqueue")
            .iter()
            .map(Vec::len)
            .sum();
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "library enqueue: {n} events -> {jobs} jobs in {seconds:.3} s = {:.0} jobs/s",
            jobs as f64 / seconds
        );
    });
}
