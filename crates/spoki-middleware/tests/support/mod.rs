//! A tiny HTTP/1.1 server on 127.0.0.1 that injects faults and counts what it receives.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status (and `Retry-After` when given).
    Status(u16, Option<&'static str>),
    /// Read the request, then reset the connection without answering.
    Reset,
    /// Answer 200 after this long.
    Delay(Duration),
}

#[derive(Default)]
struct State {
    scripts: HashMap<String, VecDeque<Fault>>,
    defaults: HashMap<String, Fault>,
    /// Requests received per "METHOD path".
    received: HashMap<String, usize>,
    /// Requests answered 429 by the quota or a script, per "METHOD path".
    rejected: HashMap<String, usize>,
    /// Arrival times of the requests the quota let through.
    window: VecDeque<Instant>,
}

/// The server; it stops when the test's runtime ends.
#[derive(Clone)]
pub struct Server {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    quota: Option<(usize, Duration)>,
}

impl Server {
    /// A server that answers 200 `{}` unless scripted otherwise.
    pub async fn start() -> Server {
        Server::start_with_quota(None).await
    }

    /// A server that answers 429 (`Retry-After: 1`) to any request beyond `n` within `window`.
    pub async fn start_with_quota(quota: Option<(usize, Duration)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server {
            addr: listener.local_addr().unwrap(),
            state: Arc::default(),
            quota,
        };
        let accept = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let server = accept.clone();
                tokio::spawn(async move { server.serve(stream).await });
            }
        });
        server
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Answers the next requests to `path` with `faults`, in order.
    pub fn script(&self, path: &str, faults: Vec<Fault>) {
        let mut state = self.state.lock().unwrap();
        state
            .scripts
            .entry(path.to_owned())
            .or_default()
            .extend(faults);
    }

    /// Answers requests to `path` with `fault` once its script is used up.
    pub fn always(&self, path: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .defaults
            .insert(path.to_owned(), fault);
    }

    /// How many `method path` requests arrived (read in full).
    pub fn received(&self, method: &str, path: &str) -> usize {
        let key = format!("{method} {path}");
        self.state
            .lock()
            .unwrap()
            .received
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// How many of them were answered 429, which means rejected before processing.
    pub fn rejected(&self, method: &str, path: &str) -> usize {
        let key = format!("{method} {path}");
        self.state
            .lock()
            .unwrap()
            .rejected
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// How many were let through to processing (received minus 429s).
    pub fn processed(&self, method: &str, path: &str) -> usize {
        self.received(method, path) - self.rejected(method, path)
    }

    /// All 429s sent.
    pub fn total_rejected(&self) -> usize {
        self.state.lock().unwrap().rejected.values().sum()
    }

    async fn serve(&self, mut stream: TcpStream) {
        let mut buf = Vec::new();
        loop {
            let Some((method, path, head_len, body_len)) = read_head(&mut stream, &mut buf).await
            else {
                return;
            };
            while buf.len() < head_len + body_len {
                let mut chunk = [0u8; 4096];
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            buf.drain(..head_len + body_len);
            let fault = self.decide(&method, &path);
            match fault {
                Fault::Reset => {
                    let _ = stream.set_zero_linger();
                    return;
                }
                Fault::Delay(d) => {
                    tokio::time::sleep(d).await;
                    if respond(&mut stream, 200, None).await.is_err() {
                        return;
                    }
                }
                Fault::Status(code, retry_after) => {
                    if respond(&mut stream, code, retry_after).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    fn decide(&self, method: &str, path: &str) -> Fault {
        let mut state = self.state.lock().unwrap();
        let key = format!("{method} {path}");
        *state.received.entry(key.clone()).or_default() += 1;
        if let Some((n, window)) = self.quota {
            let now = Instant::now();
            while state.window.front().is_some_and(|t| now - *t >= window) {
                state.window.pop_front();
            }
            if state.window.len() >= n {
                *state.rejected.entry(key).or_default() += 1;
                return Fault::Status(429, Some("1"));
            }
            state.window.push_back(now);
        }
        let fault = state
            .scripts
            .get_mut(path)
            .and_then(|s| s.pop_front())
            .or_else(|| state.defaults.get(path).cloned())
            .unwrap_or(Fault::Status(200, None));
        if matches!(fault, Fault::Status(429, _)) {
            *state.rejected.entry(key).or_default() += 1;
        }
        fault
    }
}

/// Reads up to the end of a request head; returns method, path, head length, body length.
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Option<(String, String, usize, usize)> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).ok()?;
            let mut lines = head.split("\r\n");
            let mut request_line = lines.next()?.split(' ');
            let method = request_line.next()?.to_owned();
            let path = request_line.next()?.split('?').next()?.to_owned();
            let body_len = lines
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            return Some((method, path, end + 4, body_len));
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    code: u16,
    retry_after: Option<&str>,
) -> std::io::Result<()> {
    let extra = retry_after.map_or(String::new(), |v| format!("retry-after: {v}\r\n"));
    let response = format!(
        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: 2\r\n{extra}\r\n{{}}"
    );
    stream.write_all(response.as_bytes()).await
}
