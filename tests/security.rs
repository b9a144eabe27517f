//! Security end to end: secrets (webhook secrets, Redis and proxy passwords, sensitive headers,
//! keys in a URL's query or path) stay out of logs, failure reasons, job data, Redis, the pages,
//! command output, errors and `diffsettings`; rendered data cannot add headers; `[http] block_private` refuses private and
//! loopback destinations unless `[http] allow` lists them.

mod support;

use redis::Commands;
use support::{
    background_tasks_url,
    endpoint::Endpoint,
    hooks::{burst, enqueue_site, hook, manage_in, rule},
    http, python_with,
    rq::{last_reason, reasons, status as job_status},
    stderr, stdout, ClosedPort, RedisServer, Running,
};

/// Python: prints every key of the Redis at `REDIS_URL` and every value in it, each read with
/// its type's own command, plus each value decoded as RQ encodes it where it decodes.
const STORED_TEXT: &str = r#"
import base64, os, zlib
from redis import Redis
r = Redis.from_url(os.environ['REDIS_URL'])
def show(raw):
    print(raw.decode('utf-8', 'replace'))
    for decode in (zlib.decompress, lambda b: base64.b64decode(b, validate=True),
                   lambda b: zlib.decompress(base64.b64decode(b, validate=True))):
        try:
            print(decode(raw).decode('utf-8', 'replace'))
        except Exception:
            pass
for key in r.scan_iter(count=1000):
    show(key)
    kind = r.type(key).decode()
    if kind == 'string':
        values = [r.get(key)]
    elif kind == 'hash':
        values = [part for pair in r.hgetall(key).items() for part in pair]
    elif kind == 'list':
        values = r.lrange(key, 0, -1)
    elif kind == 'set':
        values = list(r.smembers(key))
    elif kind == 'zset':
        values = r.zrange(key, 0, -1)
    elif kind == 'stream':
        values = [part for _, fields in r.xrange(key) for pair in fields.items() for part in pair]
    else:
        raise SystemExit('unexpected type %s of %r' % (kind, key))
    for value in values:
        show(value)
"#;

const HOOK_SECRET: &str = "hook-secret-Zq81";
const REDIS_PASSWORD: &str = "redis-pass-Xk42";
const PROXY_PASSWORD: &str = "proxy-pass-Pv73";
const BEARER_TOKEN: &str = "bearer-token-Hd55";
const API_KEY: &str = "api-key-Ak19";
const QUERY_KEY: &str = "query-key-Qk64";
const TEMPLATE_QUERY_KEY: &str = "template-key-Tq28";
const PATH_SECRET: &str = "path-secret-Ps90";
const TOML_SECRET: &str = "toml-secret-Ts31";
const USER_SLOT_PASSWORD: &str = "user-slot-Us47";

/// The webhooks of the main project: one answered 200 (with sensitive additional headers),
/// one 500, and three whose endpoint refuses connections, so that their URLs land in reasons,
/// the delivery log, logs and pages: a key in the query, a key in the query of a templated URL,
/// and a secret in the path with `redact_path`.
fn main_hooks(ok: &Endpoint, broken: &Endpoint, closed: &ClosedPort) -> String {
    let signed = format!("secret = \"{HOOK_SECRET}\"");
    let headers = format!(
        "{signed}\nadditional_headers = \"Authorization: Bearer {BEARER_TOKEN}\\nX-Api-Key: {API_KEY}\\nX-Name: plain\""
    );
    let closed = closed.http();
    [
        hook("ok", &format!("{}/ok", ok.base()), &headers),
        hook("broken", &format!("{}/broken", broken.base()), &signed),
        hook("query", &format!("{closed}/q?api_key={QUERY_KEY}&v=1"), ""),
        hook(
            "templated",
            &format!("{closed}/t/{{{{ data.id }}}}?api_key={TEMPLATE_QUERY_KEY}"),
            "",
        ),
        hook(
            "pathed",
            &format!("{closed}/services/{PATH_SECRET}"),
            "redact_path = true",
        ),
    ]
    .concat()
        + &["ok", "broken", "query", "templated", "pathed"]
            .map(|name| rule(name, ""))
            .concat()
}

