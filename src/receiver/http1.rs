//! Just enough HTTP/1.1 for a receiver that must show requests as they were sent. `httparse` reads
//! the request head and keeps header names in their original case and order (hyper would lowercase
//! them). This module also decides how the body is delimited, decodes chunked bodies, and writes
//! the response bytes.

use bytes::{Buf, BytesMut};

/// The most header fields one request may carry, trailer fields included; more is answered with
/// 431, as hyper answers past its 100.
pub const MAX_HEADERS: usize = 100;

/// The longest chunk-size line accepted (size, extensions and CRLF).
const MAX_CHUNK_LINE: usize = 4096;

/// A request head, copied out of the read buffer so the buffer can move on to the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The method as sent (`POST`, `GET`, or anything else).
    pub method: String,
    /// The request-target as sent, query string included.
    pub target: String,
    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Every header field in the order received, names in their original case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The head's length on the wire, request line and final empty line included.
    pub size: usize,
}

/// Why a request cannot be served; each maps to the status the client gets before the connection
/// is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Not valid HTTP/1.x (400).
    Malformed(String),
    /// The head is longer than allowed or has too many fields (431).
    HeadTooLarge,
    /// The body is longer than `--max-body` (413): its size, or for a chunked body the size it
    /// had reached when the limit was crossed.
    BodyTooLarge(u64),
}

impl RequestError {
    /// The status code the client is sent.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::HeadTooLarge => 431,
            Self::BodyTooLarge(_) => 413,
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(reason) => write!(f, "malformed request: {reason}"),
            Self::HeadTooLarge => f.write_str("request header section too large"),
            Self::BodyTooLarge(size) => write!(f, "request body of {size} bytes too large"),
        }
    }
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No Content-Length and no Transfer-Encoding: there is no body.
    Empty,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Parses a request head from the front of `buf` and removes it from the buffer. `Ok(None)` means
/// more bytes are needed. A head longer than `max_head` bytes is refused rather than buffered.
pub fn parse_head(buf: &mut BytesMut, max_head: usize) -> Result<Option<Head>, RequestError> {
    // RFC 9112 §2.2 lets a server skip empty lines before a request line; h11 refuses them, and
    // so do we: what one parser skips and another reads is where smuggling starts.
    if buf.first().is_some_and(|b| matches!(b, b'\r' | b'\n')) && buf.len() > 2 {
        return Err(RequestError::Malformed(
            "an empty line before the request line".into(),
        ));
    }
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut fields);
    let length = match request.parse(buf) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) if buf.len() > max_head => {
            return Err(RequestError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::HeadTooLarge),
        Err(error) => return Err(RequestError::Malformed(error.to_string())),
    };
    if length > max_head {
        return Err(RequestError::HeadTooLarge);
    }
    let head = Head {
        method: request.method.unwrap_or_default().to_string(),
        target: request.path.unwrap_or_default().to_string(),
        minor_version: request.version.unwrap_or(1),
        headers: request
            .headers
            .iter()
            .map(|field| (field.name.to_string(), field.value.to_vec()))
            .collect(),
        size: length,
    };
    buf.advance(length);
    Ok(Some(head))
}

