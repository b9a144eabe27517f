//! One client connection: read requests one after another (HTTP/1.1 keep-alive), print each one,
//! answer it. Anything wrong with a request ends this connection only.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, SystemTime},
};

use bytes::{Bytes, BytesMut};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{timeout, Instant},
};

use super::{
    format::{self, Body, Exchange},
    http1::{self, ChunkedDecoder, Framing, Head, RequestError},
    options::ReceiverOptions,
    signature,
    sink::Sink,
};

/// How long a refused client gets to read its error before the socket is closed.
const LINGER: Duration = Duration::from_secs(2);

/// What every connection shares: the options and the way to the writer.
pub(super) struct Shared {
    pub options: ReceiverOptions,
    pub sink: Sink,
}

/// Why a connection ended early.
enum End {
    /// The request was answered with an error status and the connection closed.
    Refused(RequestError),
    /// Nothing arrived (or nothing could be sent) for the read timeout in the middle of a request.
    Stalled,
    /// The client closed the connection in the middle of a request.
    Truncated,
    /// The socket failed.
    Io(std::io::Error),
}

/// Serves one connection until the client closes it, asks to close it, or misbehaves.
pub(super) async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let mut connection = Connection {
        stream,
        deadline: Instant::now() + shared.options.read_timeout,
        client: peer.ip().to_canonical(),
        buf: BytesMut::with_capacity(8 * 1024),
        response: Vec::with_capacity(256),
        shared,
    };
    let client = connection.client;
    match connection.run().await {
        Ok(()) => {}
        Err(End::Refused(error @ RequestError::BodyTooLarge(_))) => {
            tracing::debug!("{client}: {error}; answered 413")
        }
        Err(End::Refused(error)) => {
            tracing::warn!("{client}: {error}; answered {}", error.status())
        }
        Err(End::Stalled) => tracing::warn!(
            "{client}: the request was not complete within {:?} (--read-timeout); connection dropped",
            connection.shared.options.read_timeout
        ),
        Err(End::Truncated) => tracing::debug!("{client}: closed the connection mid-request"),
        Err(End::Io(error)) => tracing::debug!("{client}: {error}"),
    }
}

/// Answers a connection past `--max-connections` with 503 and closes it, without reading a
/// request: the client learns the receiver is full instead of waiting in the backlog.
pub(super) async fn refuse_busy(mut stream: TcpStream) {
    let mut response = Vec::with_capacity(160);
    http1::write_response(&mut response, 503, b"Too many connections\n", None, true);
    let _ = timeout(LINGER, stream.write_all(&response)).await;
    let _ = timeout(LINGER, stream.shutdown()).await;
}

struct Connection {
    stream: TcpStream,
    /// When the request being read (or awaited, between requests) must be complete: one
    /// `--read-timeout` for the whole head and body, so a client trickling a byte at a time
    /// cannot hold the connection longer.
    deadline: Instant,
    client: IpAddr,
    /// Bytes read but not yet parsed.
    buf: BytesMut,
    /// The response being written, reused between requests.
    response: Vec<u8>,
    shared: Arc<Shared>,
}

impl Connection {
    async fn run(&mut self) -> Result<(), End> {
        loop {
            self.deadline = Instant::now() + self.shared.options.read_timeout;
            let Some(head) = self.read_head().await? else {
                return Ok(());
            };
            if !self.handle(head).await? {
                let _ = self.stream.shutdown().await;
                return Ok(());
            }
        }
    }

