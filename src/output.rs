//! Where a command's own output goes: the process's stdout and stderr, or buffers when the command
//! runs through [`crate::call_command`]. Logs are separate and go through `tracing`.

use std::{
    fmt::Display,
    io::{IsTerminal, Write},
    sync::{Arc, Mutex},
};

/// One output stream. Cheap to clone; clones write to the same place.
#[derive(Clone, Debug)]
pub enum Output {
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
    /// An in-memory buffer, read back by `call_command`.
    Buffer(Arc<Mutex<Vec<u8>>>),
}

impl Output {
    /// A fresh in-memory buffer.
    pub fn buffer() -> Self {
        Self::Buffer(Arc::default())
    }

    /// Writes bytes as one unit, so concurrent writers never interleave inside it. A closed pipe
    /// (`manage … | head`) is not an error worth reporting.
    pub fn write_bytes(&self, bytes: &[u8]) {
        match self {
            Self::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(bytes).and_then(|_| out.flush());
            }
            Self::Stderr => {
                let _ = std::io::stderr().lock().write_all(bytes);
            }
            Self::Buffer(buffer) => buffer
                .lock()
                .expect("output buffer poisoned")
                .extend_from_slice(bytes),
        }
    }

    /// Writes text followed by a newline.
    pub fn line(&self, text: impl Display) {
        self.write_bytes(format!("{text}\n").as_bytes());
    }

    /// Whether a person is watching, which decides progress bars and refreshing views.
    pub fn is_terminal(&self) -> bool {
        match self {
            Self::Stdout => std::io::stdout().is_terminal(),
            Self::Stderr => std::io::stderr().is_terminal(),
            Self::Buffer(_) => false,
        }
    }

    /// What a buffer holds so far (empty for the real streams).
    pub fn captured(&self) -> String {
        match self {
            Self::Buffer(buffer) => {
                String::from_utf8_lossy(&buffer.lock().expect("output buffer poisoned"))
                    .into_owned()
            }
            _ => String::new(),
        }
    }
}
