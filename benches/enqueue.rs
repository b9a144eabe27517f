//! Benchmark (run by scripts/bench.py): enqueue throughput through the library API.
//! `N` events (default 50,000) go through `manage::pipeline::enqueue_bulk` (transactions of
//! 1,000 events, the next built while one is written). Settings come from `MANAGE_CONFIG` as for
//! the `manage` binary.

mod common;

use manage::pipeline::enqueue_bulk;

fn main() {
    let n: u64 = common::env_number("N", 50_000);
    let settings = common::settings();
    let events: Vec<_> = (0..n)
        .map(|i| common::site_event(i, "created", format!("req-{i}")))
        .collect();
    common::runtime().block_on(async {
        let mut conn = common::connect(&settings).await;
        let start = std::time::Instant::now();
        let jobs: usize = enqueue_bulk(
            &mut conn,
            std::sync::Arc::new(common::routing(&settings)),
            events,
        )
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
