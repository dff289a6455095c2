//! A real `redis-server` on a free 127.0.0.1 port, for tests of code shared across workers.
//!
//! On a machine without one, the first start installs Debian's `redis-server` package (as
//! root, or through `sudo`), so that `cargo test` passes on a fresh machine with nothing set up.

pub use crate::debian::NotInstalled;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process without persistence, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

/// Installs `redis-server` from Debian's packages when it is not on the `PATH`; the answer is
/// kept for the process.
pub fn ensure_installed() -> Result<(), NotInstalled> {
    crate::debian::ensure("redis-server", &["redis-server"])
}

impl RedisServer {
    /// Starts a server on a free port; panics with the reason when it cannot.
    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        RedisServer::start_on(port)
    }

    /// Starts (or restarts) a server on `port`, without persistence.
    pub fn start_on(port: u16) -> RedisServer {
        if let Err(e) = ensure_installed() {
            panic!("{e}");
        }
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = RedisServer {
            child: Some(child),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.answers() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// Its URL, `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id (0 once killed), for [`RedisServer::signal`] from a task that
    /// cannot hold the server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Stops the server as `SIGSTOP` does: connections stay open and nothing is answered, as
    /// with a Redis stalled by a slow disk or a paused VM.
    pub fn pause(&self) {
        RedisServer::signal(self.pid(), "STOP");
    }

    /// Lets a paused server go on (`SIGCONT`).
    pub fn resume(&self) {
        RedisServer::signal(self.pid(), "CONT");
    }

    /// Sends the signal `name` (`STOP`, `CONT`) to process `pid` with `kill`.
    pub fn signal(pid: u32, name: &str) {
        if pid == 0 {
            return;
        }
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(pid.to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// Kills the server at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
