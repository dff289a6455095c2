//! Table tests of the pure retry classifier.

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use spoki_client::TransportErrorKind as K;
use spoki_client::transport::retry_after::parse_retry_after;
use spoki_middleware::{
    Attempt, AttemptOutcome, Decision, Jitter, RetryPolicy, RetryReason as R, StopReason as S,
};
use spoki_models::operation;
use std::time::{Duration, SystemTime};

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .backoff(Duration::from_secs(1), Duration::from_secs(20))
        .max_retry_after(Duration::from_secs(60))
        .deadline(None)
        .jitter(Jitter::max())
}

const NOW: u64 = 1_445_412_480; // Wed, 21 Oct 2015 07:28:00 GMT

#[derive(Clone, Copy)]
enum O {
    Status(u16, Option<&'static str>),
    Err(K, Option<u64>),
}

fn decide(p: &RetryPolicy, method: &Method, idem: Option<bool>, o: O, attempt: u32) -> Decision {
    decide_with_deadline(p, method, idem, o, attempt, None)
}

fn decide_with_deadline(
    p: &RetryPolicy,
    method: &Method,
    idem: Option<bool>,
    o: O,
    attempt: u32,
    deadline_remaining: Option<Duration>,
) -> Decision {
    let mut headers = HeaderMap::new();
    let (outcome, retry_after) = match o {
        O::Status(code, retry_after) => {
            if let Some(v) = retry_after {
                headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static(v));
            }
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
            (
                AttemptOutcome::Status(code),
                parse_retry_after(&headers, now),
            )
        }
        O::Err(kind, ra) => (AttemptOutcome::Transport(kind), ra.map(Duration::from_secs)),
    };
    p.decide(&Attempt {
        method,
        idempotent: idem,
        outcome,
        retry_after,
        attempt,
        deadline_remaining,
    })
}

fn retry(secs: u64, reason: R) -> Decision {
    Decision::Retry {
        after: Duration::from_secs(secs),
        reason,
    }
}

fn st(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap()
}

#[test]
fn idempotent_table() {
    let p = policy();
    let get = Method::GET;
    let rows: Vec<(O, u32, Decision)> = vec![
        (
            O::Status(200, None),
            1,
            Decision::Stop(S::FinalStatus(st(200))),
        ),
        (
            O::Status(304, None),
            1,
            Decision::Stop(S::FinalStatus(st(304))),
        ),
        (
            O::Status(400, None),
            1,
            Decision::Stop(S::FinalStatus(st(400))),
        ),
        (
            O::Status(401, None),
            1,
            Decision::Stop(S::FinalStatus(st(401))),
        ),
        (
            O::Status(404, None),
            1,
            Decision::Stop(S::FinalStatus(st(404))),
        ),
        (
            O::Status(409, None),
            1,
            Decision::Stop(S::FinalStatus(st(409))),
        ),
        (
            O::Status(501, None),
            1,
            Decision::Stop(S::FinalStatus(st(501))),
        ),
        (O::Status(408, None), 1, retry(1, R::TransientStatus(408))),
        (O::Status(429, None), 1, retry(1, R::ThrottledByServer)),
        (O::Status(429, Some("7")), 1, retry(7, R::ThrottledByServer)),
        (
            O::Status(429, Some("Wed, 21 Oct 2015 07:28:30 GMT")),
            1,
            retry(30, R::ThrottledByServer),
        ),
        (
            O::Status(429, Some("Wed, 21 Oct 2015 07:00:00 GMT")),
            1,
            retry(0, R::ThrottledByServer),
        ),
        (
            O::Status(429, Some("garbage")),
            2,
            retry(2, R::ThrottledByServer),
        ),
        (
            O::Status(429, Some("60")),
            1,
            retry(60, R::ThrottledByServer),
        ),
        (
            O::Status(429, Some("61")),
            1,
            Decision::Stop(S::RetryAfterTooLong(Duration::from_secs(61))),
        ),
        (O::Status(500, None), 1, retry(1, R::TransientStatus(500))),
        (O::Status(502, None), 2, retry(2, R::TransientStatus(502))),
        (
            O::Status(503, Some("4")),
            2,
            retry(4, R::TransientStatus(503)),
        ),
        (O::Status(504, None), 1, retry(1, R::TransientStatus(504))),
        (
            O::Status(503, None),
            3,
            Decision::Stop(S::AttemptsExhausted),
        ),
        (O::Err(K::Connect, None), 1, retry(1, R::ConnectFailed)),
        (O::Err(K::Timeout, None), 1, retry(1, R::TimedOut)),
        (O::Err(K::Interrupted, None), 2, retry(2, R::Interrupted)),
        (
            O::Err(K::Throttled, Some(3)),
            1,
            retry(3, R::ThrottledByClient),
        ),
        (
            O::Err(K::Timeout, None),
            3,
            Decision::Stop(S::AttemptsExhausted),
        ),
        (
            O::Err(K::Build, None),
            1,
            Decision::Stop(S::NotRetryable(K::Build)),
        ),
        (
            O::Err(K::Other, None),
            1,
            Decision::Stop(S::NotRetryable(K::Other)),
        ),
    ];
    for (i, (o, attempt, want)) in rows.into_iter().enumerate() {
        assert_eq!(decide(&p, &get, Some(true), o, attempt), want, "row {i}");
    }
}