impl Head {
    /// The first value of the header `name`, matched without regard to case.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// The comma-separated tokens of every `name` header, trimmed and lowercased.
    fn tokens(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(field, _)| field.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(|&b| b == b','))
            .map(|token| String::from_utf8_lossy(token.trim_ascii()).to_ascii_lowercase())
            .filter(|token| !token.is_empty())
            .collect()
    }

    /// `HTTP/1.0` or `HTTP/1.1`, for the printed request line.
    pub fn version(&self) -> &'static str {
        if self.minor_version == 0 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        }
    }

    /// How the body is delimited (RFC 9112 §6.3). Transfer-Encoding wins over Content-Length;
    /// a Transfer-Encoding that does not end in `chunked`, or conflicting or unreadable
    /// Content-Length values, make the request malformed.
    pub fn framing(&self) -> Result<Framing, RequestError> {
        // RFC 9112 §3.2: an HTTP/1.1 request without Host, or with more than one, gets 400.
        let hosts = self
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("host"))
            .count();
        if hosts > 1 || (hosts == 0 && self.minor_version >= 1) {
            let reason = if hosts > 1 {
                "more than one Host header"
            } else {
                "no Host header"
            };
            return Err(RequestError::Malformed(reason.into()));
        }
        for (name, value) in &self.headers {
            let framing = name.eq_ignore_ascii_case("transfer-encoding")
                || name.eq_ignore_ascii_case("content-length");
            // An empty value is no framing at all; hyper refuses it, and so do we, rather than
            // guess what a proxy in front of us made of it.
            if framing && value.trim_ascii().is_empty() {
                return Err(RequestError::Malformed(format!("empty {name} header")));
            }
        }
        let codings = self.tokens("transfer-encoding");
        if !codings.is_empty() && self.minor_version == 0 {
            // HTTP/1.0 has no Transfer-Encoding (RFC 9112 §6.1): a 1.0 peer would read the
            // chunks as the body, so the request's end is ambiguous.
            return Err(RequestError::Malformed(
                "Transfer-Encoding in an HTTP/1.0 request".into(),
            ));
        }
        if !codings.is_empty() {
            // Only `chunked` alone: a body under another coding (gzip, chunked) would be printed
            // still coded, and h11 and most servers refuse it too.
            return if codings == ["chunked"] {
                Ok(Framing::Chunked)
            } else {
                Err(RequestError::Malformed(format!(
                    "unsupported Transfer-Encoding {:?} (only chunked is)",
                    codings.join(", ")
                )))
            };
        }
        let mut length = None;
        for token in self.tokens("content-length") {
            let value = token
                .parse::<u64>()
                .ok()
                .filter(|_| token.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| RequestError::Malformed(format!("bad Content-Length {token:?}")))?;
            if length.is_some_and(|seen| seen != value) {
                return Err(RequestError::Malformed(
                    "conflicting Content-Length values".into(),
                ));
            }
            length = Some(value);
        }
        Ok(length.map_or(Framing::Empty, Framing::Length))
    }

    /// Whether the connection stays open after the response: HTTP/1.1 unless `Connection:
    /// close`. An HTTP/1.0 connection is closed after its answer, keep-alive or not, as h11
    /// does: 1.0's keep-alive is an old extension no webhook sender needs.
    pub fn keep_alive(&self) -> bool {
        self.minor_version >= 1 && !self.tokens("connection").iter().any(|t| t == "close")
    }

    /// Whether the client waits for `100 Continue` before sending the body.
    pub fn expects_continue(&self) -> bool {
        self.minor_version >= 1
            && self
                .header("expect")
                .is_some_and(|value| value.trim_ascii().eq_ignore_ascii_case(b"100-continue"))
    }
}

/// Where a chunked body is in its decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ChunkState {
    /// Expecting a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data, with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: skipping trailer fields up to the empty line.
    Trailer,
    /// The body is complete.
    Done,
}

/// Decodes a `Transfer-Encoding: chunked` body as its bytes arrive, so the connection can read
/// whatever the socket gives and feed it in.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: ChunkState,
    /// Room left for the trailer section (bytes, and fields): what the head did not use.
    trailer_room: (usize, usize),
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::with_trailer_room(64 * 1024, MAX_HEADERS)
    }
}

impl ChunkedDecoder {
    /// A decoder whose trailer section may take `bytes` and `fields` at most: the head's
    /// limits less what the head used, so head and trailers together stay within them.
    pub fn with_trailer_room(bytes: usize, fields: usize) -> Self {
        Self {
            state: ChunkState::Size,
            trailer_room: (bytes, fields),
        }
    }