/// Every page of the Background Tasks server running in `dir`, one job's page per id and one
/// webhook's page per name; they show the closed endpoint's webhooks as at `closed`.
fn pages(dir: &std::path::Path, ids: &[String], webhooks: &[&str], closed: &str) -> String {
    let server = Running::start_in(dir, &["background_tasks", "--bind", "127.0.0.1:0"]);
    let url = background_tasks_url(&server);
    let (base, token) = url.split_once("/?token=").expect("URL with a token");
    let address = base.trim_start_matches("http://");
    let bearer = format!("Bearer {token}");
    let mut paths: Vec<String> = ["/", "/workers", "/webhooks", "/queues/default/failed"]
        .map(String::from)
        .into();
    paths.push("/queues/default/finished".into());
    paths.extend(ids.iter().map(|id| format!("/jobs/{id}")));
    paths.extend(webhooks.iter().map(|name| format!("/webhooks/{name}")));
    let mut text = String::new();
    for path in paths {
        let answer = http::call(address, "GET", &path, &[("Authorization", &bearer)], b"");
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        text.push_str(&answer.body);
    }
    // As read: HTML escapes `/` and `&`.
    let text = text.replace("&#x2f;", "/").replace("&amp;", "&");
    assert!(
        text.contains(&format!("{closed}/…"))
            && text.contains(&format!("{closed}/q?api_key=***&v=***")),
        "the pages name the webhooks:\n{text}"
    );
    text
}

/// What the commands that show jobs, deliveries and webhooks print in `dir`.
fn commands_output(dir: &std::path::Path, ids: &[String]) -> String {
    let mut runs = vec![
        manage_in(dir, &["deliveries", "--json"]),
        manage_in(dir, &["deliveries"]),
        manage_in(dir, &["webhooks"]),
        manage_in(dir, &["webhooks", "--json"]),
        manage_in(dir, &["diffsettings", "--all"]),
        manage_in(dir, &["diffsettings", "--json", "--all"]),
        manage_in(dir, &["check"]),
    ];
    runs.extend(ids.iter().map(|id| manage_in(dir, &["rqjob", id])));
    for run in &runs[..6] {
        assert!(run.status.success(), "{}", stderr(run));
    }
    runs.iter().map(|run| stdout(run) + &stderr(run)).collect()
}

/// Everything Redis holds, read with each type's own command by Python's redis client, and
/// every value also decoded as RQ encodes (zlib, and base64 of zlib in results streams), once
/// the first of `ids` has finished and the others and `proxied_ids` have failed.
fn stored_text(url: &str, ids: &[String], proxied_ids: &[String], closed: &str) -> String {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    let mut status = |id: &str| conn.hget::<_, _, String>(format!("rq:job:{id}"), "status");
    assert_eq!(status(&ids[0]).unwrap(), "finished");
    for id in ids[1..].iter().chain(proxied_ids) {
        assert_eq!(status(id).unwrap(), "failed");
    }
    let stored = python_with(url, STORED_TEXT, &[], b"");
    for decoded in [
        "extras.webhooks.send_webhook",
        "Status 500 returned with content 'answer 500', webhook FAILED to process.",
        "Status 200 returned, webhook successfully processed.",
        &format!("Connection failed for POST {closed}/q?api_key=***&v=***: "),
        &format!("Connection failed for POST {closed}/t/1?api_key=***: "),
        &format!("Connection failed for POST {closed}/…: "),
        "Connection failed for POST http://127.0.0.1:",
    ] {
        assert!(
            stored.contains(decoded),
            "the scan decodes {decoded:?}:\n{stored}"
        );
    }
    stored
}

