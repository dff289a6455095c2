//! The HTTP side: accepting connections, reading requests, faults, the request log, webhook
//! deliveries and saving state.

use crate::answer::Answer;
use crate::control;
use crate::limits::Limiter;
use crate::route;
use crate::state::{Delivery, DeliveryAttempt};
use crate::world::{Call, Notice, World};
use crate::{Fault, MAX_FAULT_TIMES, MockConfig, MockError, ReceivedRequest};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use spoki_billing::Timestamp;
use spoki_models::operation::{Body, Method, OperationId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

mod deliver;

/// The largest request body the mock reads.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Closing the connection without an answer, for the `reset` and `answer_lost` faults.
#[derive(Debug)]
pub(crate) struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by a scripted fault")
    }
}

impl std::error::Error for Reset {}

/// The most body bytes the request log keeps in all: beyond it, the oldest requests go.
pub(crate) const REQUEST_LOG_BYTES: usize = 64 * 1024 * 1024;

/// The last requests (at most `limit`, and bodies of at most [`REQUEST_LOG_BYTES`] in all),
/// and how many went before them.
struct RequestLog {
    kept: VecDeque<ReceivedRequest>,
    limit: usize,
    bytes: usize,
    dropped: u64,
}

impl RequestLog {
    fn new(limit: usize) -> RequestLog {
        RequestLog {
            kept: VecDeque::new(),
            limit,
            bytes: 0,
            dropped: 0,
        }
    }

    /// Logs a request; returns its number, counted from the first request ever logged.
    fn push(&mut self, entry: ReceivedRequest) -> u64 {
        self.bytes += entry.size();
        self.kept.push_back(entry);
        while self.kept.len() > self.limit
            || (self.bytes > REQUEST_LOG_BYTES && self.kept.len() > 1)
        {
            let oldest = self.kept.pop_front().expect("more than one kept");
            self.bytes -= oldest.size();
            self.dropped += 1;
        }
        self.dropped + self.kept.len() as u64 - 1
    }

    /// Records the status request `number` was answered, unless the log moved past it.
    fn answered(&mut self, number: u64, status: u16) {
        let kept = number
            .checked_sub(self.dropped)
            .and_then(|i| usize::try_from(i).ok());
        if let Some(entry) = kept.and_then(|i| self.kept.get_mut(i)) {
            entry.status = Some(status);
        }
    }
}

/// What every connection shares.
pub(crate) struct Shared {
    pub url: String,
    pub config: MockConfig,
    world: Mutex<World>,
    faults: Mutex<HashMap<OperationId, VecDeque<Fault>>>,
    received: Mutex<RequestLog>,
    limiter: Limiter,
    http: reqwest::Client,
    /// Wakes the state writer after a change.
    pub(crate) dirty: Notify,
    /// One save at a time.
    pub(crate) saving: Mutex<()>,
    /// Counts the changes; a save covers every change counted before it began.
    generation: std::sync::atomic::AtomicU64,
    /// The last change that a finished save covers.
    pub(crate) saved: watch::Sender<u64>,
    /// Wakes waiters on deliveries.
    pub delivered: Notify,
    /// Connections accepted so far.
    pub connections: std::sync::atomic::AtomicU64,
}

impl Shared {
    pub fn new(url: String, config: MockConfig, world: World) -> Shared {
        let log_limit = config.request_log;
        Shared {
            url,
            limiter: Limiter::new(config.rate_limits.clone()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("a plain HTTP client builds"),
            config,
            world: Mutex::new(world),
            faults: Mutex::default(),
            received: Mutex::new(RequestLog::new(log_limit)),
            dirty: Notify::new(),
            saving: Mutex::new(()),
            generation: std::sync::atomic::AtomicU64::new(0),
            connections: std::sync::atomic::AtomicU64::new(0),
            saved: watch::Sender::new(0),
            delivered: Notify::new(),
        }
    }

    /// The world, even if a panic poisoned its lock (the data stays consistent per request).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Scripts `fault` for the next `times` calls of `operation`; an unknown operation id is
    /// refused, with the reason.
    pub fn add_fault(
        &self,
        operation: OperationId,
        fault: Fault,
        times: usize,
    ) -> Result<(), MockError> {
        fault.check()?;
        if !(1..=MAX_FAULT_TIMES).contains(&times) {
            return Err(MockError::Times(times));
        }
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let queue = faults.entry(operation).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
        Ok(())
    }

    /// A customer of `account` writes: the world records it, then it is saved and delivered.
    pub fn inbound(
        self: &Arc<Self>,
        account: i64,
        phone: &str,
        text: &str,
    ) -> Result<Value, Answer> {
        let data = self.world().inbound(account, phone, text)?;
        self.changed();
        self.dispatch();
        Ok(data)
    }

    pub fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn take_fault(&self, operation: OperationId) -> Option<Fault> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.get_mut(&operation)?.pop_front()
    }

