//! The recording transport shared by the client tests.

#![allow(dead_code)]

use async_trait::async_trait;
use bytes::Bytes;
use spoki_client::{Client, HttpRequest, HttpResponse, Transport, TransportError};
use std::sync::{Arc, Mutex};

/// A request as the transport saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub operation: Option<&'static str>,
}

impl Seen {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect()
    }
}

type Responder = dyn Fn(&Seen) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync;

/// A transport that records every request and answers from a closure.
#[derive(Clone)]
pub struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    respond: Arc<Responder>,
}

impl Recorder {
    pub fn new(
        respond: impl Fn(&Seen) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync + 'static,
    ) -> Self {
        Recorder {
            seen: Arc::default(),
            respond: Arc::new(respond),
        }
    }

    /// Always answers 200 with `body`.
    pub fn ok(body: &str) -> Self {
        let body = body.to_owned();
        Recorder::new(move |_| (200, vec![], body.clone()))
    }

    pub fn client(&self) -> Client {
        Client::builder()
            .api_key("canary-api-key-0001")
            .base_url("http://127.0.0.1:9")
            .transport(self.clone())
            // The recorder answers every call alike, a template read too: the placeholder
            // check is tested against the local Spoki instead.
            .check_placeholders(false)
            .build()
            .unwrap()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn last(&self) -> Seen {
        self.seen().pop().expect("no request was sent")
    }
}

#[async_trait]
impl Transport for Recorder {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let context = spoki_client::RequestContext::of(&request).copied();
        let (parts, body) = request.into_parts();
        let seen = Seen {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts.headers,
            body,
            operation: context.map(|c| c.operation.id.as_str()),
        };
        let (status, headers, body) = (self.respond)(&seen);
        self.seen.lock().unwrap().push(seen);
        let mut response = http::Response::builder().status(status);
        for (k, v) in headers {
            response = response.header(k, v);
        }
        Ok(response.body(Bytes::from(body)).unwrap())
    }
}