#[test]
fn secrets_never_appear_in_logs_reasons_job_data_or_diffsettings() {
    let redis = RedisServer::start();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(REDIS_PASSWORD)
        .query(&mut redis.conn())
        .unwrap();
    let url = format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{}/0", redis.port());
    let (ok, broken, closed) = (Endpoint::start(), Endpoint::start(), ClosedPort::new());
    broken.set_status(500);
    let dir = support::hooks::project_at(&url, &main_hooks(&ok, &broken, &closed));
    // Every request of this one goes through a proxy that needs a password (and refuses).
    let proxy = ClosedPort::new();
    let proxied = support::hooks::project_at(
        &url,
        &(format!(
            "[http]\nproxy = \"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:{}\"\n",
            proxy.port()
        ) + &hook("proxied", &format!("{}/p", ok.base()), "")
            + &rule("proxied", "")),
    );

    let ids = enqueue_site(dir.path(), "created", r#"{"id": 1, "name": "one"}"#);
    let proxied_ids = enqueue_site(proxied.path(), "created", r#"{"id": 2}"#);
    let worker = burst(dir.path(), &["-v", "3"]);
    let proxied_worker = burst(proxied.path(), &["-v", "3"]);
    let all_ids = [ids.clone(), proxied_ids.clone()].concat();
    let shown = commands_output(dir.path(), &all_ids) + &commands_output(proxied.path(), &[]);
    let pages = pages(
        dir.path(),
        &all_ids,
        &["ok", "broken", "query", "templated", "pathed"],
        &closed.http(),
    );

    let stored = stored_text(&url, &ids, &proxied_ids, &closed.http());
    let everything = [
        stdout(&worker),
        stderr(&worker),
        stdout(&proxied_worker),
        stderr(&proxied_worker),
        shown,
        pages,
        stored,
        outside_secrets(),
    ]
    .concat();
    assert!(
        stderr(&worker).contains("Sending POST"),
        "verbose log expected: {}",
        stderr(&worker)
    );
    for secret in [
        HOOK_SECRET,
        REDIS_PASSWORD,
        PROXY_PASSWORD,
        BEARER_TOKEN,
        API_KEY,
        QUERY_KEY,
        TEMPLATE_QUERY_KEY,
        PATH_SECRET,
        TOML_SECRET,
        USER_SLOT_PASSWORD,
    ] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
    sent_as_written(&ok);
}

/// The signature proves the secret was used, without the secret itself being sent; the
/// hidden headers were sent as written.
fn sent_as_written(ok: &Endpoint) {
    let request = &ok.requests()[0];
    assert!(support::python_accepts_netbox_signature(
        HOOK_SECRET,
        &request.body,
        request.header("x-hook-signature").expect("signed")
    ));
    assert!(!String::from_utf8_lossy(&request.body).contains(HOOK_SECRET));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {BEARER_TOKEN}").as_str())
    );
    assert_eq!(request.header("x-api-key"), Some(API_KEY));
}

/// What is said of secrets outside a working setup: a TOML syntax error on a line that holds
/// one (named by file, line, column and key), and a Redis URL with the password in the user
/// slot that cannot be reached.
fn outside_secrets() -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("manage.toml"),
        format!("[gateway]\nbind = \"127.0.0.1:0\"\ntoken = \"{TOML_SECRET}\n"),
    )
    .unwrap();
    let broken_toml = manage_in(dir.path(), &["check"]);
    assert_ne!(broken_toml.status.code(), Some(0));
    let said = stderr(&broken_toml);
    assert!(
        said.contains("manage.toml: line 3, column ") && said.contains("key 'gateway.token'"),
        "{said}"
    );
    let closed = ClosedPort::new();
    let unreachable = format!("redis://{USER_SLOT_PASSWORD}@127.0.0.1:{}/0", closed.port());
    let empty = tempfile::tempdir().unwrap();
    let redis_down = manage_in(empty.path(), &["--redis-url", &unreachable, "rqstats"]);
    assert_ne!(redis_down.status.code(), Some(0));
    assert!(
        stderr(&redis_down).contains(&format!("redis://***@127.0.0.1:{}", closed.port())),
        "{}",
        stderr(&redis_down)
    );
    [broken_toml, redis_down]
        .iter()
        .map(|out| stdout(out) + &stderr(out))
        .collect()
}

