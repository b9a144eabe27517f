//! Commands for a running worker on `rq:pubsub:<name>`, as RQ's `send_command` publishes them:
//! `{"command": "shutdown"}`, `{"command": "stop-job", "job_id": …}`, `{"command": "kill-horse"}`.

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::{redis_conn::RedisConn, rq::keys};

/// A command a worker was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Warm shutdown.
    Shutdown,
    /// Stop one running job.
    StopJob(String),
    /// Stop every running job (RQ kills its one work horse).
    KillHorse,
}

/// Parses a published payload; unknown commands are ignored.
pub fn parse(payload: &[u8]) -> Option<Command> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    match value.get("command")?.as_str()? {
        "shutdown" => Some(Command::Shutdown),
        "kill-horse" => Some(Command::KillHorse),
        "stop-job" => Some(Command::StopJob(value.get("job_id")?.as_str()?.to_string())),
        _ => None,
    }
}

/// Listens on the worker's channel until `commands` is closed, resubscribing after an outage;
/// says on `subscribed` when it first listens, so the worker can wait for that before it takes
/// a job (a stop command sent as soon as a job shows `started` must find a listener).
pub async fn listen(
    conn: RedisConn,
    worker_name: String,
    commands: mpsc::UnboundedSender<Command>,
    subscribed: tokio::sync::oneshot::Sender<()>,
) {
    let channel = keys::pubsub(&worker_name);
    let mut subscribed = Some(subscribed);
    loop {
        let attempt = async {
            let client = conn.dedicated_client().await?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            if let Some(tell) = subscribed.take() {
                let _ = tell.send(());
            }
            let mut messages = pubsub.on_message();
            while let Some(message) = messages.next().await {
                if let Some(command) = parse(message.get_payload_bytes()) {
                    tracing::info!("received command {command:?} on {channel}");
                    if commands.send(command).is_err() {
                        return anyhow::Ok(());
                    }
                }
            }
            anyhow::Ok(())
        };
        if let Err(error) = attempt.await {
            tracing::debug!("pub/sub on {channel} interrupted: {error}");
        }
        if commands.is_closed() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rq_commands() {
        assert_eq!(
            parse(br#"{"command": "shutdown"}"#),
            Some(Command::Shutdown)
        );
        assert_eq!(
            parse(br#"{"command": "stop-job", "job_id": "abc"}"#),
            Some(Command::StopJob("abc".into()))
        );
        assert_eq!(
            parse(br#"{"command": "kill-horse"}"#),
            Some(Command::KillHorse)
        );
        assert_eq!(parse(br#"{"command": "dance"}"#), None);
        assert_eq!(parse(b"nope"), None);
    }
}
