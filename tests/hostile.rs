//! Every listener against clients that mean harm: thousands of idle connections, heads and
//! bodies sent a byte at a time, bodies cut short, bodies far over the limits, more connections
//! than the cap. Each server must close what is slow, refuse what is too much with the right
//! status, stay in bounded memory, and go on answering everyone else (`/live` within a second).

mod support;

use std::{
    io::{ErrorKind, Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use support::{
    background_tasks_url,
    hooks::{hook, project},
    http::{call, Answer},
    peak_kib,
    receiver::Receiver,
    wait_until, RedisServer, Running,
};

const TOKEN: &str = "gateway-token-0123456789";
const SECRET: &str = "netbox-shared-secret";

/// Raises this test process's own soft limit on open files: it opens thousands of sockets.
fn raise_nofile() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls only read and write `limit`.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    assert!(
        limit.rlim_cur >= 4096,
        "this test needs 4096 open files, the hard limit is {}",
        limit.rlim_cur
    );
}

fn connect(address: &str) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connect");
    stream.set_nodelay(true).unwrap();
    stream
}

/// `GET path` answered within a second, or the test fails: what a load balancer's probe needs.
fn within_a_second(address: &str, path: &str) -> Answer {
    let started = Instant::now();
    let mut stream = connect(address);
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    assert!(
        read.is_ok() && started.elapsed() < Duration::from_secs(1),
        "GET {path} not answered within a second: {read:?}, {:?}",
        String::from_utf8_lossy(&raw)
    );
    support::http::parse(&raw)
}

/// Whether the server has closed `stream` (after answering, perhaps) within `patience`; what it
/// sent before closing.
fn closed_within(stream: &mut TcpStream, patience: Duration) -> Option<String> {
    let deadline = Instant::now() + patience;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let wait = left.clamp(Duration::from_millis(1), Duration::from_millis(200));
        stream.set_read_timeout(Some(wait)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&raw).into_owned()),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(String::from_utf8_lossy(&raw).into_owned()),
        }
    }
    None
}

/// Sends `bytes` one at a time, `every` apart, until the server closes the connection; how
/// many it took before that (all of them: it never closed).
fn trickle(stream: &mut TcpStream, bytes: &[u8], every: Duration) -> usize {
    for (sent, byte) in bytes.iter().enumerate() {
        if stream.write_all(std::slice::from_ref(byte)).is_err() {
            return sent;
        }
        std::thread::sleep(every);
        let mut probe = [0u8; 1];
        stream.set_nonblocking(true).unwrap();
        let peeked = stream.peek(&mut probe);
        stream.set_nonblocking(false).unwrap();
        if matches!(peeked, Ok(0)) || matches!(&peeked, Err(e) if e.kind() != ErrorKind::WouldBlock)
        {
            return sent + 1;
        }
    }
    bytes.len()
}

struct Gateway {
    address: String,
    process: Running,
    _dir: tempfile::TempDir,
}

fn gateway(redis: &RedisServer, extra: &str) -> Gateway {
    let config = format!(
        "[gateway]\ntoken = \"{TOKEN}\"\nnetbox_secret = \"{SECRET}\"\n{extra}\n{}",
        hook("h", "http://127.0.0.1:9/hook", "")
    );
    let dir = project(redis, &config);
    let process = Running::start_in(dir.path(), &["event_gateway", "--bind", "127.0.0.1:0"]);
    let address = support::gateway_address(&process);
    Gateway {
        address,
        process,
        _dir: dir,
    }
}

