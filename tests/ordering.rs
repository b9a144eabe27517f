//! Per-object order: one object's deliveries to one webhook start only after every earlier one
//! has ended, with many jobs in flight, several worker processes, retries, a killed worker, and
//! Python RQ running the chain; `ordering = "none"` lets them run side by side.

mod support;

use std::{collections::HashMap, time::Duration};

use redis::Commands;
use support::{
    endpoint::Endpoint,
    hooks::{enqueue_site_events, hook, project, write_config},
    run, stderr, wait_until, RedisServer, Running,
};

/// A rule sending every change of a site to webhook `h`.
const RULE: &str = "[[event_rules]]\nname = \"sites\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"created\", \"updated\", \"deleted\"]\nwebhook = \"h\"\n";

/// A project with webhook `h` (with `extra` TOML) sending to `endpoint`, and the rule.
fn project_for(
    redis: &RedisServer,
    endpoint: &Endpoint,
    extra: &str,
    rule_extra: &str,
) -> tempfile::TempDir {
    project(
        redis,
        &(hook("h", &format!("{}/hook", endpoint.base()), extra) + RULE + rule_extra),
    )
}

/// The events each site's deliveries carried, in the order they arrived, and the 2XX ones
/// only when `answered_ok` filters them.
fn sequences(endpoint: &Endpoint) -> HashMap<u64, Vec<String>> {
    let mut requests = endpoint.requests();
    requests.sort_by_key(|r| r.at);
    let mut by_site: HashMap<u64, Vec<String>> = HashMap::new();
    for request in requests {
        let body = request.json();
        by_site
            .entry(body["data"]["id"].as_u64().unwrap())
            .or_default()
            .push(body["event"].as_str().unwrap().to_string());
    }
    by_site
}

fn deferred(redis: &RedisServer) -> u64 {
    redis.conn().zcard("rq:deferred:default").unwrap()
}

#[test]
fn three_hundred_sites_keep_their_order_across_four_workers() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(&redis, &endpoint, "", "");
    let mut events = Vec::new();
    for event in ["created", "updated", "deleted"] {
        for site in 1..=300 {
            events.push((site, event));
        }
    }
    // One batch holds every site's three events, so each site's chain is built within it.
    enqueue_site_events(dir.path(), &events);
    assert_eq!(
        deferred(&redis),
        600,
        "every update and delete waits behind its site's creation"
    );
    let mut workers: Vec<Running> = (0..4)
        .map(|n| {
            Running::start_in(
                dir.path(),
                &[
                    "rqworker",
                    "--burst",
                    "--concurrency",
                    "256",
                    "--name",
                    &format!("w{n}"),
                    "default",
                ],
            )
        })
        .collect();
    for worker in &mut workers {
        worker.assert_exits(0, Duration::from_secs(120));
    }
    let by_site = sequences(&endpoint);
    assert_eq!(by_site.len(), 300);
    let out_of_order: Vec<_> = by_site
        .iter()
        .filter(|(_, seq)| *seq != &["created", "updated", "deleted"])
        .collect();
    assert!(
        out_of_order.is_empty(),
        "{} sites out of order: {out_of_order:?}",
        out_of_order.len()
    );
    assert_eq!(deferred(&redis), 0);
    assert_eq!(
        redis.conn().zcard::<_, u64>("rq:finished:default").unwrap(),
        900
    );
    // Several workers shared the work.
    let busy = workers
        .iter()
        .filter(|w| w.output().contains("finished in"))
        .count();
    assert!(busy >= 2, "only {busy} worker(s) ran jobs");
    // A chain whose last job has ended is forgotten, so Redis does not keep a key per object.
    let chains: Vec<String> = redis.conn().keys("manage:chain:*").unwrap();
    assert!(chains.is_empty(), "{chains:?}");
}

#[test]
fn an_update_waits_for_its_creation_through_a_retry() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(&redis, &endpoint, "", "retry = { max = 2 }\n");
    endpoint.answer_next(&[503]);
    enqueue_site_events(dir.path(), &[(7, "created"), (7, "updated")]);
    assert_eq!(deferred(&redis), 1);
    let mut worker = Running::start_in(
        dir.path(),
        &["rqworker", "--burst", "--concurrency", "16", "default"],
    );
    worker.assert_exits(0, Duration::from_secs(30));
    // The first attempt of the creation failed; the update went only after the retry succeeded.
    assert_eq!(sequences(&endpoint)[&7], ["created", "created", "updated"]);
    // Waiting used none of the update's retries: the creation took two attempts, the update one.
    let mut conn = redis.conn();
    let finished: Vec<String> = conn.zrange("rq:finished:default", 0, -1).unwrap();
    let mut attempts: Vec<(String, u64)> = finished
        .iter()
        .map(|id| {
            let (event, attempts): (String, u64) = (
                conn.hget(format!("rq:job:{id}"), "description").unwrap(),
                conn.hget(format!("rq:job:{id}"), "manage_attempts")
                    .unwrap(),
            );
            (event.contains("object_created").to_string(), attempts)
        })
        .collect();
    attempts.sort();
    assert_eq!(
        attempts,
        [("false".to_string(), 1), ("true".to_string(), 2)]
    );
}

