//! The `webhook_receiver` listener: an HTTP/1.1 server that answers every request with
//! `Webhook received!` and prints what it got, as NetBox's `manage.py webhook_receiver` does, so a
//! user can see exactly what their webhooks send.
//!
//! The caller owns the socket and the shutdown signal ([`serve`]), so tests can run the real
//! server in-process on `127.0.0.1:0`. The pieces, in the order a request meets them:
//! - `connection`: one task per client; keep-alive, timeouts, error answers.
//! - `http1`: the request head (`httparse` keeps header names as sent), body framing, responses.
//! - [`signature`]: the `--secret` check of `X-Hook-Signature`.
//! - `format` and `pretty`: the printed block, or the `--json` record.
//! - [`sink`]: the single writer that numbers and prints the blocks.

mod connection;
mod format;
mod http1;
mod options;
mod pretty;
pub mod signature;
pub mod sink;

use std::{future::Future, sync::Arc, time::Duration};

use tokio::{net::TcpListener, task::JoinSet};

pub use options::{parse_size, ReceiverOptions};
pub use sink::{Sink, Writer};

/// Accepts connections on `listener` and serves each on its own task until `shutdown` completes;
/// then stops accepting, ends every open connection and returns. Blocks go to `sink`; once this
/// returns, every clone of it has been dropped, so awaiting its [`Writer`] drains the output.
pub async fn serve(
    listener: TcpListener,
    options: ReceiverOptions,
    sink: Sink,
    shutdown: impl Future,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(options.max_connections));
    let shared = Arc::new(connection::Shared { options, sink });
    let mut connections = JoinSet::new();
    let mut busy = crate::serve::Refusals::default();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    match slots.clone().try_acquire_owned() {
                        Ok(slot) => {
                            let shared = shared.clone();
                            connections.spawn(async move {
                                connection::serve(stream, peer, shared).await;
                                drop(slot);
                            });
                        }
                        Err(_) => {
                            busy.busy(shared.options.max_connections, "--max-connections");
                            connections.spawn(connection::refuse_busy(stream));
                        }
                    }
                }
                Err(error) => {
                    // Out of file descriptors, usually: wait rather than spin.
                    tracing::warn!("cannot accept a connection: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// The chunked-body decoder, reachable for `fuzz/fuzz_targets/chunked.rs` only: not part of
/// the API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::http1::{ChunkedDecoder, RequestError};
}
