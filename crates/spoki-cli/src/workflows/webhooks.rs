//! `spoki webhooks verify` and `spoki webhooks listen`.

use crate::error::{CliError, Result, exit};
use crate::output::Output;
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use spoki_client::models::Secret;
use spoki_client::models::WebhookDelivery;
use spoki_client::webhook::{ACCOUNT_HEADER, SIGNATURE_HEADER};
use spoki_client::{WebhookError, WebhookVerifier};
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
            out.summary(json!({"valid": true, "event": delivery.event, "account_id": delivery.account_id, "event_uuid": delivery.event_uuid}));
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

pub fn describe(delivery: &WebhookDelivery) -> String {
    let event = delivery
        .event
        .as_ref()
        .and_then(|e| serde_json::to_value(e).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "(no event)".into());
    let account = delivery
        .account_id
        .map(|a| format!(" for account {a}"))
        .unwrap_or_default();
    let summary = delivery
        .data
        .as_ref()
        .and_then(|d| d.get("text").or_else(|| d.get("status")))
        .and_then(Value::as_str)
        .map(|t| format!(": {t:?}"))
        .unwrap_or_default();
    format!("{event}{account}{summary}")
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    #[command(flatten)]
    pub secret: SecretSource,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Also POST every verified delivery, headers and body unchanged, to this URL.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<String>,
}

struct Listener {
    verifier: WebhookVerifier,
    forward_to: Option<String>,
    http: reqwest::Client,
    out: Output,
}

/// Receives deliveries until Ctrl-C: the first line on stdout is the URL to register.
pub async fn listen(args: ListenArgs, out: Output) -> Result<()> {
    let listener = Arc::new(Listener {
        verifier: args.secret.verifier()?,
        forward_to: args.forward_to,
        // Spoki waits for the answer while the delivery is forwarded: a slow endpoint must not
        // hold it past Spoki's own timeout, or Spoki sends the delivery again.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| CliError::Failed(format!("cannot set up HTTP: {e}")))?,
        out,
    });
    let socket = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on port {}: {e}", args.port)))?;
    let url = format!("http://{}/", socket.local_addr().expect("bound"));
    if out.json {
        println!("{}", json!({"listening": url}));
    } else {
        println!("listening on {url} (register it as the webhook URL; Ctrl-C stops)");
    }
    tokio::select! {
        () = serve(socket, move |parts, body| {
            let listener = listener.clone();
            async move { listener.receive(parts, body).await }
        }) => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Serves HTTP/1 on `socket`, handing each request's head and whole body to `handle`.
pub async fn serve<H, F>(socket: tokio::net::TcpListener, handle: H)
where
    H: Fn(http::request::Parts, Bytes) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = socket.accept().await else {
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let handle = handle.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let response = match body.collect().await {
                        Ok(body) => handle(parts, body.to_bytes()).await,
                        Err(_) => answer(StatusCode::BAD_REQUEST, "unreadable body"),
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

impl Listener {
    async fn receive(&self, parts: http::request::Parts, body: Bytes) -> Response<Full<Bytes>> {
        match self
            .verifier
            .verify_headers(&parts.headers, &body, SystemTime::now())
        {
            Ok(delivery) => {
                let forwarded = match &self.forward_to {
                    Some(url) => Some(self.forward(url, &parts.headers, body).await),
                    None => None,
                };
                self.print(true, &describe(&delivery), &delivery, forwarded.as_deref());
                answer(StatusCode::OK, "ok")
            }
            Err(e) => {
                self.print_refused(&e);
                answer(StatusCode::BAD_REQUEST, "signature check failed")
            }
        }
    }

    async fn forward(&self, url: &str, headers: &http::HeaderMap, body: Bytes) -> String {
        let mut request = self.http.post(url).body(body);
        for name in [SIGNATURE_HEADER, ACCOUNT_HEADER, "content-type"] {
            if let Some(value) = headers.get(name) {
                request = request.header(name, value.clone());
            }
        }
        match request.send().await {
            Ok(response) => format!("forwarded: {}", response.status().as_u16()),
            Err(e) => format!("forward failed: {}", without_url(&e)),
        }
    }

    fn print(&self, valid: bool, line: &str, delivery: &WebhookDelivery, forwarded: Option<&str>) {
        if self.out.json {
            let mut data = delivery.data.clone().unwrap_or(Value::Null);
            if !self.out.reveal_secrets {
                spoki_client::redact_credentials(&mut data);
            }
            let mut record = json!({"valid": valid, "event": delivery.event, "event_uuid": delivery.event_uuid, "account_id": delivery.account_id, "data": data});
            if let Some(f) = forwarded {
                record["forward"] = json!(f);
            }
            println!("{record}");
        } else {
            let tail = forwarded.map(|f| format!(" ({f})")).unwrap_or_default();
            println!("✔ {line}{tail}");
        }
    }

    fn print_refused(&self, error: &WebhookError) {
        if self.out.json {
            println!("{}", json!({"valid": false, "reason": error.to_string()}));
        } else {
            println!("✘ refused: {error}");
        }
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

pub fn answer(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .expect("a valid response")
}