#[test]
fn order_holds_across_a_killed_worker() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    endpoint.set_delay(Duration::from_secs(3));
    let dir = project_for(&redis, &endpoint, "", "");
    enqueue_site_events(
        dir.path(),
        &[(1, "created"), (1, "updated"), (1, "deleted")],
    );
    let mut first = Running::start_in(dir.path(), &["rqworker", "--name", "steady", "default"]);
    assert!(
        wait_until(Duration::from_secs(10), || {
            redis.conn().zcard::<_, u64>("rq:wip:default").unwrap() == 1
        }),
        "{}",
        first.output()
    );
    first.kill();
    endpoint.set_delay(Duration::ZERO);
    // The same name on the same host reclaims the crashed run's job at once.
    let mut second = Running::start_in(
        dir.path(),
        &["rqworker", "--name", "steady", "--burst", "default"],
    );
    second.assert_exits(0, Duration::from_secs(30));
    let events = &sequences(&endpoint)[&1];
    // The killed attempt may or may not have reached the endpoint; either way nothing came
    // before the creation, and the update and deletion followed it in order.
    let tail: Vec<&str> = events
        .iter()
        .map(String::as_str)
        .skip_while(|e| *e == "created")
        .collect();
    assert_eq!(events[0], "created", "{events:?}");
    assert_eq!(tail, ["updated", "deleted"], "{events:?}");
}

#[test]
fn unordered_webhooks_deliver_one_object_side_by_side() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    endpoint.set_delay(Duration::from_millis(500));
    let dir = project_for(&redis, &endpoint, "ordering = \"none\"", "");
    enqueue_site_events(
        dir.path(),
        &[(1, "created"), (1, "updated"), (1, "deleted")],
    );
    assert_eq!(deferred(&redis), 0, "nothing waits");
    assert_eq!(redis.conn().llen::<_, u64>("rq:queue:default").unwrap(), 3);
    let mut worker = Running::start_in(dir.path(), &["rqworker", "--burst", "default"]);
    worker.assert_exits(0, Duration::from_secs(30));
    assert_eq!(
        endpoint.most_at_once(),
        3,
        "all three were in flight at once"
    );
    // With ordering on, the same three never overlap.
    let ordered = Endpoint::start();
    ordered.set_delay(Duration::from_millis(200));
    write_config(
        dir.path(),
        &redis.url(),
        &(hook("h", &format!("{}/hook", ordered.base()), "") + RULE),
    );
    enqueue_site_events(
        dir.path(),
        &[(1, "created"), (1, "updated"), (1, "deleted")],
    );
    let mut worker = Running::start_in(dir.path(), &["rqworker", "--burst", "default"]);
    worker.assert_exits(0, Duration::from_secs(30));
    assert_eq!(ordered.most_at_once(), 1);
    assert_eq!(sequences(&ordered)[&1], ["created", "updated", "deleted"]);
}

#[test]
fn python_rq_runs_an_ordered_chain_and_counts_what_waits() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let dir = project_for(&redis, &endpoint, "", "");
    enqueue_site_events(
        dir.path(),
        &[(3, "created"), (3, "updated"), (3, "deleted")],
    );
    // Python RQ sees one job queued and two waiting (deferred), with their dependency.
    let counted = support::python_run(
        &redis,
        "import os\nfrom redis import Redis\nfrom rq import Queue\nfrom rq.job import Job\nr = Redis.from_url(os.environ['REDIS_URL'])\nq = Queue('default', connection=r)\nids = q.deferred_job_registry.get_job_ids()\njob = Job.fetch(ids[0], connection=r)\nprint(q.count, q.deferred_job_registry.count, job.get_status().value, len(job.dependency_ids))\n",
        &[],
    );
    assert_eq!(counted.trim(), "1 2 deferred 1");
    let jobs = support::python_webhook_jobs();
    let worker = run(support::python_worker(&redis, jobs.path())
        .env("WEBHOOK_URL", format!("{}/hook", endpoint.base())));
    assert!(worker.status.success(), "{}", stderr(&worker));
    assert_eq!(sequences(&endpoint)[&3], ["created", "updated", "deleted"]);
    assert_eq!(deferred(&redis), 0);
    assert_eq!(
        redis.conn().zcard::<_, u64>("rq:finished:default").unwrap(),
        3
    );
}