#[test]
fn non_idempotent_table() {
    let p = policy();
    let post = Method::POST;
    let rows: Vec<(O, u32, Decision)> = vec![
        (
            O::Status(200, None),
            1,
            Decision::Stop(S::FinalStatus(st(200))),
        ),
        (
            O::Status(201, None),
            2,
            Decision::Stop(S::FinalStatus(st(201))),
        ),
        (
            O::Status(400, None),
            1,
            Decision::Stop(S::FinalStatus(st(400))),
        ),
        (O::Status(429, None), 1, retry(1, R::ThrottledByServer)),
        (O::Status(429, Some("5")), 1, retry(5, R::ThrottledByServer)),
        (
            O::Status(429, None),
            3,
            Decision::Stop(S::AttemptsExhausted),
        ),
        (
            O::Status(408, None),
            1,
            Decision::Stop(S::ServerMayHaveActed(st(408))),
        ),
        (
            O::Status(500, None),
            1,
            Decision::Stop(S::ServerMayHaveActed(st(500))),
        ),
        (
            O::Status(502, None),
            1,
            Decision::Stop(S::ServerMayHaveActed(st(502))),
        ),
        (
            O::Status(503, Some("1")),
            1,
            Decision::Stop(S::ServerMayHaveActed(st(503))),
        ),
        (
            O::Status(504, None),
            1,
            Decision::Stop(S::ServerMayHaveActed(st(504))),
        ),
        (O::Err(K::Connect, None), 1, retry(1, R::ConnectFailed)),
        (O::Err(K::Connect, None), 2, retry(2, R::ConnectFailed)),
        (
            O::Err(K::Throttled, Some(2)),
            1,
            retry(2, R::ThrottledByClient),
        ),
        (
            O::Err(K::Timeout, None),
            1,
            Decision::Stop(S::MayHaveBeenSent(K::Timeout)),
        ),
        (
            O::Err(K::Interrupted, None),
            1,
            Decision::Stop(S::MayHaveBeenSent(K::Interrupted)),
        ),
        (
            O::Err(K::Other, None),
            1,
            Decision::Stop(S::MayHaveBeenSent(K::Other)),
        ),
        (
            O::Err(K::Build, None),
            1,
            Decision::Stop(S::NotRetryable(K::Build)),
        ),
    ];
    for (i, (o, attempt, want)) in rows.into_iter().enumerate() {
        assert_eq!(decide(&p, &post, Some(false), o, attempt), want, "row {i}");
    }
}

