//! Telling a service manager how the process is doing (systemd's `Type=notify` protocol).
//!
//! A unit with `Type=notify` counts the service as started only when it says `READY=1`, so units
//! ordered after it (and `systemctl start`, which waits) see a worker that is registered in Redis
//! or a server that is accepting connections, not merely a process that exists. Without
//! `NOTIFY_SOCKET` in the environment (a shell, a container, a test) every call here does nothing.

use sd_notify::NotifyState;

/// Says the service is ready, with a one-line status that `systemctl status` shows.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Says the service is stopping, so systemd shows it deactivating while jobs in flight finish,
/// whoever sent the signal.
pub fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: finishing what is in flight"),
    ]);
}

fn send(states: &[NotifyState<'_>]) {
    // One datagram to a local socket: it does not wait on anything worth moving off the runtime.
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify the service manager (NOTIFY_SOCKET): {e}");
    }
}
