//! `manage webhook_receiver` end to end: the real binary on a real socket, driven by reqwest or
//! raw TCP, checked by what it prints and what it answers.

mod support;

use std::io::Write;

use hmac::{Hmac, Mac};
use sha2::Sha512;
use support::receiver::{
    assert_log_line, connect, exchange, read_response, split_blocks, Receiver, PATIENCE,
};

const RECEIVED: &[u8] = b"Webhook received!\n";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

#[test]
fn prints_requests_as_netbox_documents_them() {
    let receiver = Receiver::start(&[]);
    let port = receiver.port;
    let mut stream = connect(port);
    let docs_request = format!(
        "POST / HTTP/1.1\r\nHost: localhost:{port}\r\nUser-Agent: curl/7.58.0\r\nAccept: */*\r\n\
         Content-Length: 14\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{{\"foo\": \"bar\"}}"
    );
    stream.write_all(docs_request.as_bytes()).unwrap();
    let response = read_response(&mut stream);
    assert_eq!(response.status, 200);
    assert!(response.head.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(response.head.contains("\r\nContent-Type: text/plain\r\n"));
    assert_eq!(response.body, RECEIVED);

    // The same connection stays open (keep-alive); header case, order and the query are kept.
    stream
        .write_all(b"GET /hooks/a?b=1&c=%20 HTTP/1.1\r\nhost: x\r\nX-MiXeD-CaSe: Some Value\r\nACCEPT: */*\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream).status, 200);

    // HTTP/1.0 is shown as such, and its connection is closed after the answer.
    let mut old = connect(port);
    old.write_all(b"DELETE /old HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    let response = read_response(&mut old);
    assert_eq!(response.status, 200);
    assert_eq!(std::io::Read::read(&mut old, &mut [0u8; 16]).unwrap(), 0);

    let blocks = receiver.blocks(3);
    assert_log_line(&blocks[0][0], 1, "POST / HTTP/1.1", 200);
    assert_eq!(
        blocks[0][1..],
        lines(&format!(
            "Host: localhost:{port}\nUser-Agent: curl/7.58.0\nAccept: */*\nContent-Length: 14\n\
             Content-Type: application/x-www-form-urlencoded\n\n{{\"foo\": \"bar\"}}"
        ))[..]
    );
    assert_log_line(&blocks[1][0], 2, "GET /hooks/a?b=1&c=%20 HTTP/1.1", 200);
    assert_eq!(
        blocks[1][1..],
        lines("host: x\nX-MiXeD-CaSe: Some Value\nACCEPT: */*\n\n(No body)")[..]
    );
    assert_log_line(&blocks[2][0], 3, "DELETE /old HTTP/1.0", 200);
    assert_eq!(blocks[2][1..], lines("Host: x\n\n(No body)")[..]);
    let (status, printed) = receiver.stop(libc::SIGINT);
    assert!(status.success());
    assert_eq!(printed.iter().filter(|l| *l == "------------").count(), 3);
}

#[tokio::test]
async fn json_bodies_are_pretty_printed_like_python() {
    let receiver = Receiver::start(&["--no-headers"]);
    let http = client();
    let payload = r#"{"event":"created","data":{"id":4,"tags":[],"name":"café","nested":{"a":[1,null,true]}}}"#;
    for content_type in [
        "application/json; charset=utf-8",
        "application/vnd.api+json",
    ] {
        let response = http
            .post(receiver.url("/"))
            .header("Content-Type", content_type)
            .body(payload)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let expected = lines(
        r#"{
    "event": "created",
    "data": {
        "id": 4,
        "tags": [],
        "name": "café",
        "nested": {
            "a": [
                1,
                null,
                true
            ]
        }
    }
}"#,
    );
    for (i, block) in receiver.blocks(2).iter().enumerate() {
        assert_log_line(&block[0], i + 1, "POST / HTTP/1.1", 200);
        assert_eq!(block[1..], expected[..]);
    }
}

#[tokio::test]
async fn invalid_json_is_printed_as_received_and_counted() {
    let receiver = Receiver::start(&["--no-headers"]);
    let http = client();
    for body in [r#"{"foo": "#, r#"{"ok": 1}"#] {
        let response = http
            .post(receiver.url("/"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap(), RECEIVED);
    }
    let blocks = receiver.blocks(2);
    assert_log_line(&blocks[0][0], 1, "POST / HTTP/1.1", 200);
    assert_eq!(blocks[0][1..], [r#"{"foo": "#]);
    assert_log_line(&blocks[1][0], 2, "POST / HTTP/1.1", 200);
    assert_eq!(blocks[1][1..], lines("{\n    \"ok\": 1\n}")[..]);
}

#[test]
fn no_headers_prints_log_line_body_and_dashes_only() {
    let receiver = Receiver::start(&["--no-headers"]);
    let response = exchange(
        receiver.port,
        b"PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(response.status, 200);
    let (_, printed) = receiver.stop(libc::SIGINT);
    assert_log_line(&printed[1], 1, "PUT /x HTTP/1.1", 200);
    assert_eq!(printed[2..], lines("hello\n------------\n\nExiting...")[..]);
}

#[tokio::test]
async fn raw_prints_json_exactly_as_received() {
    let receiver = Receiver::start(&["--raw", "--no-headers"]);
    let body = r#"{"a":1,  "b":[2]}"#;
    let response = client()
        .post(receiver.url("/raw"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let blocks = receiver.blocks(1);
    assert_log_line(&blocks[0][0], 1, "POST /raw HTTP/1.1", 200);
    assert_eq!(blocks[0][1..], [body]);
}

#[tokio::test]
async fn status_flag_sets_the_answer_and_the_log_line() {
    let receiver = Receiver::start(&["--status", "500"]);
    let response = client().get(receiver.url("/fail")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    assert_eq!(response.bytes().await.unwrap(), RECEIVED);
    let blocks = receiver.blocks(1);
    assert_log_line(&blocks[0][0], 1, "GET /fail HTTP/1.1", 500);
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn secret_checks_x_hook_signature() {
    let receiver = Receiver::start(&["--secret", "s3cret"]);
    let http = client();
    let body = r#"{"event": "updated"}"#;
    let signatures = [
        Some(sign("s3cret", body.as_bytes())),
        Some(sign("wrong", body.as_bytes())),
        None,
    ];
    for signature in &signatures {
        let mut request = http
            .post(receiver.url("/"))
            .header("Content-Type", "text/plain")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Hook-Signature", signature);
        }
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
    let blocks = receiver.blocks(3);
    for (block, word) in blocks.iter().zip(["valid", "invalid", "missing"]) {
        let end = block.len();
        // After the headers and their empty line, before the body.
        assert_eq!(block[end - 3..], ["", &format!("Signature: {word}"), body]);
    }
}

#[test]
fn json_flag_prints_one_object_per_request() {
    let receiver = Receiver::start(&["--json", "--secret", "k"]);
    let body = br#"{"a": 1}"#;
    let request = format!(
        "POST /j?x=1 HTTP/1.1\r\nHost: h\r\nX-Hook-Signature: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        sign("k", body),
        body.len()
    );
    let mut stream = connect(receiver.port);
    stream
        .write_all(&[request.as_bytes(), body].concat())
        .unwrap();
    assert_eq!(read_response(&mut stream).status, 200);
    stream
        .write_all(b"PATCH / HTTP/1.1\r\nhost: h\r\nContent-Length: 2\r\n\r\n\xff\xfe")
        .unwrap();
    assert_eq!(read_response(&mut stream).status, 200);
    let printed = receiver.wait_for(|lines| lines.len() >= 2);
    // Standard output is JSON lines only: the Listening line went to standard error.
    for line in &printed {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    let first: serde_json::Value = serde_json::from_str(&printed[0]).unwrap();
    let time = first["time"].as_str().unwrap();
    assert!(
        regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
            .unwrap()
            .is_match(time),
        "time {time:?} is not RFC 3339"
    );
    let mut expected = serde_json::json!({
        "n": 1, "time": time, "client": "127.0.0.1", "method": "POST", "path": "/j?x=1",
        "version": "HTTP/1.1", "status": 200,
        "headers": [["Host", "h"], ["X-Hook-Signature", sign("k", body)],
                    ["Content-Type", "application/json"], ["Content-Length", "8"]],
        "body": r#"{"a": 1}"#, "signature": "valid",
    });
    assert_eq!(first, expected);
    let second: serde_json::Value = serde_json::from_str(&printed[1]).unwrap();
    expected = serde_json::json!({
        "n": 2, "time": second["time"], "client": "127.0.0.1", "method": "PATCH", "path": "/",
        "version": "HTTP/1.1", "status": 200,
        "headers": [["host", "h"], ["Content-Length", "2"]],
        "body": "\\xff\\xfe", "body_base64": "//4=", "signature": "missing",
    });
    assert_eq!(second, expected);
}

#[test]
fn non_utf8_bytes_are_escaped_with_a_note() {
    let receiver = Receiver::start(&["--no-headers"]);
    let response = exchange(
        receiver.port,
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\nabc\xff\xfed\xc3\xa9",
    );
    assert_eq!(response.status, 200);
    let blocks = receiver.blocks(1);
    assert_eq!(
        blocks[0][1..],
        [
            r"abc\xff\xfedé",
            r"(body is not valid UTF-8; non-UTF-8 bytes shown as \xNN escapes)"
        ]
    );
}

#[tokio::test]
async fn bodies_over_max_body_get_413() {
    let receiver = Receiver::start(&["--max-body", "1KiB", "--no-headers"]);
    let http = client();
    let too_big = http
        .post(receiver.url("/big"))
        .body(vec![b'x'; 1025])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    // Each request is printed after it is answered: wait for its block, so that the next one
    // (on another connection) cannot be numbered before it.
    receiver.blocks(1);
    let just_fits = http
        .post(receiver.url("/fits"))
        .body(vec![b'y'; 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(just_fits.status(), 200);
    receiver.blocks(2);
    let chunked = "POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n"
        .to_string()
        + &"z".repeat(1024)
        + "\r\n1\r\nz\r\n0\r\n\r\n";
    assert_eq!(exchange(receiver.port, chunked.as_bytes()).status, 413);
    let blocks = receiver.blocks(3);
    assert_log_line(&blocks[0][0], 1, "POST /big HTTP/1.1", 413);
    assert_eq!(
        blocks[0][1..],
        ["(Body of 1025 bytes exceeds --max-body 1024; request refused)"]
    );
    assert_log_line(&blocks[1][0], 2, "POST /fits HTTP/1.1", 200);
    assert_eq!(blocks[1][1..], ["y".repeat(1024)]);
    assert_log_line(&blocks[2][0], 3, "POST /chunked HTTP/1.1", 413);
    assert_eq!(
        blocks[2][1..],
        ["(Body of at least 1025 bytes exceeds --max-body 1024; request refused)"]
    );
}

#[test]
fn chunked_bodies_are_decoded() {
    let receiver = Receiver::start(&[]);
    let response = exchange(
        receiver.port,
        b"POST /c HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\n{\"a\":\r\n6;ext=1\r\n [1,2]\r\n1\r\n}\r\n0\r\n\r\n",
    );
    assert_eq!(response.status, 200);
    let blocks = receiver.blocks(1);
    assert_log_line(&blocks[0][0], 1, "POST /c HTTP/1.1", 200);
    assert_eq!(
        blocks[0][1..],
        lines(
            "Host: h\nContent-Type: application/json\nTransfer-Encoding: chunked\n\n\
             {\n    \"a\": [\n        1,\n        2\n    ]\n}"
        )[..]
    );
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let receiver = Receiver::start(&["--no-headers"]);
    let mut stream = connect(receiver.port);
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        )
        .unwrap();
    let interim = read_response(&mut stream);
    assert_eq!(interim.head, "HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"ping").unwrap();
    let response = read_response(&mut stream);
    assert_eq!(response.status, 200);
    assert_eq!(receiver.blocks(1)[0][1..], ["ping"]);
}

#[test]
fn bad_requests_are_refused_and_the_server_carries_on() {
    let receiver = Receiver::start(&["--no-headers"]);
    let malformed = exchange(receiver.port, b"THIS IS NOT HTTP\r\n\r\n");
    assert_eq!(malformed.status, 400);
    assert!(malformed.head.contains("\r\nConnection: close\r\n"));
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    assert_eq!(exchange(receiver.port, huge_header.as_bytes()).status, 431);
    let conflicting =
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
            .as_slice();
    assert_eq!(exchange(receiver.port, conflicting).status, 400);
    let good = exchange(receiver.port, b"GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(good.status, 200);
    // Refused requests are not printed and do not use up a number.
    let (_, printed) = receiver.stop(libc::SIGINT);
    let blocks = split_blocks(&printed[1..]);
    assert_eq!(blocks.len(), 1);
    assert_log_line(&blocks[0][0], 1, "GET /after HTTP/1.1", 200);
}

#[test]
fn a_stalled_client_is_dropped_without_blocking_others() {
    // PATIENCE is shorter than the default read timeout (30 s): only --read-timeout can close
    // the stalled connection in time.
    let receiver = Receiver::start(&["--read-timeout", "5", "--no-headers"]);
    let mut stalled = connect(receiver.port);
    stalled
        .write_all(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nonly")
        .unwrap();
    assert_eq!(
        exchange(receiver.port, b"GET /other HTTP/1.1\r\nHost: h\r\n\r\n").status,
        200
    );
    // The other request was answered while the stalled one was still open.
    stalled.set_nonblocking(true).unwrap();
    let open = std::io::Read::read(&mut stalled, &mut [0u8; 64]);
    assert!(
        matches!(&open, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the stalled connection was closed before the other request was answered: {open:?}"
    );
    stalled.set_nonblocking(false).unwrap();
    // Then the server closes it, without answering it.
    let read = std::io::Read::read(&mut stalled, &mut [0u8; 64]);
    assert!(
        matches!(read, Ok(0))
            || matches!(&read, Err(e) if e.kind() != std::io::ErrorKind::WouldBlock
                && e.kind() != std::io::ErrorKind::TimedOut),
        "{read:?}"
    );
    let blocks = receiver.blocks(1);
    assert_log_line(&blocks[0][0], 1, "GET /other HTTP/1.1", 200);
    let (_, printed) = receiver.stop(libc::SIGINT);
    assert_eq!(
        split_blocks(&printed[1..]).len(),
        1,
        "the stalled request is not printed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_print_whole_blocks() {
    const N: usize = 50;
    let receiver = Receiver::start(&[]);
    let http = client();
    let requests = (0..N).map(|i| {
        let request = http
            .post(receiver.url(&format!("/c/{i}")))
            .header("Content-Type", "text/plain")
            .body(format!("body of request {i}"));
        async move { request.send().await.unwrap().status() }
    });
    for status in futures::future::join_all(requests).await {
        assert_eq!(status, 200);
    }
    let blocks = receiver.blocks(N);
    assert_eq!(blocks.len(), N);
    let log = regex::Regex::new(r#"^\[(\d+)\] .* "POST /c/(\d+) HTTP/1\.1" 200 -$"#).unwrap();
    let mut counters = Vec::new();
    let mut seen = Vec::new();
    for block in &blocks {
        let captures = log
            .captures(&block[0])
            .unwrap_or_else(|| panic!("block does not start with a log line: {block:#?}"));
        counters.push(captures[1].parse::<usize>().unwrap());
        let i: usize = captures[2].parse().unwrap();
        seen.push(i);
        // Headers, the empty line, then this request's own body: nothing from another request.
        let blank = block.iter().position(String::is_empty).unwrap();
        assert!(
            block[1..blank].iter().all(|h| h.contains(": ")),
            "{block:#?}"
        );
        assert_eq!(block[blank + 1..], [format!("body of request {i}")]);
    }
    assert_eq!(counters, (1..=N).collect::<Vec<_>>());
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
}

#[test]
fn sigint_prints_exiting_and_exits_0() {
    let receiver = Receiver::start(&[]);
    assert_eq!(
        exchange(receiver.port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").status,
        200
    );
    receiver.blocks(1);
    let (status, printed) = receiver.stop(libc::SIGINT);
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        printed[printed.len() - 3..],
        ["------------", "", "Exiting..."]
    );
}

#[test]
fn sigterm_prints_exiting_and_exits_0() {
    let receiver = Receiver::start(&[]);
    let (status, printed) = receiver.stop(libc::SIGTERM);
    assert_eq!(status.code(), Some(0));
    assert_eq!(printed[1..], ["", "Exiting..."]);
}

#[test]
fn head_requests_get_no_body() {
    let receiver = Receiver::start(&["--no-headers"]);
    let mut stream = connect(receiver.port);
    stream
        .write_all(b"HEAD /h HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer:?}");
    assert!(answer.contains("\r\nContent-Length: 18\r\n"), "{answer:?}");
    assert!(
        answer.ends_with("\r\nConnection: close\r\n\r\n"),
        "{answer:?}"
    );
    let blocks = receiver.blocks(1);
    assert_log_line(&blocks[0][0], 1, "HEAD /h HTTP/1.1", 200);
    assert_eq!(blocks[0][1..], ["(No body)"]);
}

#[test]
fn bind_listens_on_the_address_given_and_nowhere_else() {
    // 127.0.0.2 is loopback too, but not 127.0.0.1.
    let receiver = Receiver::start(&["--bind", "127.0.0.2", "--no-headers"]);
    let first = receiver.lines()[0].clone();
    assert_eq!(
        first,
        format!(
            "Listening on port http://127.0.0.2:{}. Stop with CONTROL-C.",
            receiver.port
        )
    );
    let refused = std::net::TcpStream::connect(("127.0.0.1", receiver.port)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let mut stream = std::net::TcpStream::connect(("127.0.0.2", receiver.port)).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(b"GET /bound HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream).status, 200);
    let blocks = receiver.blocks(1);
    assert!(
        blocks[0][0].ends_with("\"GET /bound HTTP/1.1\" 200 -"),
        "{:?}",
        blocks[0]
    );
}

#[test]
fn delay_holds_each_answer_back() {
    // Far longer than the client waits: no answer may come in that second.
    let slow = Receiver::start(&["--delay", "60000", "--no-headers"]);
    let mut stream = connect(slow.port);
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(1)))
        .unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap();
    let early = std::io::Read::read(&mut stream, &mut [0u8; 64]);
    assert!(
        matches!(&early, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "answered at once: {early:?}"
    );
    assert_eq!(
        slow.lines().len(),
        1,
        "nothing printed before the answer: {:?}",
        slow.lines()
    );

    // A short delay still answers, and then prints the request.
    let short = Receiver::start(&["--delay", "200", "--no-headers"]);
    let response = exchange(short.port, b"GET /short HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, RECEIVED);
    assert_log_line(&short.blocks(1)[0][0], 1, "GET /short HTTP/1.1", 200);
}

/// The raw requests of the differential test: every combination of the framing headers' forms
/// and values, versions, bodies and head oddities that request smuggling and lenient parsers
/// live on (CL.TE and TE.CL, duplicated and empty framing headers, chunk sizes and extensions,
/// trailers, obs-fold, bare CR and LF, NUL, long lines, many fields, pipelining).
fn framing_corpus() -> Vec<Vec<u8>> {
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let head =
        |version: &str, fields: &str| format!("POST /p?q=1 {version}\r\nHost: h\r\n{fields}\r\n");
    let chunked_bodies: &[&str] = &[
        "5\r\nhello\r\n0\r\n\r\n",
        "5;a=b\r\nhello\r\n0\r\n\r\n",
        "5;\r\nhello\r\n0\r\n\r\n",
        "5 \r\nhello\r\n0\r\n\r\n",
        "05\r\nhello\r\n00\r\n\r\n",
        "A\r\n0123456789\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "1\r\na\r\nffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX\r\n0\r\n\r\n",
        "5\nhello\n0\n\n",
        "5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
        "5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
        "5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n",
        "5\r\nhello\r\n0\r\n",
        "5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
        "5\r\nhello\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
        "5\r\nhel",
    ];
    let long_extension = format!("5;{}\r\nhello\r\n0\r\n\r\n", "x".repeat(5000));
    let te_values = [
        "chunked",
        "Chunked",
        " chunked",
        "chunked ",
        "gzip, chunked",
        "chunked, gzip",
        "identity",
        "",
        "chunked, chunked",
        "xchunked",
        "chunked;q=1",
        "\tchunked",
    ];
    for version in ["HTTP/1.1", "HTTP/1.0"] {
        for te in te_values {
            for body in chunked_bodies.iter().take(3) {
                corpus.push(
                    format!(
                        "{}{body}",
                        head(version, &format!("Transfer-Encoding: {te}\r\n"))
                    )
                    .into_bytes(),
                );
            }
        }
        for body in chunked_bodies {
            corpus.push(
                format!("{}{body}", head(version, "Transfer-Encoding: chunked\r\n")).into_bytes(),
            );
        }
        corpus.push(
            format!(
                "{}{long_extension}",
                head(version, "Transfer-Encoding: chunked\r\n")
            )
            .into_bytes(),
        );
        for cl in [
            "5",
            " 5",
            "5 ",
            "05",
            "+5",
            "-5",
            "5,5",
            "5, 6",
            "",
            "0x5",
            "5a",
            "99999999999999999999",
            "5\t",
            "3",
            "9",
        ] {
            corpus.push(
                format!(
                    "{}hello",
                    head(version, &format!("Content-Length: {cl}\r\n"))
                )
                .into_bytes(),
            );
        }
        for (a, b) in [("5", "5"), ("5", "6"), ("5", "")] {
            corpus.push(
                format!(
                    "{}hello",
                    head(
                        version,
                        &format!("Content-Length: {a}\r\nContent-Length: {b}\r\n")
                    )
                )
                .into_bytes(),
            );
        }
    }
    // CL.TE and TE.CL, and framing headers spelled to slip past one parser or another.
    for fields in [
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 100\r\n",
        "Transfer-Encoding : chunked\r\n",
        "Transfer_Encoding: chunked\r\n",
        " Transfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
        "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding:\r\n chunked\r\n",
        "Content-Length : 5\r\n",
        "Content-Length: 5\r\n\r\n",
    ] {
        corpus.push(format!("{}5\r\nhello\r\n0\r\n\r\n", head("HTTP/1.1", fields)).into_bytes());
    }
    // The head itself.
    for raw in [
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.1\nHost: h\n\n",
        "GET / HTTP/1.1\r\nHost: h\nX: 1\r\n\r\n",
        "GET / HTTP/1.1\rHost: h\r\r",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nBad Name: 1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX:no-space\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nX:   padded   \r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http://h/abs HTTP/1.1\r\nHost: h\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.2\r\nHost: h\r\n\r\n",
        "GET / http/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
        "get / HTTP/1.1\r\nHost: h\r\n\r\n",
        "M-SEARCH / HTTP/1.1\r\nHost: h\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nabGET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
        "GET / HTTP/1.1\r\nHost: h\r\n",
    ] {
        corpus.push(raw.as_bytes().to_vec());
    }
    for count in [98, 99, 100, 150] {
        let fields: String = (0..count).map(|i| format!("X-{i}: {i}\r\n")).collect();
        corpus.push(format!("GET / HTTP/1.1\r\nHost: h\r\n{fields}\r\n").into_bytes());
    }
    for size in [1000, 60_000, 70_000] {
        corpus.push(
            format!(
                "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
                "v".repeat(size)
            )
            .into_bytes(),
        );
    }
    corpus
}

/// One request as a parser framed it, for comparing the receiver's view with h11's.
#[derive(Debug, PartialEq)]
struct Framed {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// `[[name, value], …]` as JSON (h11's frames and our `--json` lines both write it) as pairs.
fn header_pairs(headers: &serde_json::Value) -> Vec<(String, String)> {
    headers
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h[0].as_str().unwrap().into(), h[1].as_str().unwrap().into()))
        .collect()
}

/// Headers as both parsers' views can be compared: h11 lowercases `Transfer-Encoding` and
/// folds repeated equal `Content-Length` values into one, where the receiver shows them as sent.
fn comparable(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let framing = name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("content-length");
        let value = if framing {
            value.trim().to_ascii_lowercase()
        } else {
            value
        };
        if name.eq_ignore_ascii_case("content-length") {
            let value = value
                .split(',')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            if out
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(&name) && *v == value)
            {
                continue;
            }
            out.push((name, value));
        } else {
            out.push((name, value));
        }
    }
    out
}

/// The receiver against h11 on [`framing_corpus`]: each raw request stream goes to a real
/// `webhook_receiver` on its own connection (then half-closed) and to h11, which reads it as a
/// server would. Every request the receiver answers 2XX and prints, h11 reads too, in the same
/// order and framed the same way (method, target, version, headers, body); where h11 refuses a
/// request, the receiver refuses it. The receiver refuses more on purpose, and the count is
/// printed: Transfer-Encoding in HTTP/1.0, obs-fold (in the head and in trailers, a line that
/// starts with a space included), versions other than 1.0 and 1.1, more than 100 fields, a head
/// over 64 KiB (h11 holds only incomplete heads to its limit) and chunk lines over 4 KiB.
#[test]
fn framing_matches_h11_on_a_corpus_of_malformed_and_edge_case_requests() {
    use base64::Engine as _;
    use std::io::Read;
    let corpus = framing_corpus();
    assert!(corpus.len() >= 100, "{} cases", corpus.len());
    let encoded: Vec<String> = corpus
        .iter()
        .map(|case| base64::engine::general_purpose::STANDARD.encode(case))
        .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/h11_frames.py");
    let out = support::run_with_input(
        std::process::Command::new(support::python()).args([script, "65536"]),
        serde_json::to_string(&encoded).unwrap().as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let receiver = Receiver::start(&[
        "--json",
        "--raw",
        "--max-body",
        "1MiB",
        "--read-timeout",
        "2",
    ]);
    let mut answered = Vec::new();
    for case in &corpus {
        let mut stream = connect(receiver.port);
        let _ = stream.write_all(case);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw);
        answered.push(text.matches("HTTP/1.1 200 OK\r\n").count());
    }
    let total: usize = answered.iter().sum();
    let printed: Vec<serde_json::Value> = receiver
        .wait_for(|lines| {
            lines
                .iter()
                .filter(|l| l.contains("\"status\":200"))
                .count()
                >= total
        })
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|request: &serde_json::Value| request["status"] == 200)
        .collect();
    assert_eq!(printed.len(), total);
    let mut printed = printed.into_iter();
    let (mut both, mut stricter) = (0, 0);
    for ((case, verdict), count) in corpus.iter().zip(&verdicts).zip(&answered) {
        let shown = String::from_utf8_lossy(case);
        let theirs: Vec<Framed> = verdict["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| Framed {
                method: r["method"].as_str().unwrap().into(),
                target: r["target"].as_str().unwrap().into(),
                version: r["version"].as_str().unwrap().into(),
                headers: comparable(header_pairs(&r["headers"])),
                body: String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(r["body"].as_str().unwrap())
                        .unwrap(),
                )
                .unwrap(),
            })
            .collect();
        let ours: Vec<Framed> = (0..*count)
            .map(|_| {
                let r = printed.next().unwrap();
                Framed {
                    method: r["method"].as_str().unwrap().into(),
                    target: r["path"].as_str().unwrap().into(),
                    version: r["version"].as_str().unwrap().into(),
                    headers: comparable(header_pairs(&r["headers"])),
                    body: r["body"].as_str().unwrap_or_default().into(),
                }
            })
            .collect();
        assert!(
            ours.len() <= theirs.len(),
            "the receiver accepted a request h11 refuses ({}): {shown:?}\nours: {ours:?}\nh11: {theirs:?}",
            verdict["error"]
        );
        assert_eq!(
            ours[..],
            theirs[..ours.len()],
            "framed differently: {shown:?}"
        );
        both += ours.len();
        if ours.len() < theirs.len() {
            stricter += 1;
        }
    }
    println!(
        "{} cases: {both} requests accepted by both, framed alike; {stricter} cases where the receiver refused what h11 took",
        corpus.len()
    );
    assert!(
        both >= 50,
        "too few requests accepted by both to compare: {both}"
    );
}