    pub fn received(&self) -> Vec<ReceivedRequest> {
        let log = self.received.lock().unwrap_or_else(|e| e.into_inner());
        log.kept.iter().cloned().collect()
    }

    /// How many requests of `operation` the log holds, counted under its lock.
    pub fn calls(&self, operation: OperationId) -> usize {
        let log = self.received.lock().unwrap_or_else(|e| e.into_inner());
        let name = Some(operation.as_str());
        log.kept
            .iter()
            .filter(|r| r.operation.as_deref() == name)
            .count()
    }

    /// How many requests the log has dropped to stay within its bounds.
    pub fn requests_dropped(&self) -> u64 {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .dropped
    }

    /// Counts a change and wakes the state writer; returns the change's number.
    pub fn changed(&self) -> u64 {
        let n = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        self.dirty.notify_one();
        n
    }

    /// The number of the last change counted.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until change `n` is in the state file, when there is one: an answer goes out
    /// only once what it acknowledges is saved.
    async fn saved_through(&self, n: u64) {
        if self.config.state_file.is_none() {
            return;
        }
        let mut saved = self.saved.subscribe();
        let _ = saved.wait_for(|&covered| covered >= n).await;
    }
}

/// Serves connections until `stop` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, say: wait instead of spinning on the error.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        shared
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let shared = shared.clone();
        let header_timeout = shared.config.header_timeout;
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = shared.clone();
                async move { handle(shared, request).await }
            });
            // An error here is a client gone away or a scripted reset: nothing to do.
            // A client that never finishes its headers is dropped, not held.
            let _ = http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads one request and answers it, or resets the connection when a fault says so.
async fn handle(
    shared: Arc<Shared>,
    request: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Reset> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(write(Answer::refused(
                413,
                "Request Entity Too Large",
                "The request body is too large.",
            )));
        }
    };
    let path = parts.uri.path().to_owned();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let method = parts.method.as_str().to_owned();
    if let Some(page) = beside_the_api(&shared, &method, &path, &query, &body).await {
        return Ok(page);
    }
    let api_key = parts
        .headers
        .get("x-spoki-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut entry = ReceivedRequest::new(&method, &path, parts.uri.query(), &parts.headers, &body);

    let parsed: Option<Result<Value, serde_json::Error>> =
        (!body.is_empty()).then(|| serde_json::from_slice::<Value>(&body));
    let probe = match &parsed {
        Some(Ok(value)) => value.clone(),
        _ => Value::Null,
    };
    let Some(matched) = route::pick(route::candidates(&method, &path), &probe) else {
        return Ok(shared.finish(shared.arrived(entry), unrouted(&method, &path)));
    };
    let op = matched.operation;
    entry.operation = Some(op.id.as_str().to_owned());
    // Logged on arrival, so a request still being served (a scripted delay) is counted.
    let log = shared.arrived(entry);

    let mut lose_answer = false;
    match shared.take_fault(op.id) {
        Some(Fault::Status {
            status,
            body,
            headers,
        }) => {
            let mut answer = Answer::with_status(status, body.unwrap_or(Value::Null));
            if answer.body.as_ref().is_some_and(Value::is_null) {
                answer.body = None;
            }
            answer.headers.extend(headers);
            return Ok(shared.finish(log, answer));
        }
        Some(Fault::Delay { ms }) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Some(Fault::Reset) => return Err(Reset),
        Some(Fault::AnswerLost) => lose_answer = true,
        None => {}
    }

    let answer = shared
        .answer_routed(&matched, &query, api_key.as_deref(), parsed)
        .await;
    if lose_answer {
        return Err(Reset);
    }
    Ok(shared.finish(log, answer))
}

/// A request no operation takes: a known path with another method, or an unknown path.
fn unrouted(method: &str, path: &str) -> Answer {
    if route::path_exists(path) {
        let detail = format!("Method \"{method}\" not allowed.");
        Answer::refused(405, "Method Not Allowed", detail)
    } else {
        Answer::not_found()
    }
}

