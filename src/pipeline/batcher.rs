//! Events from many callers at once (the event gateway's concurrent requests), enqueued together:
//! under load one round trip carries the events of many requests, each request's events
//! written whole in the same atomic step as the others of its batch. When idle, a request is
//! written at once.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::enqueue::{encode_batch, EnqueuedJob, Routing};
use crate::rq::queue::Encoded;
use crate::{redis_conn::RedisConn, webhooks::Event};

/// The most events written in one round trip.
const MAX_EVENTS: usize = 2000;

/// What a caller gets back: the jobs of each of its events, or why nothing was enqueued.
pub type Reply = Result<Vec<Vec<EnqueuedJob>>, String>;

type Request = (Vec<Event>, oneshot::Sender<Reply>);

/// The queue callers put their events on. Cloning shares the writer.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::UnboundedSender<Request>,
}

impl Batcher {
    /// Starts the writer on `conn`; it stops when every clone is dropped.
    pub fn start(conn: RedisConn, routing: Arc<Routing>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_all(conn, routing, rx));
        Self { tx }
    }

    /// Enqueues `events` (with those of other callers waiting now) and returns their jobs.
    pub async fn enqueue(&self, events: Vec<Event>) -> Reply {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((events, reply))
            .map_err(|_| "the enqueue writer has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the enqueue writer has stopped".to_string())?
    }
}

async fn write_all(
    conn: RedisConn,
    routing: Arc<Routing>,
    mut rx: mpsc::UnboundedReceiver<Request>,
) {
    // Two stages: while one batch is written, the next is encoded on a blocking thread. The
    // writer takes them in the order they were gathered, so events keep their order.
    let (encoded_tx, encoded_rx) = mpsc::channel(1);
    tokio::spawn(write_encoded(conn, encoded_rx));
    let mut waiting: Option<Request> = None;
    loop {
        let first = match waiting.take() {
            Some(request) => request,
            None => match rx.recv().await {
                Some(request) => request,
                None => return,
            },
        };
        let mut batch = vec![first];
        let mut events = batch[0].0.len();
        while events < MAX_EVENTS {
            match rx.try_recv() {
                Ok(request) if events + request.0.len() > MAX_EVENTS => {
                    waiting = Some(request);
                    break;
                }
                Ok(request) => {
                    events += request.0.len();
                    batch.push(request);
                }
                Err(_) => break,
            }
        }
        if encoded_tx.send(encode(&routing, batch)).await.is_err() {
            return;
        }
    }
}

/// A batch being encoded, and who waits for its jobs.
struct Encoding {
    job: tokio::task::JoinHandle<(Option<Encoded>, Vec<Vec<EnqueuedJob>>)>,
    counts: Vec<usize>,
    replies: Vec<oneshot::Sender<Reply>>,
}

/// Starts encoding one batch (JSON, zlib: CPU work, off the runtime that serves the requests).
fn encode(routing: &Arc<Routing>, batch: Vec<Request>) -> Encoding {
    let (events, replies): (Vec<Vec<Event>>, Vec<oneshot::Sender<Reply>>) =
        batch.into_iter().unzip();
    let counts: Vec<usize> = events.iter().map(Vec::len).collect();
    let all: Vec<Event> = events.into_iter().flatten().collect();
    let routing = routing.clone();
    Encoding {
        job: tokio::task::spawn_blocking(move || encode_batch(&routing, &all)),
        counts,
        replies,
    }
}

async fn write_encoded(mut conn: RedisConn, mut rx: mpsc::Receiver<Encoding>) {
    while let Some(encoding) = rx.recv().await {
        write(&mut conn, encoding).await;
    }
}

/// Writes one encoded batch and answers each of its callers.
async fn write(conn: &mut RedisConn, encoding: Encoding) {
    let Encoding {
        job,
        counts,
        replies,
    } = encoding;
    let encoded = job.await;
    let result = match encoded {
        Ok((Some(encoded), per_event)) => encoded
            .write(conn)
            .await
            .map(|_| per_event)
            .map_err(|e| format!("cannot reach Redis at {}: {e}", conn.display())),
        Ok((None, per_event)) => Ok(per_event),
        Err(error) => Err(format!("encoding the jobs failed: {error}")),
    };
    match result {
        Ok(per_event) => {
            let mut per_event = per_event.into_iter();
            for (count, reply) in counts.into_iter().zip(replies) {
                let _ = reply.send(Ok(per_event.by_ref().take(count).collect()));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