#[test]
fn data_cannot_inject_headers_through_templates() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let config = hook(
        "raw",
        &format!("{}/raw", endpoint.base()),
        "additional_headers = \"X-Name: {{ data.name }}\"",
    ) + &hook(
        "safe",
        &format!("{}/safe", endpoint.base()),
        "additional_headers = \"X-Name: {{ data.name|header_safe }}\"",
    ) + &rule("raw", "")
        + &rule("safe", "");
    let dir = support::hooks::project(&redis, &config);
    let ids = enqueue_site(
        dir.path(),
        "created",
        r#"{"id": 1, "name": "a\r\nX-Evil: 1"}"#,
    );
    burst(dir.path(), &[]);
    assert_eq!(job_status(&redis, &ids[0]), "failed");
    let reason = last_reason(&redis, &ids[0]);
    assert!(
        reason.starts_with("Error parsing HTTP headers for webhook raw")
            && reason.contains("control character"),
        "{reason}"
    );
    assert_eq!(job_status(&redis, &ids[1]), "finished");
    let requests = endpoint.requests();
    assert_eq!(requests.len(), 1, "only the safe webhook was sent");
    assert_eq!(requests[0].path, "/safe");
    assert_eq!(requests[0].header("x-name"), Some("aX-Evil: 1"));
    assert!(requests.iter().all(|r| r.header("x-evil").is_none()));
}

const REFUSED: &str = "is a private or loopback address; refused by [http] block_private (allow it with [http] allow)";

