//! The printed record of one request: NetBox's block of lines (log line, headers, body, dashes),
//! or with `--json` one JSON object on one line for scripts.

use std::{borrow::Cow, fmt::Write, net::IpAddr, time::SystemTime};

use base64::Engine;

use super::{http1::Head, options::ReceiverOptions, pretty, signature::Signature, sink::Block};

/// The line that ends every block, as NetBox prints it.
pub const SEPARATOR: &str = "------------";

/// The note printed after a body that is not valid UTF-8.
pub const NOT_UTF8: &str = "(body is not valid UTF-8; non-UTF-8 bytes shown as \\xNN escapes)";

/// Everything printed about one request.
pub struct Exchange<'a> {
    /// When the request head was complete.
    pub at: SystemTime,
    /// The client's IP address.
    pub client: IpAddr,
    /// The request head.
    pub head: &'a Head,
    /// The status the client is answered with.
    pub status: u16,
    /// The body, or why it was refused.
    pub body: Body<'a>,
    /// The `--secret` check, when asked for.
    pub signature: Option<Signature>,
}

/// What became of the request body.
pub enum Body<'a> {
    /// The body's bytes (empty when there was none).
    Received(&'a [u8]),
    /// Refused for being over `--max-body`.
    Refused {
        /// The size sent (Content-Length), or reached before the limit was crossed (chunked).
        size: u64,
        /// Whether `size` is the whole body's size.
        exact: bool,
        /// The `--max-body` limit.
        limit: u64,
    },
}

impl Body<'_> {
    fn refusal(&self) -> Option<String> {
        match *self {
            Body::Received(_) => None,
            Body::Refused { size, exact, limit } => Some(format!(
                "Body of {}{size} bytes exceeds --max-body {limit}; request refused",
                if exact { "" } else { "at least " }
            )),
        }
    }
}

/// The record of `exchange`, in the style `options` ask for.
pub fn block(exchange: &Exchange, options: &ReceiverOptions) -> Block {
    if options.json {
        json_block(exchange, options)
    } else {
        text_block(exchange, options)
    }
}

/// NetBox's lines, starting after the `[` of `[N]`.
fn text_block(exchange: &Exchange, options: &ReceiverOptions) -> Block {
    let head = exchange.head;
    let body_len = match exchange.body {
        Body::Received(bytes) => bytes.len(),
        Body::Refused { .. } => 0,
    };
    let mut text = String::with_capacity(256 + head.headers.len() * 48 + body_len * 2);
    let _ = writeln!(
        text,
        "] {} {} \"{} {} {}\" {} -",
        httpdate::fmt_http_date(exchange.at),
        exchange.client,
        head.method,
        head.target,
        head.version(),
        exchange.status
    );
    if !options.no_headers {
        for (name, value) in &head.headers {
            let _ = writeln!(text, "{name}: {}", escaped(value).0);
        }
        text.push('\n');
    }
    if let Some(signature) = exchange.signature {
        let _ = writeln!(text, "Signature: {}", signature.as_str());
    }
    match exchange.body {
        Body::Refused { .. } => {
            let _ = writeln!(text, "({})", exchange.body.refusal().unwrap_or_default());
        }
        Body::Received([]) => text.push_str("(No body)\n"),
        Body::Received(bytes) => {
            let (shown, utf8) = escaped(bytes);
            let pretty = (utf8 && !options.raw && is_json(head.header("content-type")))
                .then(|| pretty::reindent(&shown))
                .flatten();
            text.push_str(pretty.as_deref().unwrap_or(&shown));
            text.push('\n');
            if !utf8 {
                text.push_str(NOT_UTF8);
                text.push('\n');
            }
        }
    }
    text.push_str(SEPARATOR);
    text.push('\n');
    Block::new("[", text)
}

/// The `--json` record; the writer puts `{"n":N` in front.
#[derive(serde::Serialize)]
struct Record<'a> {
    time: String,
    client: String,
    method: &'a str,
    path: &'a str,
    version: &'static str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Vec<(&'a str, Cow<'a, str>)>>,
    body: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn json_block(exchange: &Exchange, options: &ReceiverOptions) -> Block {
    let head = exchange.head;
    let bytes = match exchange.body {
        Body::Received(bytes) => bytes,
        Body::Refused { .. } => &[],
    };
    let (body, utf8) = escaped(bytes);
    let record = Record {
        time: chrono::DateTime::<chrono::Utc>::from(exchange.at)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        client: exchange.client.to_string(),
        method: &head.method,
        path: &head.target,
        version: head.version(),
        status: exchange.status,
        headers: (!options.no_headers).then(|| {
            head.headers
                .iter()
                .map(|(name, value)| (name.as_str(), escaped(value).0))
                .collect()
        }),
        body,
        body_base64: (!utf8).then(|| base64::engine::general_purpose::STANDARD.encode(bytes)),
        signature: exchange.signature.map(Signature::as_str),
        error: exchange.body.refusal(),
    };
    let object = serde_json::to_string(&record).expect("a record always serializes");
    Block::new("{\"n\":", format!(",{}\n", &object[1..]))
}

