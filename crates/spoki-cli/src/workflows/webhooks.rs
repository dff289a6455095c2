//! `spoki webhooks verify` and `spoki webhooks listen`.

use crate::error::{CliError, Result, exit};
use crate::output::Output;
use crate::target::Global;
use bytes::Bytes;
use clap::Args;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{Value, json};
use spoki_billing::TemplateCategories;
use spoki_client::WebhookVerifier;
use spoki_client::models::Secret;
use spoki_webhook::dedupe::DedupeStore;
use spoki_webhook::{
    ACCOUNT_HEADER, BoxError, Delivery, DeliveryOutcome, Event, Handler, Receiver, RedisDedupe,
    SIGNATURE_HEADER,
};
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Where the signing secret comes from: never the command line, where `ps` and shell history
/// would show it.
#[derive(Debug, Clone, Args)]
pub struct SecretSource {
    /// Environment variable holding the webhook's signing secret.
    #[arg(long, value_name = "VAR")]
    pub secret_env: String,
    /// How far the signed timestamp may be from now, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub tolerance: u64,
}

impl SecretSource {
    fn verifier(&self) -> Result<WebhookVerifier> {
        let secret = crate::config::env_value(&self.secret_env)?;
        WebhookVerifier::new(Secret::from(secret))
            .map(|v| v.tolerance(Duration::from_secs(self.tolerance)))
            .map_err(|e| CliError::Usage(format!("{}: {e}", self.secret_env)))
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub secret: SecretSource,
    /// The `X-Spoki-Signature` header's value (`t=…,v2=…`); a leading header name is ignored.
    #[arg(long, value_name = "HEADER VALUE")]
    pub signature: String,
    /// File holding the delivery's raw body, byte for byte.
    #[arg(long, value_name = "FILE")]
    pub body: PathBuf,
    /// Check the timestamp as of this instant (unix seconds), such as when a failed delivery
    /// arrived, instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<i64>,
}

/// Verifies one delivery: exit 0 when it is authentic and fresh, 1 with the reason otherwise.
pub fn verify(args: VerifyArgs, out: Output) -> Result<ExitCode> {
    let verifier = args.secret.verifier()?;
    let body = std::fs::read(&args.body).map_err(CliError::io(&args.body))?;
    let header = strip_header_name(&args.signature);
    let verified = match args.at {
        Some(at) => verifier.verify_at_unix(header, &body, at),
        None => verifier.verify(header, &body, SystemTime::now()),
    };
    match verified {
        Ok(delivery) => {
            out.say(format!("valid: {}", describe(&delivery)));
            out.summary(json!({"valid": true, "event": delivery.event.kind(), "account_id": delivery.account_id, "event_uuid": delivery.event_uuid}));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            out.summary(json!({"valid": false, "reason": e.to_string()}));
            eprintln!("invalid: {e}");
            Ok(ExitCode::from(exit::FAILED))
        }
    }
}

fn strip_header_name(value: &str) -> &str {
    let trimmed = value.trim();
    match trimmed.split_once(':') {
        Some((name, rest)) if name.trim().eq_ignore_ascii_case(SIGNATURE_HEADER) => rest.trim(),
        _ => trimmed,
    }
}

/// One line for a delivery: its event, what it is about, and its status where it has one.
pub fn describe(delivery: &Delivery) -> String {
    let kind = delivery.event.kind();
    let account = delivery
        .account_id
        .map(|a| format!(" for account {a}"))
        .unwrap_or_default();
    let or_dash = |v: Option<&str>| v.unwrap_or("-").to_owned();
    let what = match &delivery.event {
        Event::MessageOutbound(m) => {
            let status = m
                .send_status
                .as_ref()
                .map_or("-".into(), ToString::to_string);
            let code = m
                .error_code
                .as_deref()
                .map(|c| match spoki_client::models::ErrorKind::of_code(c) {
                    Some(kind) => format!(" {c}: {}", kind.hint()),
                    None => format!(" {c}"),
                })
                .unwrap_or_default();
            format!(
                ": {} to {} {status}{code}",
                or_dash(m.uuid.as_deref()),
                or_dash(m.to_phone.as_deref())
            )
        }
        Event::MessageInbound(m) => format!(
            " from {}: {:?}",
            or_dash(m.from_phone.as_deref()),
            m.text.as_deref().unwrap_or("")
        ),
        Event::MessageNote(n) => format!(": {:?}", n.text.as_deref().unwrap_or("")),
        Event::ChatHasUnreadMessages(c) => format!(
            ": chat {} unread {}",
            or_dash(c.chat_uuid.as_deref()),
            c.has_unread_messages.map_or("-".into(), |u| u.to_string())
        ),
        Event::ContactCreated(c) | Event::ContactUpdated(c) | Event::ContactDeleted(c) => {
            format!(": contact {} {}", c.id, or_dash(c.phone.as_deref()))
        }
        Event::ContactTagCreated(t) | Event::ContactTagDeleted(t) => {
            format!(": tag {} {:?}", t.id, t.name.as_deref().unwrap_or(""))
        }
        Event::ContactListCreated(l) | Event::ContactListDeleted(l) => {
            format!(": list {} {:?}", l.id, l.name.as_deref().unwrap_or(""))
        }
        _ => String::new(),
    };
    format!("{kind}{account}{what}")
}

#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The event to deliver.
    #[arg(value_name = "EVENT", value_parser = event_names())]
    pub event: String,
    /// The endpoint to deliver it to, such as your receiver or `spoki webhooks listen`.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Environment variable holding the secret to sign with (the webhook's `whsec_…`).
    #[arg(long, value_name = "VAR")]
    pub secret_env: String,
    /// The account the delivery is about.
    #[arg(long, default_value_t = 101)]
    pub account: i64,
    /// The delivery's `event_uuid`: give the same one twice to test your dedupe.
    #[arg(long, value_name = "UUID")]
    pub event_uuid: Option<String>,
}