    /// The trailer section, parsed as header fields (httparse validates each name and value),
    /// once it is complete; refused with 431 past its room, 400 when a field is malformed.
    fn trailer(&mut self, input: &mut BytesMut) -> Result<bool, RequestError> {
        let (room, fields_room) = self.trailer_room;
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::parse_headers(input, &mut fields) {
            Ok(httparse::Status::Complete((used, parsed))) => {
                if used > room || parsed.len() > fields_room {
                    return Err(RequestError::HeadTooLarge);
                }
                input.advance(used);
                self.state = ChunkState::Done;
                Ok(true)
            }
            Ok(httparse::Status::Partial) if input.len() > room => Err(RequestError::HeadTooLarge),
            Ok(httparse::Status::Partial) => Ok(false),
            Err(httparse::Error::TooManyHeaders) => Err(RequestError::HeadTooLarge),
            Err(error) => Err(RequestError::Malformed(format!("bad trailer: {error}"))),
        }
    }

    /// Moves what it can from `input` into `body`. Returns `Ok(true)` once the last chunk and the
    /// trailer section are consumed, `Ok(false)` when it needs more input. Fails when the body
    /// would grow past `max_body` bytes or the framing is broken.
    pub fn decode(
        &mut self,
        input: &mut BytesMut,
        body: &mut BytesMut,
        max_body: u64,
    ) -> Result<bool, RequestError> {
        loop {
            match self.state {
                ChunkState::Size => match httparse::parse_chunk_size(input) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        input.advance(used);
                        // Checked: a chunk size near u64::MAX must not wrap past the limit.
                        let total = (body.len() as u64).checked_add(size);
                        if size == 0 {
                            self.state = ChunkState::Trailer;
                        } else if total.is_none_or(|total| total > max_body) {
                            return Err(RequestError::BodyTooLarge(total.unwrap_or(u64::MAX)));
                        } else {
                            self.state = ChunkState::Data(size);
                        }
                    }
                    Ok(httparse::Status::Partial) if input.len() > MAX_CHUNK_LINE => {
                        return Err(RequestError::Malformed("chunk-size line too long".into()))
                    }
                    Ok(httparse::Status::Partial) => return Ok(false),
                    Err(_) => return Err(RequestError::Malformed("bad chunk size".into())),
                },
                ChunkState::Data(left) => {
                    if input.is_empty() {
                        return Ok(false);
                    }
                    let take = left.min(input.len() as u64) as usize;
                    body.extend_from_slice(&input.split_to(take));
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                }
                ChunkState::DataEnd => {
                    if input.len() < 2 {
                        return Ok(false);
                    }
                    if &input[..2] != b"\r\n" {
                        return Err(RequestError::Malformed(
                            "chunk data not followed by CRLF".into(),
                        ));
                    }
                    input.advance(2);
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailer => return self.trailer(input),
                ChunkState::Done => return Ok(true),
            }
        }
    }
}

/// The body every accepted request is answered with, as NetBox's receiver does.
pub const RECEIVED: &[u8] = b"Webhook received!\n";

/// The standard reason phrase of `status` (`OK`, `Internal Server Error`, …).
pub fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Unknown")
}

