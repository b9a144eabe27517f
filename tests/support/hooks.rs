//! Webhook test helpers: a project directory with a manage.toml, `[[webhooks]]` and
//! `[[event_rules]]` snippets, and raw TCP servers that misbehave in ways a well-behaved HTTP
//! server cannot. Job outcomes are read with [`super::rq`].

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    ops::Range,
    path::Path,
};

use super::{run, run_with_input, stderr, stdout, RedisServer};

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

/// An `[[event_rules]]` entry named `name` sending to `webhook` the site creations whose `kind`
/// attribute is `kind`. Tests that run several webhooks side by side give each its own kind of
/// site, so every event reaches exactly one webhook and a test can tell them apart; the rule's
/// name is the caller's because the tests assert on it under different conventions.
pub fn kind_rule(name: &str, webhook: &str, kind: &str, extra: &str) -> String {
    format!("[[event_rules]]\nname = \"{name}\"\nobject_types = [\"dcim.site\"]\nevent_types = [\"created\"]\nwebhook = \"{webhook}\"\nconditions = {{ attr = \"kind\", value = \"{kind}\" }}\n{extra}\n")
}

/// Global flags for [`enqueue_lines`] that keep a batch of hundreds of events from logging a
/// line each, which would only slow the test down.
pub const QUIET: &[&str] = &["-v", "0"];

/// Enqueues JSON `lines` in one `enqueue_event --lines` batch, with global `flags` (`-v 0` to
/// see [`QUIET`]) before the command, and returns the job ids it
/// printed: one process for many events keeps tests that need hundreds of jobs fast.
pub fn enqueue_lines(dir: &Path, flags: &[&str], lines: &str) -> Vec<String> {
    let out = run_with_input(
        super::manage(dir)
            .args(flags)
            .args(["enqueue_event", "--lines"]),
        lines.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

/// Enqueues site creations of `kind` (see [`kind_rule`]) with ids `ids`, with global `flags`,
/// and returns the job ids: how a test feeds one webhook among several a known number of jobs.
pub fn enqueue_kind(dir: &Path, flags: &[&str], kind: &str, ids: Range<u64>) -> Vec<String> {
    let lines: String = ids
        .map(|id| format!("{{\"object_type\": \"dcim.site\", \"event\": \"created\", \"data\": {{\"id\": {id}, \"kind\": \"{kind}\"}}}}\n"))
        .collect();
    enqueue_lines(dir, flags, &lines)
}

/// Enqueues `events` (`(site id, event)`, each site named `site <id>`) in one quiet batch, in
/// the order given: what per-object ordering tests need to interleave several sites' changes.
pub fn enqueue_site_events(dir: &Path, events: &[(u64, &str)]) {
    let lines: String = events
        .iter()
        .map(|(id, event)| {
            format!("{{\"object_type\": \"dcim.site\", \"event\": \"{event}\", \"data\": {{\"id\": {id}, \"name\": \"site {id}\"}}}}\n")
        })
        .collect();
    enqueue_lines(dir, QUIET, &lines);
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