fn event_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        spoki_client::models::WebhookEvent::KNOWN
            .iter()
            .map(|e| clap::builder::PossibleValue::new(e.as_str())),
    )
}

/// Posts a realistic, correctly signed delivery of `EVENT` to `--to`: exit 0 when it answers
/// 2xx, 1 otherwise.
pub async fn trigger(args: TriggerArgs, out: Output) -> Result<ExitCode> {
    let secret = Secret::from(crate::config::env_value(&args.secret_env)?);
    if secret.is_blank() {
        return Err(CliError::Usage(format!("{} is blank", args.secret_env)));
    }
    let event = spoki_client::models::WebhookEvent::from(args.event.as_str());
    let event_uuid = args
        .event_uuid
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let now = spoki_client::models::Timestamp::now().unix_seconds();
    let body = spoki_webhook::sample_body(&event, &event_uuid, args.account, now)
        .ok_or_else(|| CliError::Usage(format!("no sample for {event}")))?;
    let signature = spoki_webhook::sign(&secret, now, body.as_bytes());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| CliError::Failed(format!("cannot set up HTTP: {e}")))?;
    let answer = http
        .post(&args.to)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(ACCOUNT_HEADER, args.account.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| CliError::Failed(format!("{event} to {}: {}", args.to, without_url(&e))))?;
    let status = answer.status().as_u16();
    out.say(format!(
        "{event} {event_uuid} delivered to {}: {status}",
        args.to
    ));
    out.summary(json!({"event": event, "event_uuid": event_uuid, "status": status}));
    Ok(if answer.status().is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILED)
    })
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub secret: SecretSource,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Also POST every distinct verified delivery, headers and body unchanged, to this URL.
    /// A forward that fails answers Spoki 500, so Spoki delivers it again.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<String>,
    /// The largest body accepted, in bytes; a larger one is answered 413 unread.
    #[arg(long, value_name = "BYTES", default_value_t = spoki_webhook::DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Share the record of handled events with other listeners through this Redis
    /// (`redis://127.0.0.1:6379/`), so that each event is handled by one of them, once.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Append every billable event (a customer's message, a send's first report) to this
    /// billing log, for `campaign estimate --history` and `billing replay`. Template sends
    /// are priced by category, read from the API when a key is given.
    #[arg(long, value_name = "FILE")]
    pub billing_log: Option<PathBuf>,
}

