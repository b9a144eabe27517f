//! Webhook test helpers: a project directory with a manage.toml, `[[webhooks]]` and
//! `[[event_rules]]` snippets, and raw TCP servers that misbehave in ways a well-behaved HTTP
//! server cannot. Job outcomes are read with [`super::rq`].

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::Path,
};

use super::{run, stderr, stdout, RedisServer};

/// A working directory with a manage.toml for `redis` plus `extra` TOML.
pub fn project(redis: &RedisServer, extra: &str) -> tempfile::TempDir {
    project_at(&redis.url(), extra)
}

/// A project whose one webhook `h` sends to `url`, triggered by site changes through a rule
/// with `rule_extra` TOML (a retry, say).
pub fn project_sending_to(redis: &RedisServer, url: &str, rule_extra: &str) -> tempfile::TempDir {
    project(redis, &(hook("h", url, "") + &rule("h", rule_extra)))
}

/// A working directory with a manage.toml for the Redis at `redis_url` (a Sentinel URL, say)
/// plus `extra` TOML.
pub fn project_at(redis_url: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), redis_url, extra);
    dir
}

/// (Re)writes `dir/manage.toml` for the Redis at `redis_url` plus `extra` TOML: how a test
/// changes the settings between two commands.
pub fn write_config(dir: &Path, redis_url: &str, extra: &str) {
    std::fs::write(
        dir.join("manage.toml"),
        format!("[redis]\nurl = \"{redis_url}\"\n{extra}"),
    )
    .unwrap();
}

/// `manage <args>` in `dir`, to completion.
pub fn manage_in(dir: &Path, args: &[&str]) -> std::process::Output {
    run(super::manage(dir).args(args))
}

/// A `[[webhooks]]` entry.
pub fn hook(name: &str, url: &str, extra: &str) -> String {
    format!("[[webhooks]]\nname = \"{name}\"\npayload_url = \"{url}\"\n{extra}\n")
}

/// An `[[event_rules]]` entry sending `webhook` for created and updated sites.
pub fn rule(webhook: &str, extra: &str) -> String {
    format!("[[event_rules]]\nname = \"rule-{webhook}\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"created\", \"updated\"]\nwebhook = \"{webhook}\"\n{extra}\n")
}

/// Enqueues one site event (`created`, `updated`, …) by user `admin` with request id `req-1`,
/// and returns the job ids, one per matching rule in rule order.
pub fn enqueue_site(dir: &Path, event: &str, data: &str) -> Vec<String> {
    let out = manage_in(
        dir,
        &[
            "enqueue_event",
            "--object-type",
            "dcim.site",
            "--event",
            event,
            "--data",
            data,
            "--username",
            "admin",
            "--request-id",
            "req-1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

/// Runs `rqworker --burst default` in `dir` and returns its output.
pub fn burst(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = extra.to_vec();
    args.extend(["rqworker", "--burst", "default"]);
    let out = manage_in(dir, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    out
}

/// A raw TCP server on loopback that hands every accepted connection, after reading the request
/// head, to `answer` on its own thread. Returns its base URL.
pub fn raw_server(answer: impl Fn(TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                read_head(&mut stream);
                answer(stream);
            });
        }
    });
    base
}

/// Reads until the end of the request head (the body, if any, is left unread).
fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
}

/// Writes a whole answer and closes.
pub fn answer_with(mut stream: TcpStream, text: &str) {
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.flush();
}