#[test]
fn the_gateway_closes_idle_and_slow_clients_and_answers_live_meanwhile() {
    raise_nofile();
    let redis = RedisServer::start();
    let gw = gateway(&redis, "header_timeout = 2\nbody_timeout = 3");
    let address = gw.address.clone();
    let mut idle: Vec<TcpStream> = (0..2000).map(|_| connect(&address)).collect();
    let slow_head = std::thread::spawn({
        let address = address.clone();
        move || {
            let mut stream = connect(&address);
            let head =
                "POST /events HTTP/1.1\r\nHost: h\r\nX-Padding: ".to_string() + &"a".repeat(60);
            trickle(&mut stream, head.as_bytes(), Duration::from_millis(250))
        }
    });
    let mut slow_body = connect(&address);
    write!(
        slow_body,
        "POST /events HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    )
    .unwrap();
    let body_started = Instant::now();
    let body_sender = std::thread::spawn({
        let mut stream = slow_body.try_clone().unwrap();
        move || trickle(&mut stream, &[b' '; 99], Duration::from_millis(250))
    });
    for _ in 0..10 {
        assert_eq!(within_a_second(&address, "/live").status, 200);
        std::thread::sleep(Duration::from_millis(200));
    }
    // The head deadline is 2 s: the slow head is cut off after about 8 of its 70 bytes, not
    // allowed to finish (at 250 ms a byte it would take 17 s).
    let sent = slow_head.join().unwrap();
    assert!(
        sent < 40,
        "a head sent a byte at a time was read for {sent} bytes"
    );
    // The body deadline is 3 s: 408, long before the 25 s the trickle would take.
    let answer = closed_within(&mut slow_body, Duration::from_secs(10)).expect("closed");
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("body_timeout"),
        "{answer:?}"
    );
    assert!(body_started.elapsed() < Duration::from_secs(10));
    let _ = body_sender.join();
    // Every idle connection was closed by the gateway, none left to hold a descriptor.
    let open = idle
        .iter_mut()
        .map(|s| closed_within(s, Duration::from_millis(10)).is_none())
        .filter(|open| *open)
        .count();
    assert_eq!(open, 0, "{open} of 2000 idle connections still open");
    let peak = peak_kib(gw.process.child.id());
    eprintln!("gateway peak RSS with 2000 idle connections: {peak} KiB");
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
    assert_eq!(within_a_second(&address, "/live").status, 200);
}

#[test]
fn connections_over_the_cap_are_answered_503_and_the_rest_are_served() {
    let redis = RedisServer::start();
    let gw = gateway(&redis, "max_connections = 20\nheader_timeout = 30");
    let held: Vec<TcpStream> = (0..20).map(|_| connect(&gw.address)).collect();
    // Accepted in order: wait until the gateway holds all twenty.
    std::thread::sleep(Duration::from_millis(300));
    let refused = within_a_second(&gw.address, "/live");
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.body, "Too many connections\n");
    assert_eq!(refused.header("retry-after"), Some("1"));
    // A held connection is still served.
    let mut first = held.into_iter().next().unwrap();
    write!(
        first,
        "GET /live HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let answer = closed_within(&mut first, Duration::from_secs(5)).expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    // The slots come back when the clients go.
    drop(first);
    assert!(wait_until(Duration::from_secs(5), || {
        call(&gw.address, "GET", "/live", &[], b"").status == 200
    }));
    assert!(
        gw.process
            .stderr()
            .contains("answered 503: 20 are open already ([gateway] max_connections)"),
        "{}",
        gw.process.stderr()
    );
}

#[test]
fn unauthenticated_netbox_bodies_are_capped_in_size_and_number() {
    raise_nofile();
    let redis = RedisServer::start();
    let gw = gateway(&redis, "body_timeout = 3");
    let forged = "ab".repeat(64);
    // 100 bodies of 10 MiB - 1 (under max_body, over netbox_max_body): refused from the head.
    let mut large: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut stream = connect(&gw.address);
            write!(
                stream,
                "POST /netbox HTTP/1.1\r\nHost: h\r\nX-Hook-Signature: {forged}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                10 * 1024 * 1024 - 1
            )
            .unwrap();
            stream.write_all(&[b' '; 64 * 1024]).unwrap();
            stream
        })
        .collect();
    for stream in &mut large {
        let answer = closed_within(stream, Duration::from_secs(5)).expect("answered");
        assert!(
            answer.starts_with("HTTP/1.1 413") && answer.contains("netbox_max_body"),
            "{answer:?}"
        );
    }
    // 100 bodies under the limit, held back: 16 are read, the rest told to come back.
    let mut held: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut stream = connect(&gw.address);
            write!(
                stream,
                "POST /netbox HTTP/1.1\r\nHost: h\r\nX-Hook-Signature: {forged}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
            )
            .unwrap();
            stream.write_all(&[b' '; 1000]).unwrap();
            stream
        })
        .collect();
    assert_eq!(within_a_second(&gw.address, "/live").status, 200);
    let answers: Vec<String> = held
        .iter_mut()
        .map(|s| closed_within(s, Duration::from_secs(10)).expect("answered"))
        .collect();
    let busy = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 503") && a.contains("netbox_max_concurrent"))
        .count();
    let timed_out = answers
        .iter()
        .filter(|a| a.starts_with("HTTP/1.1 408"))
        .count();
    assert_eq!((busy, timed_out), (84, 16), "{answers:#?}");
    let peak = peak_kib(gw.process.child.id());
    eprintln!("gateway peak RSS after 200 hostile /netbox bodies: {peak} KiB");
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
    // NetBox itself still gets through.
    let body = r#"{"event": "created", "timestamp": "2026-12-07T00:00:00+00:00", "object_type": "dcim.site", "username": "admin", "request_id": "1", "data": {"id": 1}, "snapshots": null}"#;
    let signature = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha512>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    };
    let answer = call(
        &gw.address,
        "POST",
        "/netbox",
        &[
            ("Content-Type", "application/json"),
            ("X-Hook-Signature", &signature),
        ],
        body.as_bytes(),
    );
    assert_eq!(answer.status, 202, "{}", answer.body);
}