/// The billing log a listener appends to, with the template categories it prices sends by.
struct BillingLog {
    file: std::sync::Mutex<std::fs::File>,
    templates: TemplateCategories,
}

impl BillingLog {
    async fn open(path: &std::path::Path, global: &Global) -> Result<BillingLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(CliError::io(path))?;
        // Deliveries name a template, not its category: read the categories once, if the
        // command can reach the API.
        let mut templates = TemplateCategories::new();
        let listed = match global.connect().await {
            Ok(target) => target
                .client
                .templates()
                .list()
                .send()
                .await
                .map_err(CliError::from),
            Err(e) => Err(e),
        };
        match listed {
            Ok(page) => templates.extend(&page.results),
            Err(e) => eprintln!("billing log: template sends cannot be priced ({e})"),
        }
        Ok(BillingLog {
            file: std::sync::Mutex::new(file),
            templates,
        })
    }

    /// Appends the event `delivery` bills, if any; says why on stderr when it cannot.
    fn append(&self, delivery: &Delivery) -> std::io::Result<()> {
        match self.templates.billable(delivery) {
            Ok(Some((event, _))) => {
                let mut line = event.to_json();
                line.push('\n');
                let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
                std::io::Write::write_all(&mut *file, line.as_bytes())
            }
            Ok(None) => Ok(()),
            Err(e) => {
                eprintln!("billing log: {} not billed: {e}", describe(delivery));
                Ok(())
            }
        }
    }
}

/// The request being handled, for the handler to forward.
#[derive(Clone)]
struct Raw {
    headers: http::HeaderMap,
    body: Bytes,
}

tokio::task_local! {
    static RAW: Raw;
}

/// What the listener does with each distinct event: forward it, then print it.
struct Printer {
    forward_to: Option<String>,
    http: reqwest::Client,
    billing: Option<BillingLog>,
    out: Output,
}

impl Handler for Printer {
    async fn handle(&self, delivery: Arc<Delivery>) -> std::result::Result<(), BoxError> {
        let forwarded = match &self.forward_to {
            Some(url) => {
                let raw = RAW
                    .try_with(Raw::clone)
                    .map_err(|_| "no request to forward")?;
                Some(forward(&self.http, url, raw).await?)
            }
            None => None,
        };
        if let Some(log) = &self.billing {
            // A log that cannot be written asks for the delivery again.
            log.append(&delivery)?;
        }
        if self.out.json() {
            let mut record = serde_json::to_value(&*delivery).unwrap_or(Value::Null);
            if !self.out.reveal_secrets {
                spoki_client::redact_credentials(&mut record);
            }
            record["valid"] = json!(true);
            if let Some(f) = forwarded {
                record["forward"] = json!(f);
            }
            println!("{record}");
        } else {
            let tail = forwarded.map(|f| format!(" ({f})")).unwrap_or_default();
            println!("✔ {}{tail}", describe(&delivery));
        }
        Ok(())
    }
}

