//! One rule for retries: every outcome, for an idempotent call and a send, run through the
//! client's rule, the client's error API and the middleware's policy, which must all agree
//! with the table.

use http::Method;
use spoki_client::retry_rule::{AttemptOutcome, classify};
use spoki_client::{ApiError, Error, TransportError, TransportErrorKind as K};
use spoki_middleware::{Attempt, Decision, RetryPolicy, StopReason};
use spoki_models::operation::{self, Operation};
use spoki_models::{ErrorCode, ErrorKind};

/// (outcome, retried when idempotent, retried when not, the server may have acted).
const TABLE: &[(AttemptOutcome, bool, bool, bool)] = &[
    (AttemptOutcome::Status(200), false, false, false),
    (AttemptOutcome::Status(204), false, false, false),
    (AttemptOutcome::Status(307), false, false, false),
    (AttemptOutcome::Status(400), false, false, false),
    (AttemptOutcome::Status(401), false, false, false),
    (AttemptOutcome::Status(403), false, false, false),
    (AttemptOutcome::Status(404), false, false, false),
    (AttemptOutcome::Status(408), true, false, true),
    (AttemptOutcome::Status(409), false, false, false),
    (AttemptOutcome::Status(422), false, false, false),
    (AttemptOutcome::Status(429), true, true, false),
    (AttemptOutcome::Status(500), true, false, true),
    (AttemptOutcome::Status(501), false, false, true),
    (AttemptOutcome::Status(502), true, false, true),
    (AttemptOutcome::Status(503), true, false, true),
    (AttemptOutcome::Status(504), true, false, true),
    // A code decides where it says more than the status.
    (refused(400, ErrorKind::PairRateLimit), true, true, false),
    (refused(429, ErrorKind::ThroughputLimit), true, true, false),
    (
        refused(500, ErrorKind::ServiceWindowClosed),
        false,
        false,
        false,
    ),
    (
        refused(400, ErrorKind::CreditExhausted),
        false,
        false,
        false,
    ),
    (
        refused(400, ErrorKind::MarketingOptOut),
        false,
        false,
        false,
    ),
    (refused(503, ErrorKind::ServerError), true, false, true),
    (AttemptOutcome::Transport(K::Build), false, false, false),
    (AttemptOutcome::Transport(K::Connect), true, true, false),
    (AttemptOutcome::Transport(K::Throttled), true, true, false),
    (AttemptOutcome::Transport(K::Timeout), true, false, true),
    (AttemptOutcome::Transport(K::Interrupted), true, false, true),
    (AttemptOutcome::Transport(K::Other), false, false, true),
];

const fn refused(status: u16, kind: ErrorKind) -> AttemptOutcome {
    AttemptOutcome::Refused { status, kind }
}

