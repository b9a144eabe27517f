//! The one place the receiver's output is written. Connection tasks send finished blocks over a
//! channel; a single blocking writer numbers them in the order it prints them, appends them to a
//! buffer and flushes whenever the channel is momentarily empty. So blocks never interleave,
//! counters appear in order, a burst costs one `write` call, and a lone request shows at once.

use std::{
    io::{BufWriter, Write},
    time::Duration,
};

use tokio::{sync::mpsc, task::JoinHandle};

use crate::output::Output;

/// How many finished blocks may wait for the writer before connections wait too.
const QUEUE: usize = 4096;

/// How long the writer lets blocks gather after the first one arrives: invisible to a person
/// watching, and under load it turns a wake-up and a `write` per request into one per burst.
const GATHER: Duration = Duration::from_millis(1);

/// One request's printed record without its number, which the writer fills in:
/// the output is `open`, the number, then `rest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    open: &'static str,
    rest: String,
}

impl Block {
    /// A block printed as `open`, the request number, `rest`.
    pub fn new(open: &'static str, rest: String) -> Self {
        Self { open, rest }
    }

    /// The block as printed for request number `n`.
    pub fn numbered(&self, n: u64) -> String {
        format!("{}{n}{}", self.open, self.rest)
    }

    fn write_to(&self, n: u64, out: &mut impl Write) -> std::io::Result<()> {
        write!(out, "{}{n}", self.open)?;
        out.write_all(self.rest.as_bytes())
    }
}

/// The sending side, cloned into every connection. When the last clone is dropped the writer
/// prints what is left and stops.
#[derive(Clone)]
pub struct Sink {
    blocks: mpsc::Sender<Block>,
}

impl Sink {
    /// Queues a block for printing; waits only when the writer is far behind. When there is room
    /// it does not yield, so a block queued right after its response was written cannot be lost
    /// to a shutdown in between.
    pub async fn send(&self, block: Block) {
        // The writer outlives every sender, so sending fails only once the process is exiting.
        if let Err(mpsc::error::TrySendError::Full(block)) = self.blocks.try_send(block) {
            let _ = self.blocks.send(block).await;
        }
    }
}

/// The writer task; await [`Writer::finish`] after the server stops to know everything queued
/// has been printed.
pub struct Writer {
    task: JoinHandle<()>,
}

impl Writer {
    /// Waits until every block sent before the last [`Sink`] was dropped has been written.
    pub async fn finish(self) {
        let _ = self.task.await;
    }
}

/// Starts the writer for `out` (on the blocking pool, since stdout writes block) and returns
/// the sink that feeds it. Stdout gets a large buffer; other outputs (a `call_command` buffer)
/// get each block through [`Output::write_bytes`].
pub fn start(out: Output) -> (Sink, Writer) {
    let (blocks, mut queue) = mpsc::channel::<Block>(QUEUE);
    let task = tokio::task::spawn_blocking(move || {
        let mut n = 0u64;
        match out {
            Output::Stdout => {
                let mut stdout = BufWriter::with_capacity(256 * 1024, std::io::stdout());
                while let Some(block) = queue.blocking_recv() {
                    std::thread::sleep(GATHER);
                    n += 1;
                    // A closed stdout (`| head`) is not worth stopping the receiver for.
                    let _ = block.write_to(n, &mut stdout);
                    while let Ok(block) = queue.try_recv() {
                        n += 1;
                        let _ = block.write_to(n, &mut stdout);
                    }
                    let _ = stdout.flush();
                }
            }
            other => {
                while let Some(block) = queue.blocking_recv() {
                    n += 1;
                    other.write_bytes(block.numbered(n).as_bytes());
                }
            }
        }
    });
    (Sink { blocks }, Writer { task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn numbers_blocks_in_print_order_and_drains_on_finish() {
        let out = Output::buffer();
        let (sink, writer) = start(out.clone());
        for name in ["a", "b", "c"] {
            sink.send(Block::new("[", format!("] {name}\n"))).await;
        }
        drop(sink);
        writer.finish().await;
        assert_eq!(out.captured(), "[1] a\n[2] b\n[3] c\n");
    }
}