/// Receives deliveries until Ctrl-C: the first line on stdout is the URL to register.
pub async fn listen(args: ListenArgs, global: &Global, out: Output) -> Result<()> {
    let billing = match &args.billing_log {
        Some(path) => Some(BillingLog::open(path, global).await?),
        None => None,
    };
    let printer = Printer {
        billing,
        forward_to: args.forward_to,
        // Spoki waits for the answer while the delivery is forwarded: a slow endpoint must not
        // hold it past Spoki's own timeout, or Spoki sends the delivery again.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| CliError::Failed(format!("cannot set up HTTP: {e}")))?,
        out,
    };
    let verifier = args.secret.verifier()?;
    let socket = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on port {}: {e}", args.port)))?;
    let url = format!("http://{}/", socket.local_addr().expect("bound"));
    match &args.redis {
        Some(redis) => {
            let store = RedisDedupe::open(redis)
                .await
                .map_err(|e| CliError::Failed(format!("--redis: {e}")))?;
            let receiver = Receiver::with_store(verifier, printer, store).max_body(args.max_body);
            announce(&url, out);
            run(socket, receiver, out).await
        }
        None => {
            let receiver = Receiver::new(verifier, printer).max_body(args.max_body);
            announce(&url, out);
            run(socket, receiver, out).await
        }
    }
}

fn announce(url: &str, out: Output) {
    if out.json() {
        println!("{}", json!({"listening": url}));
    } else {
        println!("{url}");
        eprintln!("listening: register the URL above as the webhook URL; Ctrl-C stops");
    }
}

async fn run<S: DedupeStore>(
    socket: tokio::net::TcpListener,
    receiver: Receiver<Printer, S>,
    out: Output,
) -> Result<()> {
    tokio::select! {
        () = serve(socket, move |request| {
            let receiver = receiver.clone();
            async move {
                let outcome = match receiver.read_body(request).await {
                    Ok((parts, body)) => {
                        let raw = Raw { headers: parts.headers.clone(), body: body.clone() };
                        RAW.scope(raw, receiver.receive_bytes(&parts.headers, &body)).await
                    }
                    Err(refused) => refused,
                };
                report(&outcome, out);
                outcome.into_response()
            }
        }) => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Prints what the handler did not: every request that was not a distinct event handled.
fn report(outcome: &DeliveryOutcome, out: Output) {
    let reason = match outcome {
        DeliveryOutcome::Handled(_) => return,
        DeliveryOutcome::Duplicate(d) => {
            if !out.json() {
                eprintln!("· {} again: already handled", describe(d));
            }
            return;
        }
        DeliveryOutcome::HandlerFailed(d, e) => {
            format!("{}: {e}; Spoki will deliver it again", describe(d))
        }
        DeliveryOutcome::Refused(e) => e.to_string(),
        DeliveryOutcome::TooLarge { limit } => format!("body larger than {limit} bytes"),
        other => format!("answered {}", other.status()),
    };
    let status = outcome.status().as_u16();
    if out.json() {
        println!(
            "{}",
            json!({"valid": false, "status": status, "reason": reason})
        );
    } else {
        println!("✘ {status}: {reason}");
    }
}

async fn forward(
    http: &reqwest::Client,
    url: &str,
    raw: Raw,
) -> std::result::Result<String, BoxError> {
    let mut request = http.post(url).body(raw.body);
    for name in [SIGNATURE_HEADER, ACCOUNT_HEADER, "content-type"] {
        if let Some(value) = raw.headers.get(name) {
            request = request.header(name, value.clone());
        }
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            Ok(format!("forwarded: {}", response.status().as_u16()))
        }
        Ok(response) => Err(format!("forward answered {}", response.status().as_u16()).into()),
        Err(e) => Err(format!("forward failed: {}", without_url(&e)).into()),
    }
}

/// Serves HTTP/1 on `socket`, handing each request to `handle` with its body unread.
pub async fn serve<H, F>(socket: tokio::net::TcpListener, handle: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let stream = match socket.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors, say: wait instead of spinning on the error.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let handle = handle.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(io, service)
                .await;
        });
    }
}

fn without_url(error: &reqwest::Error) -> String {
    if error.is_connect() {
        "cannot connect".into()
    } else if error.is_timeout() {
        "timed out".into()
    } else {
        "request failed".into()
    }
}