/// The error a call of `op` returns for `outcome`, when it is an error.
fn error_for(op: &'static Operation, outcome: AttemptOutcome) -> Option<Error> {
    Some(match outcome {
        AttemptOutcome::Status(s) if s < 300 => return None,
        AttemptOutcome::Status(429) => Error::RateLimited {
            retry_after: None,
            client_side: false,
        },
        AttemptOutcome::Status(s) => {
            let mut api = ApiError::from_body(s, br#"{"detail": "x"}"#);
            api.operation = Some(op);
            Error::Api(api)
        }
        AttemptOutcome::Refused { status, kind } => {
            // A code of the kind (131000 is one of several that read as a server error).
            let code = kind.code().unwrap_or(ErrorCode::whatsapp(131000));
            let body = format!(r#"{{"detail": "x", "code": "{code}"}}"#);
            let mut api = ApiError::from_body(status, body.as_bytes());
            assert_eq!(api.kind, kind);
            api.operation = Some(op);
            Error::Api(api)
        }
        AttemptOutcome::Transport(K::Throttled) => Error::RateLimited {
            retry_after: None,
            client_side: true,
        },
        AttemptOutcome::Transport(K::Timeout) => Error::Timeout {
            operation: op,
            source: TransportError::new(K::Timeout),
        },
        AttemptOutcome::Transport(kind) => Error::Transport {
            operation: op,
            source: TransportError::new(kind),
        },
    })
}

fn decide(op: &'static Operation, outcome: AttemptOutcome) -> Decision {
    RetryPolicy::default().decide(&Attempt {
        method: &Method::from_bytes(op.method.as_str().as_bytes()).unwrap(),
        idempotent: Some(op.idempotent),
        outcome,
        retry_after: None,
        attempt: 1,
        deadline_remaining: None,
    })
}

#[test]
fn the_client_the_error_api_and_the_middleware_follow_one_table() {
    for (op, idempotent) in [
        (&operation::ACCOUNTS_GET, true),
        (&operation::MESSAGES_SEND_TEXT, false),
    ] {
        assert_eq!(op.idempotent, idempotent);
        for &(outcome, retry_idempotent, retry_send, acted) in TABLE {
            let retry = if idempotent {
                retry_idempotent
            } else {
                retry_send
            };
            let row = format!("{} {outcome:?}", op.id);

            let verdict = classify(idempotent, outcome);
            assert_eq!(verdict.retry.is_some(), retry, "rule: {row}");
            assert_eq!(verdict.server_may_have_acted, acted, "rule: {row}");

            if let Some(err) = error_for(op, outcome) {
                assert_eq!(err.is_retryable(), retry, "error API: {row}");
                assert_eq!(err.outcome_unknown(), acted, "error API: {row}");
            }

            match decide(op, outcome) {
                Decision::Retry { reason, .. } => {
                    assert!(retry, "middleware retried: {row}");
                    assert_eq!(Some(reason), verdict.retry, "{row}");
                }
                Decision::Stop(stop) => {
                    assert!(!retry, "middleware stopped: {row} ({stop})");
                    let says_acted = matches!(
                        stop,
                        StopReason::ServerMayHaveActed(_) | StopReason::MayHaveBeenSent(_)
                    );
                    assert_eq!(
                        says_acted,
                        acted && !idempotent,
                        "middleware: {row} ({stop})"
                    );
                }
            }
        }
    }
}

#[test]
fn a_send_that_may_have_gone_out_is_never_retryable_and_its_outcome_is_unknown() {
    for op in operation::ALL.iter().filter(|op| !op.idempotent) {
        for outcome in [
            AttemptOutcome::Status(500),
            AttemptOutcome::Status(502),
            AttemptOutcome::Status(503),
            AttemptOutcome::Status(504),
            AttemptOutcome::Status(408),
            AttemptOutcome::Transport(K::Timeout),
            AttemptOutcome::Transport(K::Interrupted),
        ] {
            let err = error_for(op, outcome).unwrap();
            assert!(err.outcome_unknown(), "{} {outcome:?}", op.id);
            assert!(!err.is_retryable(), "{} {outcome:?}", op.id);
            assert!(
                !matches!(decide(op, outcome), Decision::Retry { .. }),
                "{} {outcome:?}",
                op.id
            );
        }
    }
}

/// Words in an operation id that mean it creates, sends or starts something: calling it twice
/// does it twice. Checked against the spec's flags, not derived from them.
const SIDE_EFFECTS: &[&str] = &[
    "send",
    "start",
    "create",
    "sync",
    "submit",
    "clone",
    "generate",
    "rotate",
    "test",
    "onboarding",
    "subrecharge",
    "move_credit",
    "add_sv_clients",
    "add_service_user",
    "revoke",
];

#[test]
fn every_operation_that_does_something_twice_is_flagged_non_idempotent() {
    let mut checked = 0;
    for op in operation::ALL.iter() {
        let verb = op.name;
        if SIDE_EFFECTS.iter().any(|w| verb.contains(w)) {
            assert!(
                !op.idempotent,
                "{} repeats its effect but is flagged idempotent",
                op.id
            );
            checked += 1;
        }
    }
    let sends = operation::ALL
        .iter()
        .filter(|op| {
            let id = op.id.as_str();
            id.starts_with("messages_send") || id.starts_with("automations_start")
        })
        .count();
    assert_eq!(sends, 9, "seven message sends and two automation starts");
    // Cloning a template (a GET) creates a draft: it is among them.
    assert!(checked >= 30, "{checked}");
}