/// Appends a complete response to `out`: status line, `Content-Type`, `Content-Length`, `Date`,
/// `Connection` when it differs from the version's default, then `body`. `request` is the request
/// answered (`None` when its head could not be read): a `HEAD` request gets no body, and an
/// HTTP/1.0 keep-alive request is told the connection stays open. Statuses that must not carry a
/// body (1xx, 204, 304) get neither a body nor a length.
pub fn write_response(
    out: &mut Vec<u8>,
    status: u16,
    body: &[u8],
    request: Option<&Head>,
    close: bool,
) {
    let bodiless = status < 200 || status == 204 || status == 304;
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason(status)).as_bytes());
    if !bodiless {
        out.extend_from_slice(b"Content-Type: text/plain\r\n");
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"Date: ");
    out.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
    out.extend_from_slice(b"\r\n");
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if request.is_some_and(|head| head.minor_version == 0) {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !bodiless && request.is_none_or(|head| head.method != "HEAD") {
        out.extend_from_slice(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Result<Option<Head>, RequestError> {
        parse_head(&mut BytesMut::from(raw), 64 * 1024)
    }

    #[test]
    fn keeps_header_case_order_and_target() {
        let mut buf =
            BytesMut::from("POST /a?b=1 HTTP/1.1\r\nHost: x\r\nX-MiXed: 1\r\nhost: y\r\n\r\nBODY");
        let head = parse_head(&mut buf, 1024).unwrap().unwrap();
        assert_eq!(head.method, "POST");
        assert_eq!(head.target, "/a?b=1");
        assert_eq!(head.version(), "HTTP/1.1");
        let names: Vec<&str> = head.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Host", "X-MiXed", "host"]);
        assert_eq!(head.header("HOST"), Some(&b"x"[..]));
        assert_eq!(&buf[..], b"BODY");
    }

    #[test]
    fn partial_head_waits_and_oversized_head_is_refused() {
        assert_eq!(head("GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(200));
        assert_eq!(
            parse_head(&mut BytesMut::from(long.as_str()), 100),
            Err(RequestError::HeadTooLarge)
        );
        let many: String = (0..200).map(|i| format!("X-{i}: 1\r\n")).collect();
        assert_eq!(
            head(&format!("GET / HTTP/1.1\r\n{many}\r\n")),
            Err(RequestError::HeadTooLarge)
        );
        assert!(matches!(
            head("NOT HTTP\r\n\r\n"),
            Err(RequestError::Malformed(_))
        ));
    }

    #[test]
    fn framing_follows_rfc_9112() {
        let framing = |raw: &str| head(raw).unwrap().unwrap().framing();
        assert_eq!(
            framing("GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            Ok(Framing::Empty)
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Ok(Framing::Chunked)
        );
        assert!(
            framing("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
                .is_err()
        );
        assert!(framing("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n").is_err());
        assert!(framing(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
        )
        .is_err());
        assert!(framing("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n").is_err());
    }

    #[test]
    fn keep_alive_and_expect() {
        let parsed = |raw: &str| head(raw).unwrap().unwrap();
        assert!(parsed("GET / HTTP/1.1\r\n\r\n").keep_alive());
        assert!(!parsed("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive());
        assert!(!parsed("GET / HTTP/1.0\r\n\r\n").keep_alive());
        assert!(!parsed("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
        assert!(parsed("POST / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n").expects_continue());
        assert!(!parsed("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expects_continue());
    }

    #[test]
    fn chunked_body_decodes_byte_by_byte() {
        let wire = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let mut decoder = ChunkedDecoder::default();
        let (mut input, mut body) = (BytesMut::new(), BytesMut::new());
        let mut done_at = None;
        for (i, byte) in wire.iter().enumerate() {
            input.extend_from_slice(&[*byte]);
            if decoder.decode(&mut input, &mut body, 100).unwrap() {
                done_at = Some(i);
                break;
            }
        }
        assert_eq!(&body[..], b"Wikipedia");
        assert_eq!(done_at, Some(wire.len() - 5));
    }

    #[test]
    fn chunked_body_limits_and_errors() {
        let decode = |wire: &str, max: u64| {
            ChunkedDecoder::default().decode(&mut BytesMut::from(wire), &mut BytesMut::new(), max)
        };
        assert_eq!(
            decode("a\r\n0123456789\r\n0\r\n\r\n", 9),
            Err(RequestError::BodyTooLarge(10))
        );
        assert_eq!(decode("a\r\n0123456789\r\n0\r\n\r\n", 10), Ok(true));
        assert!(matches!(
            decode("zz\r\n", 10),
            Err(RequestError::Malformed(_))
        ));
        assert!(matches!(
            decode("1\r\nab\r\n", 10),
            Err(RequestError::Malformed(_))
        ));
    }

    #[test]
    fn a_chunk_size_near_u64_max_cannot_wrap_past_the_limit() {
        let mut decoder = ChunkedDecoder::default();
        let (mut input, mut body) = (
            BytesMut::from("1\r\na\r\nffffffffffffffff\r\n"),
            BytesMut::new(),
        );
        assert_eq!(
            decoder.decode(&mut input, &mut body, 1 << 20),
            Err(RequestError::BodyTooLarge(u64::MAX))
        );
        assert_eq!(&body[..], b"a");
    }

    #[test]
    fn empty_framing_headers_and_transfer_encoding_in_http_1_0_are_refused() {
        let framing = |raw: &str| head(raw).unwrap().unwrap().framing();
        assert!(framing("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n").is_err());
        assert!(framing(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: \r\n\r\n"
        )
        .is_err());
        assert!(framing("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n").is_err());
        assert!(framing("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").is_err());
        assert_eq!(
            framing("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n"),
            Ok(Framing::Length(2))
        );
    }

    #[test]
    fn more_than_a_hundred_fields_are_431() {
        let fields: String = (0..101).map(|i| format!("X-{i}: 1\r\n")).collect();
        assert_eq!(
            head(&format!("GET / HTTP/1.1\r\n{fields}\r\n")),
            Err(RequestError::HeadTooLarge)
        );
        let fields: String = (0..100).map(|i| format!("X-{i}: 1\r\n")).collect();
        assert!(head(&format!("GET / HTTP/1.1\r\n{fields}\r\n"))
            .unwrap()
            .is_some());
    }

    #[test]
    fn trailers_are_validated_and_counted_with_the_head() {
        let decode = |wire: &str, room: (usize, usize)| {
            let mut input = BytesMut::from(wire);
            let result = ChunkedDecoder::with_trailer_room(room.0, room.1).decode(
                &mut input,
                &mut BytesMut::new(),
                100,
            );
            (result, input)
        };
        // A request pipelined after the last chunk is not swallowed as trailer lines.
        let (result, rest) = decode("1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", (100, 10));
        assert_eq!(result, Ok(true));
        assert_eq!(&rest[..], b"GET / HTTP/1.1\r\n\r\n");
        let (result, _) = decode("0\r\nGET / HTTP/1.1\r\n\r\n", (100, 10));
        assert!(
            matches!(result, Err(RequestError::Malformed(_))),
            "{result:?}"
        );
        let (result, _) = decode("0\r\nA: 1\r\nB: 2\r\n\r\n", (100, 1));
        assert_eq!(result, Err(RequestError::HeadTooLarge));
        let (result, _) = decode("0\r\nA: 1\r\n\r\n", (5, 10));
        assert_eq!(result, Err(RequestError::HeadTooLarge));
        let (result, _) = decode("0\r\nA: 1\r\n\r\n", (100, 10));
        assert_eq!(result, Ok(true));
    }

    #[test]
    fn response_bytes() {
        let mut out = Vec::new();
        write_response(&mut out, 200, RECEIVED, None, false);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nDate: "
        ));
        assert!(text.ends_with(" GMT\r\n\r\nWebhook received!\n"));
        let mut out = Vec::new();
        write_response(&mut out, 204, RECEIVED, None, true);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 204 No Content\r\nDate: "));
        assert!(text.ends_with("Connection: close\r\n\r\n"));
        let head_request = head("HEAD / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        let mut out = Vec::new();
        write_response(&mut out, 200, RECEIVED, Some(&head_request), false);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nContent-Length: 18\r\n"));
        assert!(text.ends_with(" GMT\r\nConnection: keep-alive\r\n\r\n"));
    }
}
