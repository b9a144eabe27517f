//! The fastest an HTTP/1.1 keep-alive server can answer on this machine: it reads each request
//! only far enough to find its end and sends a fixed `200`, printing nothing. The receiver
//! benchmark (scripts/bench_receiver.sh) runs it beside `manage webhook_receiver` so that a
//! figure at one connection, which is bound by loopback round trips more than by server work,
//! can be read against what no server can beat here.
//!
//! usage: cargo run --release --example loopback_floor   (prints "Listening on port http://localhost:PORT.")

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\nWebhook received!\n";

/// Where the request that starts `buf` ends, once its head and `Content-Length` body are in.
fn request_end(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let length = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (buf.len() >= head_end + length).then_some(head_end + length)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!(
        "Listening on port http://localhost:{}.",
        listener.local_addr()?.port()
    );
    loop {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(16 * 1024);
            loop {
                while let Some(end) = request_end(&buf) {
                    buf.drain(..end);
                    if stream.write_all(ANSWER).await.is_err() {
                        return;
                    }
                }
                match stream.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        });
    }
}
