//! The teacher crate's errors: one request's failure ([`CallError`], which the pipeline retries or
//! records) and everything else ([`Error`]).

use std::time::Duration;

/// What went wrong with one request to a teacher.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallErrorKind {
    /// The server answered with this HTTP status.
    Status(u16),
    /// No answer in time.
    Timeout,
    /// The connection could not be made or was dropped.
    Connection,
    /// The answer was not a chat completion.
    Protocol,
    /// The local model failed.
    Engine,
    /// The request was never sent (a bad URL, no key...).
    Config,
}

/// One request's failure, with what the server said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CallError {
    /// What kind of failure.
    pub kind: CallErrorKind,
    /// The server's or the client's words.
    pub message: String,
    /// How long the server asked us to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl CallError {
    /// A failure of `kind`.
    pub fn new(kind: CallErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Whether trying again may work: rate limits, server errors, timeouts, dropped connections.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            CallErrorKind::Status(s) => s == 408 || s == 409 || s == 425 || s == 429 || s >= 500,
            CallErrorKind::Timeout | CallErrorKind::Connection => true,
            CallErrorKind::Protocol | CallErrorKind::Engine | CallErrorKind::Config => false,
        }
    }

    /// Whether every other request will fail the same way (a wrong key, URL or model), so the whole
    /// job should stop rather than record each passage as failed.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            CallErrorKind::Status(401..=404) | CallErrorKind::Config
        )
    }
}

/// Everything else that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request failed.
    #[error(transparent)]
    Call(#[from] CallError),
    /// A prompt template does not render.
    #[error("the prompt template does not render: {0}")]
    Template(#[from] minijinja::Error),
    /// The OS keyring failed (none on this machine, locked, refused...).
    #[error("{message}")]
    Keyring {
        /// What that means for the person, with the fallback to use.
        message: String,
        /// The keyring's own error.
        #[source]
        source: keyring::Error,
    },
    /// The async runtime could not start.
    #[error("cannot start the network runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Settings that cannot work.
    #[error("{0}")]
    Invalid(String),
}

/// The teacher crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