#[test]
fn without_context_only_safe_methods_are_idempotent() {
    let p = policy();
    let transient = R::TransientStatus(503);
    assert_eq!(
        decide(&p, &Method::GET, None, O::Status(503, None), 1),
        retry(1, transient)
    );
    assert_eq!(
        decide(&p, &Method::HEAD, None, O::Err(K::Timeout, None), 1),
        retry(1, R::TimedOut)
    );
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        assert_eq!(
            decide(&p, &method, None, O::Status(503, None), 1),
            Decision::Stop(S::ServerMayHaveActed(st(503))),
            "{method}"
        );
        assert_eq!(
            decide(&p, &method, None, O::Err(K::Timeout, None), 1),
            Decision::Stop(S::MayHaveBeenSent(K::Timeout)),
            "{method}"
        );
    }
    // The spec's flag wins over the method.
    assert_eq!(
        decide(&p, &Method::POST, Some(true), O::Status(503, None), 1),
        retry(1, transient)
    );
    assert_eq!(
        decide(&p, &Method::GET, Some(false), O::Err(K::Timeout, None), 1),
        Decision::Stop(S::MayHaveBeenSent(K::Timeout))
    );
}

#[test]
fn backoff_doubles_up_to_the_cap_and_jitter_stays_below() {
    let p = policy().max_attempts(10);
    let want = [1, 2, 4, 8, 16, 20, 20, 20, 20];
    for (i, secs) in want.into_iter().enumerate() {
        let attempt = i as u32 + 1;
        assert_eq!(p.backoff_ceiling(attempt), Duration::from_secs(secs));
        assert_eq!(
            decide(&p, &Method::GET, Some(true), O::Status(502, None), attempt),
            retry(secs, R::TransientStatus(502))
        );
    }
    assert_eq!(
        p.backoff_ceiling(200),
        Duration::from_secs(20),
        "no overflow"
    );
    // The same attempt, decided again and again: only jitter can make the delays differ.
    let seeded = policy().max_attempts(10).jitter(Jitter::seeded(42));
    let ceiling = seeded.backoff_ceiling(3);
    let mut distinct = std::collections::BTreeSet::new();
    for _ in 0..50 {
        match decide(
            &seeded,
            &Method::GET,
            Some(true),
            O::Err(K::Connect, None),
            3,
        ) {
            Decision::Retry { after, .. } => {
                assert!(after <= ceiling);
                distinct.insert(after);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        distinct.len() > 40,
        "full jitter varies the delay: {distinct:?}"
    );
    assert!(
        distinct.iter().any(|d| *d < ceiling / 2),
        "full jitter reaches below half the ceiling"
    );
}

#[test]
fn deadline_stops_a_retry_that_would_start_too_late() {
    let p = policy();
    let half = Some(Duration::from_millis(500));
    assert_eq!(
        decide_with_deadline(&p, &Method::GET, Some(true), O::Status(503, None), 1, half),
        Decision::Stop(S::DeadlineExceeded)
    );
    assert_eq!(
        decide_with_deadline(
            &p,
            &Method::GET,
            Some(true),
            O::Status(503, None),
            1,
            Some(Duration::from_secs(2))
        ),
        retry(1, R::TransientStatus(503))
    );
    assert_eq!(
        decide_with_deadline(
            &p,
            &Method::POST,
            Some(false),
            O::Status(429, Some("3")),
            1,
            Some(Duration::from_secs(2))
        ),
        Decision::Stop(S::DeadlineExceeded)
    );
}

#[test]
fn no_non_idempotent_operation_is_retried_once_it_may_have_been_sent() {
    let p = policy();
    let mut checked = 0;
    for op in operation::ALL.iter().filter(|op| !op.idempotent) {
        let method = Method::from_bytes(op.method.as_str().as_bytes()).unwrap();
        for kind in [K::Timeout, K::Interrupted, K::Other] {
            assert!(
                matches!(
                    decide(&p, &method, Some(op.idempotent), O::Err(kind, None), 1),
                    Decision::Stop(S::MayHaveBeenSent(_))
                ),
                "{} {kind:?}",
                op.id
            );
        }
        for code in [408, 500, 502, 503, 504] {
            assert!(
                matches!(
                    decide(&p, &method, Some(op.idempotent), O::Status(code, None), 1),
                    Decision::Stop(S::ServerMayHaveActed(_))
                ),
                "{} {code}",
                op.id
            );
        }
        checked += 1;
    }
    const { assert!(!operation::MESSAGES_SEND_TEXT.idempotent) };
    const { assert!(!operation::AUTOMATIONS_START.idempotent) };
    assert!(checked >= 2);
}