/// The stand-in embedded app (its pages and what they poll) and the control surface under
/// `/__mock/`: answered before any routing to the API.
async fn beside_the_api(
    shared: &Arc<Shared>,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: &Bytes,
) -> Option<hyper::Response<Full<Bytes>>> {
    if method == "GET" {
        if path == "/__mock/embed/state" {
            return Some(crate::embed::state(&shared.world().embed, query));
        }
        if let Some(page) = crate::embed::page(&shared.world().embed, path, query) {
            return Some(page);
        }
    }
    let rest = path.strip_prefix("/__mock/")?;
    Some(write(control::handle(shared, method, rest, body).await))
}

impl Shared {
    /// Answers a routed request as Spoki would: credentials, rate limits, the body's decoding,
    /// then the world; a change is saved before the answer leaves.
    async fn answer_routed(
        self: &Arc<Self>,
        matched: &route::Matched,
        query: &[(String, String)],
        api_key: Option<&str>,
        parsed: Option<Result<Value, serde_json::Error>>,
    ) -> Answer {
        let op = matched.operation;
        let mut call = Call {
            matched,
            query,
            api_key,
            body: None,
            base_url: &self.url,
        };
        let credential = {
            let world = self.world();
            if let Err(answer) = world.authenticate(&call) {
                return answer;
            }
            world.credential(&call)
        };
        if let Err(wait) = self.limiter.check(&credential, op) {
            return Answer::throttled(wait);
        }
        if !matches!(op.body, Body::None) {
            let value = match parsed {
                Some(Ok(value)) => value,
                Some(Err(e)) => {
                    return Answer::field("non_field_errors", format!("JSON parse error - {e}"));
                }
                None => Value::Null,
            };
            if let Err(e) = op.body.decode(&value) {
                return Answer::fields(crate::route::field_errors(e));
            }
            // A message send (an automation start fails later, in its webhook).
            if op.recipients == Some("phone")
                && op.auth == spoki_models::operation::AuthKind::ApiKey
                && let Some(phone) = value["phone"].as_str()
                && let Err(wait) = self.limiter.check_recipients(&credential, &[phone])
            {
                return Answer::pair_rate(wait);
            }
            call.body = Some(value);
        }
        let answer = self.world().handle(call);
        let change = (op.method != Method::Get || op.id == OperationId::TemplatesClone)
            .then(|| self.changed());
        self.dispatch();
        if let Some(n) = change {
            self.saved_through(n).await;
        }
        answer
    }
}

impl Shared {
    /// Logs a request as it arrives, not yet answered; returns its number in the log.
    fn arrived(&self, entry: ReceivedRequest) -> u64 {
        let mut log = self.received.lock().unwrap_or_else(|e| e.into_inner());
        log.push(entry)
    }

    /// Records the status a logged request got, and turns the answer into a response.
    fn finish(&self, number: u64, answer: Answer) -> hyper::Response<Full<Bytes>> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .answered(number, answer.status);
        write(answer)
    }
}

fn write(answer: Answer) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::builder().status(answer.status);
    let body = match (&answer.body, answer.json_text) {
        (_, Some(text)) => {
            response = response.header("content-type", "application/json");
            Bytes::from_static(text.as_bytes())
        }
        (Some(value), None) => {
            response = response.header("content-type", "application/json");
            Bytes::from(value.to_string())
        }
        (None, None) => Bytes::new(),
    };
    for (name, value) in answer.headers {
        response = response.header(name, value);
    }
    response
        .body(Full::new(body))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

#[cfg(test)]
mod tests {
    use super::RequestLog;

    const REQUEST_LOG_LIMIT: usize = 10_000;
    use crate::ReceivedRequest;

    fn request(path: &str) -> ReceivedRequest {
        ReceivedRequest::new("GET", path, None, &http::HeaderMap::new(), b"")
    }

    #[test]
    fn the_request_log_keeps_the_last_requests_and_their_answers() {
        let mut log = RequestLog::new(REQUEST_LOG_LIMIT);
        let first = log.push(request("/0"));
        for n in 1..REQUEST_LOG_LIMIT + 2 {
            let number = log.push(request(&format!("/{n}")));
            assert_eq!(number, n as u64);
        }
        assert_eq!(log.kept.len(), REQUEST_LOG_LIMIT);
        assert_eq!(log.dropped, 2);
        assert_eq!(log.kept.front().unwrap().path, "/2");
        // A late answer to a request the log moved past is dropped; a kept one is recorded.
        log.answered(first, 200);
        let last = REQUEST_LOG_LIMIT as u64 + 1;
        log.answered(last, 404);
        assert_eq!(log.kept.back().unwrap().status, Some(404));
        assert!(
            log.kept
                .iter()
                .take(REQUEST_LOG_LIMIT - 1)
                .all(|r| r.status.is_none())
        );
    }
}
