//! What can go wrong in a command, and the exit code each failure gets.

use spoki_client::CallFailure;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, so scripts can tell "fix the command" from "Spoki said no" from "check before
/// sending again".
pub mod exit {
    /// The command did what it was asked.
    pub const OK: u8 = 0;
    /// A check failed (a signature did not verify, a file could not be read, the credit does
    /// not cover a campaign).
    pub const FAILED: u8 = 1;
    /// The command line or its input is wrong; nothing was sent.
    pub const USAGE: u8 = 2;
    /// Spoki refused the call, or it never reached Spoki; nothing was done.
    pub const API: u8 = 3;
    /// The call may or may not have been carried out: look before sending it again.
    pub const OUTCOME_UNKNOWN: u8 = 4;
    /// Ctrl-C stopped the command (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: u8 = 130;
}

/// A failed command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line or its input is wrong.
    #[error("{0}")]
    Usage(String),
    /// A call failed.
    #[error("{}", api_message(.0))]
    Api(#[from] spoki_client::Error),
    /// Some work may have been carried out by Spoki without the command knowing.
    #[error("{0}")]
    OutcomeUnknown(String),
    /// A call failed and the work stopped there; nothing of that call was done.
    #[error("{0}")]
    CallFailed(String),
    /// Ctrl-C stopped the work; what was done is recorded.
    #[error("stopped by Ctrl-C; run the same command again to continue")]
    Interrupted,
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A check failed.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// A file error, naming the file.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
        let path = path.into();
        move |source| CliError::Io { path, source }
    }

    /// What to do about a refusal by Spoki, in one line.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CliError::Api(e) => e.hint(),
            _ => None,
        }
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) => exit::USAGE,
            // Spoki acted but its answer was unreadable: not "nothing done" either.
            CliError::Api(e) if e.outcome_unknown() || CallFailure::acted(e) => {
                exit::OUTCOME_UNKNOWN
            }
            CliError::Api(spoki_client::Error::InvalidInput(_)) => exit::USAGE,
            CliError::Api(_) => exit::API,
            CliError::OutcomeUnknown(_) => exit::OUTCOME_UNKNOWN,
            CliError::CallFailed(_) => exit::API,
            CliError::Interrupted => exit::INTERRUPTED,
            CliError::Io { .. } | CliError::Failed(_) => exit::FAILED,
        })
    }
}

/// A client error in the words of the command line: its flags and environment variables, not
/// the builder methods a Rust program would call.
fn api_message(e: &spoki_client::Error) -> String {
    match e {
        spoki_client::Error::InvalidInput(spoki_client::InputError::MissingApiKey(op)) => {
            format!(
                "{op} needs an API key: give --api-key, set {}, or pick a profile with \
                 --profile (`spoki config set NAME --key-env VAR`)",
                spoki_client::API_KEY_ENV
            )
        }
        e => e.to_string(),
    }
}

/// The result of a command.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