/// `bytes` as text, with bytes that are not UTF-8 shown as `\xNN`; the flag says whether the
/// text is exactly the bytes.
fn escaped(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (Cow::Borrowed(text), true);
    }
    let mut text = String::with_capacity(bytes.len() * 2);
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for byte in chunk.invalid() {
            let _ = write!(text, "\\x{byte:02x}");
        }
    }
    (Cow::Owned(text), false)
}

/// Whether a Content-Type names JSON: `application/json` or any `+json` type, parameters ignored.
fn is_json(content_type: Option<&[u8]>) -> bool {
    let Some(value) = content_type else {
        return false;
    };
    let media = value.split(|&b| b == b';').next().unwrap_or_default();
    let media = String::from_utf8_lossy(media.trim_ascii()).to_ascii_lowercase();
    media == "application/json"
        || media
            .split_once('/')
            .is_some_and(|(_, subtype)| subtype.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(content_type: &str) -> Head {
        Head {
            method: "POST".into(),
            target: "/x?y=1".into(),
            minor_version: 1,
            headers: vec![
                ("Host".into(), b"localhost:9000".to_vec()),
                ("content-TYPE".into(), content_type.as_bytes().to_vec()),
            ],
            size: 64,
        }
    }

    fn exchange<'a>(head: &'a Head, body: Body<'a>) -> Exchange<'a> {
        Exchange {
            at: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1586281442),
            client: "127.0.0.1".parse().unwrap(),
            head,
            status: 200,
            body,
            signature: None,
        }
    }

    #[test]
    fn netbox_lines() {
        let head = head("application/json; charset=utf-8");
        let text = block(
            &exchange(&head, Body::Received(br#"{"a":1}"#)),
            &ReceiverOptions::default(),
        )
        .numbered(7);
        assert_eq!(
            text,
            "[7] Tue, 07 Apr 2020 17:44:02 GMT 127.0.0.1 \"POST /x?y=1 HTTP/1.1\" 200 -\n\
             Host: localhost:9000\ncontent-TYPE: application/json; charset=utf-8\n\n\
             {\n    \"a\": 1\n}\n------------\n"
        );
    }

    #[test]
    fn json_detection() {
        assert!(is_json(Some(b"application/json")));
        assert!(is_json(Some(b" Application/JSON ;charset=utf-8")));
        assert!(is_json(Some(b"application/vnd.api+json")));
        assert!(!is_json(Some(b"application/x-www-form-urlencoded")));
        assert!(!is_json(Some(b"text/plain; note=application/json")));
        assert!(!is_json(None));
    }

    #[test]
    fn refused_non_utf8_and_empty_bodies() {
        let head = head("text/plain");
        let options = ReceiverOptions {
            no_headers: true,
            ..ReceiverOptions::default()
        };
        let refused = Body::Refused {
            size: 20,
            exact: true,
            limit: 16,
        };
        let text = block(&exchange(&head, refused), &options).numbered(1);
        assert!(text.ends_with(
            "\" 200 -\n(Body of 20 bytes exceeds --max-body 16; request refused)\n------------\n"
        ));
        let text = block(&exchange(&head, Body::Received(b"ok \xff\xfe")), &options).numbered(1);
        assert!(text.ends_with(&format!("-\nok \\xff\\xfe\n{NOT_UTF8}\n------------\n")));
        let text = block(&exchange(&head, Body::Received(b"")), &options).numbered(1);
        assert!(text.ends_with("-\n(No body)\n------------\n"));
    }

    #[test]
    fn json_record() {
        let head = head("application/json");
        let options = ReceiverOptions {
            json: true,
            ..ReceiverOptions::default()
        };
        let mut exchange = exchange(&head, Body::Received(b"{\"a\": \xff}"));
        exchange.signature = Some(Signature::Missing);
        let line = block(&exchange, &options).numbered(3);
        assert_eq!(
            line,
            "{\"n\":3,\"time\":\"2020-04-07T17:44:02.000Z\",\"client\":\"127.0.0.1\",\
             \"method\":\"POST\",\"path\":\"/x?y=1\",\"version\":\"HTTP/1.1\",\"status\":200,\
             \"headers\":[[\"Host\",\"localhost:9000\"],[\"content-TYPE\",\"application/json\"]],\
             \"body\":\"{\\\"a\\\": \\\\xff}\",\"body_base64\":\"eyJhIjog/30=\",\
             \"signature\":\"missing\"}\n"
        );
    }
}