#[test]
fn block_private_refuses_loopback_unless_allowed() {
    let redis = RedisServer::start();
    let endpoint = Endpoint::start();
    let port = endpoint.base().rsplit(':').next().unwrap().to_string();
    let elsewhere = Endpoint::start();
    let redirector = Endpoint::start();
    let redirector_port = redirector.base().rsplit(':').next().unwrap().to_string();
    redirector.set_redirect(Some(&format!("{}/landed", elsewhere.base())));
    let hooks = hook("literal", &format!("http://127.0.0.1:{port}/literal"), "")
        + &hook("named", &format!("http://localhost:{port}/named"), "")
        + &hook(
            "redirected",
            &format!("http://localhost:{redirector_port}/follow"),
            "follow_redirects = true",
        )
        + &rule("literal", "")
        + &rule("named", "")
        + &rule("redirected", "");

    // Blocked: nothing reaches the endpoint, and each reason names the address and the way out.
    let dir = support::hooks::project(&redis, &format!("[http]\nblock_private = true\n{hooks}"));
    let ids = enqueue_site(dir.path(), "created", r#"{"id": 1}"#);
    burst(dir.path(), &[]);
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let blocked = reasons(&redis, &ids);
    for (id, reason) in ids.iter().zip(&blocked) {
        assert_eq!(job_status(&redis, id), "failed");
        assert!(reason.contains(REFUSED), "{reason}");
    }
    assert_eq!(
        blocked[0],
        format!("Request refused for POST http://127.0.0.1:{port}/literal: destination 127.0.0.1 {REFUSED}")
    );
    assert!(endpoint.requests().is_empty());
    assert!(redirector.requests().is_empty());

    // The host name is allowed, but a redirect to a literal loopback address is still refused.
    let dir = support::hooks::project(
        &redis,
        &format!("[http]\nblock_private = true\nallow = [\"localhost\"]\n{hooks}"),
    );
    let ids = enqueue_site(dir.path(), "created", r#"{"id": 2}"#);
    burst(dir.path(), &[]);
    assert_eq!(job_status(&redis, &ids[0]), "failed");
    assert_eq!(job_status(&redis, &ids[1]), "finished");
    assert_eq!(job_status(&redis, &ids[2]), "failed");
    let reason = last_reason(&redis, &ids[2]);
    assert!(
        reason.starts_with("Request refused for POST http://localhost:")
            && reason.contains(&format!("destination 127.0.0.1 {REFUSED}")),
        "a refused redirect is named as refused: {reason}"
    );
    assert!(elsewhere.requests().is_empty());

    // Allowed by network: delivered, redirect included.
    let dir = support::hooks::project(
        &redis,
        &format!("[http]\nblock_private = true\nallow = [\"127.0.0.0/8\", \"::1\"]\n{hooks}"),
    );
    let ids = enqueue_site(dir.path(), "created", r#"{"id": 3}"#);
    burst(dir.path(), &[]);
    for id in &ids {
        assert_eq!(job_status(&redis, id), "finished");
    }
    assert_eq!(elsewhere.requests().len(), 1);

    // A bad allow entry is a configuration error naming the key.
    let dir = support::hooks::project(
        &redis,
        &format!("[http]\nblock_private = true\nallow = [\"10.0.0.0/40\"]\n{hooks}"),
    );
    let out = manage_in(dir.path(), &["check"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("http.allow") && stderr(&out).contains("10.0.0.0/40"),
        "{}",
        stderr(&out)
    );
}

/// `block_private` against Python's `ipaddress`, on addresses nobody here picked: 6,000 drawn
/// around every special-purpose range and at random, in both families. What Python calls not
/// global (or multicast) must be refused; what is refused though Python calls it global must be
/// one of the ranges refused on purpose: the rest of 192.0.0.0/24 (IANA's protocol
/// assignments), fec0::/10 (deprecated site-local), and IPv6 addresses carrying a private IPv4
/// address (mapped, NAT64, IPv4-compatible, 6to4), which Python judges by their IPv6 prefix
/// alone or without multicast.
#[test]
fn block_private_refuses_what_pythons_ipaddress_calls_not_global() {
    let verdicts = python_with(
        "redis://unused",
        r#"
import ipaddress, random
rng = random.Random(20261207)
bases = ['0.0.0.0', '10.0.0.0', '100.64.0.0', '100.127.255.0', '127.0.0.0', '169.254.0.0',
         '172.15.255.0', '172.16.0.0', '172.31.255.0', '172.32.0.0', '192.0.0.0', '192.0.2.0',
         '192.88.99.0', '192.168.0.0', '198.17.255.0', '198.18.0.0', '198.19.255.0', '198.20.0.0',
         '198.51.100.0', '203.0.113.0', '223.255.255.0', '224.0.0.0', '239.255.255.0',
         '240.0.0.0', '255.255.255.0', '8.8.8.0', '1.1.1.0']
out = []
for _ in range(3000):
    if rng.random() < 0.7:
        base = int(ipaddress.IPv4Address(rng.choice(bases)))
        ip = ipaddress.IPv4Address((base + rng.randrange(-256, 512)) % 2**32)
    else:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
    out.append(ip)
v6_bases = ['::', '::1', '::ffff:0:0', '64:ff9b::', '64:ff9b:1::', '100::', '2001::', '2001:db8::',
            '2001:4860::', '2002::', 'fc00::', 'fdff::', 'fe80::', 'febf::', 'fec0::', 'ff00::',
            '2606:4700::', '2a00:1450::']
for _ in range(3000):
    base = ipaddress.IPv6Address(rng.choice(v6_bases))
    if rng.random() < 0.5:
        low = rng.getrandbits(32)
    else:
        low = rng.getrandbits(80)
    out.append(ipaddress.IPv6Address(int(base) | low))
for ip in out:
    private = (not ip.is_global) or ip.is_multicast
    print(ip, int(private))
"#,
        &[],
        b"",
    );
    let mut checked = 0;
    for line in verdicts.lines() {
        let (text, python_private) = line.split_once(' ').unwrap();
        let ip: std::net::IpAddr = text.parse().unwrap();
        let ours = manage::destinations::is_private(ip);
        if python_private == "1" {
            assert!(ours, "{ip} is not global for Python but not refused");
        } else if ours {
            let on_purpose = match ip {
                std::net::IpAddr::V4(v4) => v4.octets()[..3] == [192, 0, 0],
                std::net::IpAddr::V6(v6) => {
                    let s = v6.segments();
                    (s[0] & 0xffc0) == 0xfec0
                        || s[..6] == [0; 6]
                        || s[..6] == [0, 0, 0, 0, 0, 0xffff]
                        || s[..2] == [0x64, 0xff9b]
                        || s[0] == 0x2002
                }
            };
            assert!(on_purpose, "{ip} is global for Python but refused");
        }
        checked += 1;
    }
    assert_eq!(checked, 6000);
}
