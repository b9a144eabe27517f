//! Shutdown signals for long-running commands: SIGINT (Ctrl-C) and SIGTERM (systemd, containers).

use tokio::signal::unix::{signal, SignalKind};

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT.
    Interrupt,
    /// SIGTERM.
    Terminate,
}

/// A stream of stop signals; the first asks for a warm stop, a second for a cold one.
pub struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Starts listening; signals that arrive before this are handled by the default action.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next SIGINT or SIGTERM, and tells systemd the service is stopping.
    pub async fn recv(&mut self) -> Stop {
        let stop = tokio::select! {
            _ = self.interrupt.recv() => Stop::Interrupt,
            _ = self.terminate.recv() => Stop::Terminate,
        };
        crate::notify::stopping();
        stop
    }
}
