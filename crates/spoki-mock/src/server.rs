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

    /// Turns queued notices into deliveries and starts sending them.
    pub fn dispatch(self: &Arc<Self>) {
        let mut started = Vec::new();
        {
            let mut world = self.world();
            let notices: Vec<Notice> = std::mem::take(&mut world.notices);
            for notice in notices {
                for (webhook_id, url, secret) in world.subscribers(notice.account_id, &notice.event)
                {
                    let body = json!({
                        "version": 2,
                        "event": &notice.event,
                        "event_uuid": uuid::Uuid::new_v4().to_string(),
                        "timestamp": Timestamp::now().unix_seconds(),
                        "account_id": notice.account_id,
                        "data": notice.data,
                    })
                    .to_string();
                    let id = world.state.deliveries.len() as u64;
                    world.state.deliveries.push(Delivery {
                        id,
                        webhook_id,
                        url: url.clone(),
                        event: notice.event.clone(),
                        body: body.clone(),
                        attempts: Vec::new(),
                        delivered: false,
                    });
                    started.push((id, url, secret, body, notice.account_id));
                }
            }
        }
        for (id, url, secret, body, account) in started {
            let shared = self.clone();
            tokio::spawn(async move { shared.deliver(id, url, secret, body, account).await });
        }
    }

    /// Sends delivery `id` again, as Spoki does when it redelivers an event: the same body,
    /// freshly signed with its webhook's current secret.
    pub fn redeliver(self: &Arc<Self>, id: u64) -> Result<(), MockError> {
        let (url, secret, body, account) = {
            let world = self.world();
            let delivery = world
                .state
                .deliveries
                .get(id as usize)
                .ok_or(MockError::NoDelivery(id))?;
            let (account, secret) = world
                .state
                .accounts
                .iter()
                .find_map(|(account, a)| {
                    let hook = a.records.get("webhooks")?.get(&delivery.webhook_id)?;
                    Some((*account, hook["secret"].as_str()?.to_owned()))
                })
                .ok_or(MockError::WebhookGone(id))?;
            (delivery.url.clone(), secret, delivery.body.clone(), account)
        };
        let shared = self.clone();
        tokio::spawn(async move { shared.deliver(id, url, secret, body, account).await });
        Ok(())
    }

    /// POSTs one delivery, signed, retrying with doubling backoff until the receiver answers
    /// 2xx or the attempts run out. Every attempt is logged.
    async fn deliver(
        self: Arc<Self>,
        id: u64,
        url: String,
        secret: String,
        body: String,
        account: i64,
    ) {
        let mut backoff = self.config.delivery_backoff;
        for attempt in 0..self.config.delivery_attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
            let at = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds());
            let signature = spoki_webhook::sign(
                &spoki_models::Secret::new(secret.as_str()),
                at.unix_seconds(),
                body.as_bytes(),
            );
            let result = self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header(spoki_webhook::SIGNATURE_HEADER, &signature)
                .header(spoki_webhook::ACCOUNT_HEADER, account.to_string())
                .body(body.clone())
                .send()
                .await;
            let (status, error) = match &result {
                Ok(response) => (Some(response.status().as_u16()), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            {
                let mut world = self.world();
                if let Some(delivery) = world.state.deliveries.get_mut(id as usize) {
                    delivery.attempts.push(DeliveryAttempt {
                        at,
                        status,
                        error,
                        signature: Some(signature),
                    });
                    delivery.delivered = ok;
                }
            }
            self.changed();
            self.delivered.notify_waiters();
            if ok {
                return;
            }
        }
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
    // The stand-in embedded app, and what its pages ask for.
    if method == "GET" {
        if path == "/__mock/embed/state" {
            return Ok(crate::embed::state(&shared.world().embed, &query));
        }
        if let Some(page) = crate::embed::page(&shared.world().embed, &path, &query) {
            return Ok(page);
        }
    }
    if let Some(rest) = path.strip_prefix("/__mock/") {
        return Ok(write(control::handle(&shared, &method, rest, &body).await));
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
        let answer = if route::path_exists(&path) {
            Answer::refused(
                405,
                "Method Not Allowed",
                format!("Method \"{method}\" not allowed."),
            )
        } else {
            Answer::not_found()
        };
        return Ok(shared.finish(shared.arrived(entry), answer));
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

    let mut call = Call {
        matched: &matched,
        query: &query,
        api_key: api_key.as_deref(),
        body: None,
        base_url: &shared.url,
    };
    let mut change = None;
    let answer = 'answer: {
        let world = shared.world();
        if let Err(answer) = world.authenticate(&call) {
            break 'answer answer;
        }
        let credential = world.credential(&call);
        drop(world);
        if let Err(wait) = shared.limiter.check(&credential, op) {
            break 'answer Answer::throttled(wait);
        }
        if !matches!(op.body, Body::None) {
            let value = match parsed {
                Some(Ok(value)) => value,
                Some(Err(e)) => {
                    break 'answer Answer::field(
                        "non_field_errors",
                        format!("JSON parse error - {e}"),
                    );
                }
                None => Value::Null,
            };
            if let Err(e) = op.body.decode(&value) {
                break 'answer Answer::fields(crate::route::field_errors(e));
            }
            // A message send (an automation start fails later, in its webhook).
            if op.recipients == Some("phone")
                && op.auth == spoki_models::operation::AuthKind::ApiKey
                && let Some(phone) = value["phone"].as_str()
                && let Err(wait) = shared.limiter.check_recipients(&credential, &[phone])
            {
                break 'answer Answer::pair_rate(wait);
            }
            call.body = Some(value);
        }
        let mut world = shared.world();
        let answer = world.handle(call);
        drop(world);
        if op.method != Method::Get || op.id == OperationId::TemplatesClone {
            change = Some(shared.changed());
        }
        shared.dispatch();
        answer
    };
    if let Some(n) = change {
        shared.saved_through(n).await;
    }
    if lose_answer {
        return Err(Reset);
    }
    Ok(shared.finish(log, answer))
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