    /// Reads more bytes into the buffer before the request's deadline; `Ok(false)` at end of
    /// stream.
    async fn fill(&mut self) -> Result<bool, End> {
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(8 * 1024);
        }
        let read = self.stream.read_buf(&mut self.buf);
        match tokio::time::timeout_at(self.deadline, read).await {
            Err(_) => Err(End::Stalled),
            Ok(Err(error)) => Err(End::Io(error)),
            Ok(Ok(read)) => Ok(read > 0),
        }
    }

    /// The next request head, or `None` when the client closes (or goes quiet) between requests.
    async fn read_head(&mut self) -> Result<Option<Head>, End> {
        loop {
            match http1::parse_head(&mut self.buf, self.shared.options.max_head) {
                Ok(Some(head)) => return Ok(Some(head)),
                Ok(None) => {}
                Err(error) => return Err(self.refuse(error).await),
            }
            let idle = self.buf.iter().all(|b| matches!(b, b'\r' | b'\n'));
            match self.fill().await {
                Ok(true) => {}
                Ok(false) | Err(End::Stalled) if idle => return Ok(None),
                Ok(false) => return Err(End::Truncated),
                Err(end) => return Err(end),
            }
        }
    }

    /// Reads the body, prints the request, answers it. `Ok(true)` when the connection stays open.
    async fn handle(&mut self, head: Head) -> Result<bool, End> {
        let at = SystemTime::now();
        let framing = match head.framing() {
            Ok(framing) => framing,
            Err(error) => return Err(self.refuse(error).await),
        };
        let (status, body, refused) = match self.read_body(&head, framing).await? {
            Ok(body) => (self.shared.options.status, body, None),
            Err(RequestError::BodyTooLarge(size)) => (413, Bytes::new(), Some(size)),
            Err(error) => return Err(self.refuse(error).await),
        };
        if let Some(size) = refused {
            let block = self.block(
                at,
                &head,
                status,
                Body::Refused {
                    size,
                    exact: framing != Framing::Chunked,
                    limit: self.shared.options.max_body,
                },
            );
            self.shared.sink.send(block).await;
            return Err(self.refuse(RequestError::BodyTooLarge(size)).await);
        }
        // A request framed both ways may be a smuggling attempt: answer it, then close (RFC 9112 §6.3).
        let ambiguous = framing == Framing::Chunked && head.header("content-length").is_some();
        let keep_alive = head.keep_alive() && !ambiguous;
        if !self.shared.options.delay.is_zero() {
            tokio::time::sleep(self.shared.options.delay).await;
        }
        self.response.clear();
        http1::write_response(
            &mut self.response,
            status,
            http1::RECEIVED,
            Some(&head),
            !keep_alive,
        );
        // Answer first, and only then check the signature and format the block, so the client
        // waits on neither; `send` does not yield when the queue has room, so an answered
        // request is always printed, even at shutdown.
        self.send_response().await?;
        let block = self.block(at, &head, status, Body::Received(&body));
        self.shared.sink.send(block).await;
        Ok(keep_alive)
    }

    /// The printed record of one request (its signature checked when `--secret` is set).
    fn block(
        &self,
        at: SystemTime,
        head: &Head,
        status: u16,
        body: Body<'_>,
    ) -> super::sink::Block {
        let options = &self.shared.options;
        let signature = match (&options.verifier, &body) {
            (Some(verifier), Body::Received(bytes)) => {
                Some(verifier.check(head.header(signature::HEADER), bytes))
            }
            _ => None,
        };
        let exchange = Exchange {
            at,
            client: self.client,
            head,
            status,
            body,
            signature,
        };
        format::block(&exchange, options)
    }

    /// The request body, or the reason it is refused. Sends `100 Continue` first when the client
    /// waits for it.
    async fn read_body(
        &mut self,
        head: &Head,
        framing: Framing,
    ) -> Result<Result<Bytes, RequestError>, End> {
        let max_body = self.shared.options.max_body;
        match framing {
            Framing::Empty => Ok(Ok(Bytes::new())),
            Framing::Length(length) if length > max_body => {
                Ok(Err(RequestError::BodyTooLarge(length)))
            }
            Framing::Length(length) => {
                let length = length as usize;
                self.send_continue(head, self.buf.len() < length).await?;
                while self.buf.len() < length {
                    self.buf.reserve((length - self.buf.len()).min(1 << 20));
                    if !self.fill().await? {
                        return Err(End::Truncated);
                    }
                }
                Ok(Ok(self.buf.split_to(length).freeze()))
            }
            Framing::Chunked => {
                self.send_continue(head, self.buf.is_empty()).await?;
                let options = &self.shared.options;
                let mut decoder = ChunkedDecoder::with_trailer_room(
                    options.max_head.saturating_sub(head.size),
                    http1::MAX_HEADERS.saturating_sub(head.headers.len()),
                );
                let mut body = BytesMut::new();
                loop {
                    match decoder.decode(&mut self.buf, &mut body, max_body) {
                        Ok(true) => return Ok(Ok(body.freeze())),
                        Ok(false) if !self.fill().await? => return Err(End::Truncated),
                        Ok(false) => {}
                        Err(error) => return Ok(Err(error)),
                    }
                }
            }
        }
    }

    async fn send_continue(&mut self, head: &Head, body_pending: bool) -> Result<(), End> {
        if head.expects_continue() && body_pending {
            self.response.clear();
            self.response
                .extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
            self.send_response().await?;
        }
        Ok(())
    }

    /// Writes the prepared response, giving up on a client that stops reading.
    async fn send_response(&mut self) -> Result<(), End> {
        let write = self.stream.write_all(&self.response);
        match timeout(self.shared.options.read_timeout, write).await {
            Err(_) => Err(End::Stalled),
            Ok(result) => result.map_err(End::Io),
        }
    }

    /// Answers `error` with its status and closes the connection, first letting the client read
    /// the answer: closing a socket with unread input would reset it and lose the response.
    async fn refuse(&mut self, error: RequestError) -> End {
        let status = error.status();
        let reason = http1::reason(status);
        self.response.clear();
        http1::write_response(
            &mut self.response,
            status,
            format!("{reason}\n").as_bytes(),
            None,
            true,
        );
        if self.send_response().await.is_ok() && self.stream.shutdown().await.is_ok() {
            let deadline = Instant::now() + LINGER;
            let mut scratch = [0u8; 8 * 1024];
            while let Ok(Ok(read)) =
                tokio::time::timeout_at(deadline, self.stream.read(&mut scratch)).await
            {
                if read == 0 {
                    break;
                }
            }
        }
        End::Refused(error)
    }
}