#[test]
fn a_body_cut_short_is_400_not_413() {
    let redis = RedisServer::start();
    let gw = gateway(&redis, "");
    let mut stream = connect(&gw.address);
    write!(
        stream,
        "POST /events HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"object_type\""
    )
    .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let answer = closed_within(&mut stream, Duration::from_secs(5)).expect("answered");
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("cut short"),
        "{answer:?}"
    );
}

#[test]
fn the_page_closes_slow_clients_and_keeps_redirects_on_itself() {
    let redis = RedisServer::start();
    let dir = project(&redis, "[ui]\nheader_timeout = 2\nbody_timeout = 2\n");
    let process = Running::start_in(dir.path(), &["background_tasks", "--bind", "127.0.0.1:0"]);
    let url = background_tasks_url(&process);
    let (base, token) = url.split_once("/?token=").unwrap();
    let address = base.trim_start_matches("http://").to_string();
    // An idle connection and a held-back form are both let go.
    let mut idle = connect(&address);
    assert!(closed_within(&mut idle, Duration::from_secs(6)).is_some());
    let mut form = connect(&address);
    write!(
        form,
        "POST /queues/default/requeue-failed HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50\r\n\r\nx"
    )
    .unwrap();
    let answer = closed_within(&mut form, Duration::from_secs(6)).expect("answered");
    assert!(
        answer.starts_with("HTTP/1.1 408") && answer.contains("body_timeout"),
        "{answer:?}"
    );
    // `?token=` redirects to the path asked for, never to another host.
    for (path, location) in [
        ("//evil.example/x", "/evil.example/x"),
        ("/\\evil.example/", "/evil.example/"),
        ("/%5C/evil.example/", "/%5C/evil.example/"),
    ] {
        let answer = call(&address, "GET", &format!("{path}?token={token}"), &[], b"");
        assert_eq!(answer.status, 303, "{path}");
        assert_eq!(answer.header("location"), Some(location), "{path}");
    }
    // The scheme's name is case-insensitive, as at the gateway.
    let bearer = format!("bearer {token}");
    let lower = call(&address, "GET", "/", &[("Authorization", &bearer)], b"");
    assert_eq!(lower.status, 200, "{}", lower.body);
    // A page number past any queue is an empty page, not an error.
    let far = call(
        &address,
        "GET",
        "/queues/default/queued?page=18446744073709551615&per_page=500",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(far.status, 200, "{}", far.body);
}

#[test]
fn the_receiver_bounds_trickles_connections_and_chunked_bodies() {
    // One deadline for the whole request: a byte a second is cut off at --read-timeout.
    let receiver = Receiver::start(&["--read-timeout", "2", "--max-connections", "3"]);
    let address = format!("127.0.0.1:{}", receiver.port);
    let mut stream = connect(&address);
    let sent = trickle(
        &mut stream,
        b"POST / HTTP/1.1\r\nHost: h\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        Duration::from_millis(500),
    );
    assert!(
        sent < 12,
        "a head sent a byte at a time was read for {sent} bytes"
    );
    // Three connections open: the fourth is answered 503, the three are still served.
    let mut held: Vec<TcpStream> = (0..3).map(|_| connect(&address)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut fourth = connect(&address);
    let refused = closed_within(&mut fourth, Duration::from_secs(5)).expect("answered");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused:?}");
    write!(
        held[0],
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let answer = closed_within(&mut held[0], Duration::from_secs(5)).expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    drop(held);
    drop(receiver);

    // A chunk size that would wrap the arithmetic is refused; memory stays flat.
    let receiver = Receiver::start(&["--max-body", "1MiB"]);
    let address = format!("127.0.0.1:{}", receiver.port);
    let mut stream = connect(&address);
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\nffffffffffffffff\r\n")
        .unwrap();
    let reader = std::thread::spawn({
        let mut stream = stream.try_clone().unwrap();
        move || {
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            String::from_utf8_lossy(&answer).into_owned()
        }
    });
    // Written until the receiver closes, or 1 GiB: after its 413 it reads and drops what
    // follows for a moment (so the answer is not lost to a reset), keeping none of it.
    let chunk = vec![b'x'; 1024 * 1024];
    let mut written = 0usize;
    while written < 1024 * 1024 * 1024 && stream.write_all(&chunk).is_ok() {
        written += chunk.len();
    }
    let answer = reader.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    let peak = peak_kib(receiver.pid());
    eprintln!("receiver peak RSS after {written} bytes of an oversized chunk: {peak} KiB");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
}

#[test]
fn the_connection_cap_is_fitted_to_the_descriptor_limit_so_accept_never_fails() {
    use std::os::unix::process::CommandExt;
    let redis = RedisServer::start();
    let dir = project(
        &redis,
        &format!(
            "[gateway]\ntoken = \"{TOKEN}\"\nheader_timeout = 30\n{}",
            hook("h", "http://127.0.0.1:9/hook", "")
        ),
    );
    let log = dir.path().join("stderr");
    let mut command = support::manage(dir.path());
    command
        .args(["event_gateway", "--bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    // SAFETY: setrlimit is async-signal-safe and touches only this child's limits.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = support::KillOnDrop(command.spawn().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.0.stdout.as_mut().unwrap()),
        &mut first,
    )
    .unwrap();
    let address = first
        .trim()
        .strip_prefix("Event gateway: http://")
        .unwrap_or_else(|| panic!("{first:?}"))
        .trim_end_matches("/events")
        .to_string();
    let stderr = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(5), || {
            stderr().contains("[gateway] max_connections = 4096 is more than the file-descriptor limit leaves room for; taking 192")
        }),
        "{}",
        stderr()
    );
    // More clients than descriptors: the cap refuses the rest, accept never runs out.
    let held: Vec<TcpStream> = (0..300).map(|_| connect(&address)).collect();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(within_a_second(&address, "/live").status, 503);
    assert!(!stderr().contains("cannot accept"), "{}", stderr());
    drop(held);
    assert!(wait_until(Duration::from_secs(5), || {
        call(&address, "GET", "/live", &[], b"").status == 200
    }));
}

#[test]
fn a_client_that_stops_reading_its_answers_loses_its_connection() {
    let redis = RedisServer::start();
    let gw = gateway(&redis, "max_connections = 2\nheader_timeout = 2");
    // Pipelines requests without ever reading: once the socket buffers fill, the gateway's
    // write makes no progress, and it must not hold the slot for ever.
    let stalled = connect(&gw.address);
    let writer = std::thread::spawn({
        let mut stream = stalled.try_clone().unwrap();
        move || {
            let request = b"GET /live HTTP/1.1\r\nHost: h\r\n\r\n".repeat(1000);
            for _ in 0..200 {
                if stream.write_all(&request).is_err() {
                    break;
                }
            }
        }
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(within_a_second(&gw.address, "/live").status, 200);
    // Past the stall (2 s), both slots are free again: two clients at once are served.
    assert!(
        wait_until(Duration::from_secs(15), || {
            let held = connect(&gw.address);
            let answered = call(&gw.address, "GET", "/live", &[], b"").status == 200;
            drop(held);
            answered
        }),
        "the stalled connection still holds its slot"
    );
    drop(stalled.shutdown(std::net::Shutdown::Both));
    let _ = writer.join();
}
