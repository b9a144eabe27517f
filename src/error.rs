//! The one error type a command returns: Django's `CommandError`, carrying the process exit code.

use std::fmt;

/// An error that ends a command. It prints as `CommandError: <message>` and exits with `code`,
/// so scripts can tell a usage problem from an outage from a partial failure.
#[derive(Debug)]
pub struct CommandError {
    error: anyhow::Error,
    code: u8,
}

impl CommandError {
    /// A failure with exit code 1, the default for "the command could not do its job".
    pub fn new(message: impl fmt::Display) -> Self {
        Self {
            error: anyhow::anyhow!("{message}"),
            code: 1,
        }
    }

    /// Wraps an error chain so `--traceback` can print every cause.
    pub fn from_error(error: impl Into<anyhow::Error>) -> Self {
        Self {
            error: error.into(),
            code: 1,
        }
    }

    /// Chooses the exit code, for commands that distinguish kinds of failure.
    pub fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    /// The exit code the process ends with.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// The top-level message, without causes.
    pub fn message(&self) -> String {
        self.error.to_string()
    }

    /// Every message in the chain, outermost first, for `--traceback`.
    pub fn chain(&self) -> Vec<String> {
        self.error.chain().map(|cause| cause.to_string()).collect()
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for CommandError {}

impl From<anyhow::Error> for CommandError {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<CommandError>() {
            Ok(command_error) => command_error,
            Err(error) => Self { error, code: 1 },
        }
    }
}

/// What every command handler returns.
pub type CommandResult = Result<(), CommandError>;
