//! What a tool call can end in besides an answer: each told to the agent as a tool error
//! whose text says what to do, never as a protocol error.

use rmcp::model::{CallToolResult, ContentBlock};

/// Why a tool call did not (or may not have) done what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// An argument the tool does not take.
    #[error("unknown argument `{0}`: the tool's input schema lists what it takes")]
    UnknownArgument(String),
    /// An argument of the wrong shape, or a required one missing.
    #[error("argument `{name}`: {problem}; nothing was sent")]
    Argument {
        /// The argument (or the body field inside it).
        name: String,
        /// What is wrong, without its value.
        problem: String,
    },
    /// A tool that writes, on a read-only server.
    #[error("this server is read-only and `{0}` changes something; nothing was sent")]
    ReadOnly(String),
    /// A recipient outside `--allow-recipients`.
    #[error("`{at}` is not among the recipients this server may message; nothing was sent")]
    NotAllowed {
        /// Where the phone is in the arguments.
        at: String,
    },
    /// The caller gave a secret, which only the server's configuration may supply.
    #[error("`{0}` is a secret: the server supplies it from its configuration, never the caller")]
    SecretGiven(String),
    /// The call needs a secret the server was not configured with.
    #[error(
        "this call needs `{0}`, which this server was not given (start it with --automation-secret-env VAR)"
    )]
    NoSecret(&'static str),
    /// The idempotency key was first used with other arguments.
    #[error("this idempotency_key was used for a different call; choose a new key")]
    KeyReused,
    /// The first call with this key has not ended yet.
    #[error("a call with this idempotency_key is still under way; wait for its answer")]
    KeyInFlight,
    /// The first call with this key may have reached Spoki.
    #[error(
        "outcome unknown: the first call with this idempotency_key may have reached Spoki; check (the account's messages, the contact) before sending again with a new key"
    )]
    OutcomeUnknown,
    /// No estimate with this confirmation token (never given, used, or expired).
    #[error(
        "no estimate has this confirmation (it is used once and lasts 10 minutes): call campaign_estimate again"
    )]
    UnknownToken,
    /// The estimate's campaign is not covered by the account's credit.
    #[error(
        "the account's credit does not cover this campaign ({0}); nothing was sent: top up the credit or reach fewer recipients"
    )]
    NotCovered(String),
    /// A campaign start failed part way: the chunks before it started.
    #[error("the campaign stopped after {started} recipients were started: {}", spoki_message(.error))]
    CampaignStopped {
        /// Recipients whose start Spoki accepted.
        started: usize,
        /// Why the next chunk failed (boxed: a client error is large).
        error: Box<spoki_client::Error>,
    },
    /// The billing model could not estimate the campaign.
    #[error("cannot estimate: {0}")]
    Estimate(#[from] spoki_billing::BillingError),
    /// Spoki (or the client before sending) refused the call, or it failed on the way.
    #[error("{}", spoki_message(.0))]
    Spoki(#[from] spoki_client::Error),
}

impl ToolError {
    /// Whether the call may have reached Spoki: the agent must check before trying again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            ToolError::OutcomeUnknown => true,
            ToolError::Spoki(e) => e.outcome_unknown(),
            ToolError::CampaignStopped { error, .. } => error.outcome_unknown(),
            _ => false,
        }
    }

    /// The tool result that tells the agent.
    pub fn into_result(self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(self.to_string())])
    }
}

/// The client's message, and what to do about it.
fn spoki_message(e: &spoki_client::Error) -> String {
    let mut text = e.to_string();
    if let Some(hint) = e.hint() {
        text.push_str(&format!(" ({hint})"));
    }
    if e.outcome_unknown() {
        text.push_str(" — outcome unknown: it may have reached Spoki; check before sending again");
    } else if let Some(wait) = e.retry_after() {
        text.push_str(&format!(" — try again in {} s", wait.as_secs().max(1)));
    } else if e.is_retryable() {
        text.push_str(" — nothing was done; it may be tried again");
    }
    text
}
