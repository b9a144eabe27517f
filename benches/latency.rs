//! Benchmark (run by scripts/bench.py): a steady stream of events through the library API,
//! `RATE` events per second (default 1,000) for `SECONDS` (default 10), one `enqueue_events`
//! call per event, as a web application would enqueue them. The receiver's `--json` log and the
//! body's `timestamp` give the latency from enqueue to delivery.

use std::time::Duration;

mod common;

use manage::pipeline::enqueue_events;

fn main() {
    let rate: u64 = common::env_number("RATE", 1000);
    let seconds: u64 = common::env_number("SECONDS", 10);
    let settings = common::settings();
    let routing = common::routing(&settings);
    common::runtime().block_on(async {
        let mut conn = common::connect(&settings).await;
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let total = rate * seconds;
        for i in 0..total {
            tick.tick().await;
            let event = common::site_event(i, "updated", format!("lat-{i}"));
            enqueue_events(&mut conn, &routing, std::slice::from_ref(&event))
                .await
                .expect("enqueue");
        }
        println!("steady enqueue: {total} events at {rate}/s");
    });
}
