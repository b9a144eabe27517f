//! Sentinel: `[redis] url = "redis+sentinel://…/<master>"` with a real master, a replica and
//! three sentinels. A failover forced while webhooks are in flight moves the worker to the new
//! master: every webhook still arrives, the outcomes held during the switch are written there,
//! and the worker still stops cleanly.

mod support;

use std::{
    process::{Child, Command},
    time::Duration,
};

use redis::Commands;
use support::{endpoint::Endpoint, load, spawn_redis, wait_until, RedisServer, Running};

const MASTER: &str = "mymaster";
/// The master's (and, after the failover, the new master's) password; the sentinels have none.
const PASSWORD: &str = "master-pass-Wq7";

/// A connection to `server` with the password.
fn authed(server: &RedisServer) -> redis::Connection {
    redis::Client::open(format!("redis://:{PASSWORD}@127.0.0.1:{}/0", server.port()))
        .unwrap()
        .get_connection()
        .unwrap()
}

/// Makes `server` require the password, and use it towards its master.
fn require_password(server: &RedisServer) {
    let mut conn = server.conn();
    for (name, value) in [("masterauth", PASSWORD), ("requirepass", PASSWORD)] {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query(&mut conn)
            .unwrap();
    }
}

/// A `redis-server --sentinel` watching `master_port`; killed on drop.
struct Sentinel {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    fn start(master_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("sentinel.conf");
        let (child, port) = spawn_redis("redis-server --sentinel", |port| {
            // A sentinel rewrites its file: a fresh one for each try.
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor {MASTER} 127.0.0.1 {master_port} 2\nsentinel auth-pass {MASTER} {PASSWORD}\nsentinel down-after-milliseconds {MASTER} 1000\nsentinel failover-timeout {MASTER} 10000\nsentinel parallel-syncs {MASTER} 1\n",
                    dir.path().display()
                ),
            )
            .unwrap();
            let mut command = Command::new("redis-server");
            command.arg(&conf).arg("--sentinel");
            command
        });
        let sentinel = Self {
            child,
            port,
            _dir: dir,
        };
        assert!(
            wait_until(Duration::from_secs(10), || sentinel.master().is_some()),
            "sentinel on {port} did not start"
        );
        sentinel
    }

    fn conn(&self) -> Option<redis::Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}", self.port))
            .ok()?
            .get_connection()
            .ok()
    }

    /// The port of the master this sentinel names now.
    fn master(&self) -> Option<u16> {
        let (_, port): (String, String) = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(MASTER)
            .query(&mut self.conn()?)
            .ok()?;
        port.parse().ok()
    }

    /// How many replicas of the master this sentinel knows.
    fn replicas(&self) -> usize {
        self.conn()
            .and_then(|mut c| {
                redis::cmd("SENTINEL")
                    .arg("replicas")
                    .arg(MASTER)
                    .query::<Vec<redis::Value>>(&mut c)
                    .ok()
            })
            .map(|r| r.len())
            .unwrap_or(0)
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn role(redis: &RedisServer) -> String {
    let reply: Vec<redis::Value> = redis::cmd("ROLE").query(&mut authed(redis)).unwrap();
    match &reply[0] {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    }
}

/// A field of the server's `INFO replication`.
fn replication(redis: &RedisServer, field: &str) -> String {
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query(&mut authed(redis))
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn worker_follows_a_failover_and_loses_nothing() {
    let master = RedisServer::start();
    let replica_of = master.port().to_string();
    let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &replica_of]);
    require_password(&replica);
    require_password(&master);
    let sentinels: Vec<Sentinel> = (0..3).map(|_| Sentinel::start(master.port())).collect();
    assert!(
        wait_until(Duration::from_secs(30), || sentinels
            .iter()
            .all(|s| s.replicas() == 1)),
        "the sentinels never found the replica"
    );
    assert!(
        wait_until(Duration::from_secs(30), || replication(
            &replica,
            "master_link_status"
        ) == "up"),
        "the replica never synchronised"
    );
    // The password in the URL is the master's; the sentinels, which have none, are asked
    // without it (they would refuse an AUTH).
    let url = format!(
        "redis+sentinel://:{PASSWORD}@{}/{MASTER}/0",
        sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect::<Vec<_>>()
            .join(",")
    );
    let endpoint = Endpoint::start();
    endpoint.set_delay(Duration::from_millis(20));
    let dir = load::project(&url, &endpoint);
    load::enqueued(dir.path(), "before", 0..2000);
    let worker = Running::start_in(
        dir.path(),
        &[
            "rqworker",
            "--concurrency",
            "20",
            "--job-monitoring-interval",
            "1",
            "default",
        ],
    );
    assert!(
        wait_until(Duration::from_secs(60), || endpoint.received() >= 300),
        "{}",
        worker.output()
    );

    // Deliveries are held from here: the worker's jobs stay in flight, their outcomes kept,
    // and nothing is written while the sentinels switch masters. (Redis replicates
    // asynchronously: what a demoted master accepts after the replica's promotion is lost,
    // whoever writes it.) Everything written so far is on the replica before the switch.
    endpoint.hold();
    let mut old = authed(&master);
    // Settled when every job the worker holds is waiting at the endpoint (so every other
    // outcome is written) and too few slots are free for it to take another batch (a busy
    // worker takes at least a quarter of its 20 slots at a time).
    assert!(
        wait_until(Duration::from_secs(30), || {
            let held = endpoint.waiting();
            held > 15 && held == old.zcard::<_, usize>("rq:wip:default").unwrap()
        }),
        "{} waiting:\n{}",
        endpoint.waiting(),
        worker.output()
    );
    let replicas: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(10_000)
        .query(&mut old)
        .unwrap();
    assert_eq!(replicas, 1, "the replica has every write");
    let _: String = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(MASTER)
        .query(&mut sentinels[0].conn().unwrap())
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || sentinels
            .iter()
            .all(|s| s.master() == Some(replica.port()))),
        "the sentinels never promoted the replica"
    );
    assert!(wait_until(Duration::from_secs(30), || role(&replica)
        == "master"
        && role(&master) == "slave"));
    load::enqueued(dir.path(), "after", 0..500);
    endpoint.release();

    let all_arrived = || {
        let counts = load::deliveries(&endpoint);
        load::missing(&counts, "before", 0..2000).is_empty()
            && load::missing(&counts, "after", 0..500).is_empty()
    };
    assert!(
        wait_until(Duration::from_secs(150), all_arrived),
        "missing after the failover: {} before, {} after\n{}",
        load::missing(&load::deliveries(&endpoint), "before", 0..2000).len(),
        load::missing(&load::deliveries(&endpoint), "after", 0..500).len(),
        worker.output()
    );
    assert!(
        worker.output().contains(&format!(
            "Redis master moved to 127.0.0.1:{}",
            replica.port()
        )),
        "{}",
        worker.output()
    );
    // The outcomes are all written on the new master, and the worker still stops cleanly.
    let mut conn = authed(&replica);
    assert!(
        wait_until(Duration::from_secs(30), || {
            conn.zcard::<_, usize>("rq:finished:default").unwrap() == 2500
                && conn.zcard::<_, usize>("rq:wip:default").unwrap() == 0
        }),
        "finished {}, started {}:\n{}",
        conn.zcard::<_, usize>("rq:finished:default").unwrap(),
        conn.zcard::<_, usize>("rq:wip:default").unwrap(),
        worker.output()
    );
    assert_eq!(conn.llen::<_, usize>("rq:queue:default").unwrap(), 0);
    let mut worker = worker;
    worker.stop(libc::SIGTERM, Duration::from_secs(30));
    assert!(!worker.output().contains(PASSWORD), "{}", worker.output());
    let counts = load::deliveries(&endpoint);
    eprintln!(
        "sentinel failover: {} distinct delivered, {} twice",
        counts.len(),
        load::twice(&counts)
    );
}
