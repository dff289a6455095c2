//! Running the `spoki` binary against a local Spoki, with every output checked for secrets.

#![allow(dead_code)]

use spoki_mock::{Fixtures, MockSpoki, OperationId, RateLimits};
use std::path::{Path, PathBuf};

/// What one run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {}", self.stdout))
    }
}

/// Every credential of the demo fixtures: none may ever be printed.
pub fn secrets(f: &Fixtures) -> Vec<String> {
    vec![
        f.agency_api_key.clone(),
        f.client_api_key.clone(),
        f.empty_account_api_key.clone(),
        f.automation_secret.clone(),
        f.private_key.clone(),
        f.webhook_secret.clone(),
    ]
}

/// A scratch directory with an isolated config file.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub secrets: Vec<String>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            secrets: secrets(&Fixtures::default()),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `spoki ARGS` with only `env` set (no key or origin from the machine running the test),
    /// for a test that drives the process itself.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("spoki"));
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SPOKI_CONFIG", self.path("config.toml"))
            .env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs [`command`](Self::command) to its end, and checks that no credential appears in
    /// what it printed.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = assert_cmd::Command::from_std(self.command(args, env));
        cmd.timeout(std::time::Duration::from_secs(120));
        let output = tokio::task::block_in_place(|| cmd.output()).unwrap();
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        for secret in &self.secrets {
            assert!(
                !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
                "a credential was printed by `spoki {}`:\n{run:#?}",
                args.join(" ")
            );
        }
        run
    }
}

/// A local Spoki without rate limits (the CLI runs with `--no-pacing` against it).
pub async fn mock() -> MockSpoki {
    MockSpoki::builder()
        .rate_limits(RateLimits::off())
        .start()
        .await
        .unwrap()
}

/// The environment that points the CLI at `mock` with `key`.
pub fn env_for<'a>(mock: &'a MockSpoki, key: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![("SPOKI_BASE_URL", mock.url()), ("SPOKI_API_KEY", key)]
}

/// A CSV of `n` valid Italian contacts.
pub fn contacts_csv(n: usize) -> String {
    let mut csv = String::from("phone,first_name,last_name,email,plan\n");
    for i in 0..n {
        csv.push_str(&format!(
            "+39333{i:07},Name{i},Surname{i},user{i}@example.com,gold\n"
        ));
    }
    csv
}

/// Phones of the contacts the mock received through `contacts_sync_all`, in arrival order.
pub fn synced_phones(mock: &MockSpoki) -> Vec<String> {
    mock.received()
        .iter()
        .filter(|r| r.operation.as_deref() == Some("contacts_sync_all"))
        .flat_map(|r| r.body.as_array().cloned().unwrap_or_default())
        .map(|c| c["phone"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `mock` has received `count` calls of `operation`, failing after 30 s.
pub async fn wait_for_calls(mock: &MockSpoki, operation: OperationId, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while mock.calls(operation) < count {
        assert!(
            std::time::Instant::now() < deadline,
            "{count} calls of {} never arrived",
            operation.as_str()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Ctrl-C, as a terminal sends it.
#[cfg(unix)]
pub fn interrupt(child: &std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// Every one of `expected` contacts arrived, none twice.
pub fn assert_each_once(phones: &[String], expected: usize) {
    let distinct: std::collections::HashSet<_> = phones.iter().collect();
    assert_eq!(distinct.len(), expected, "every contact arrives");
    assert_eq!(phones.len(), expected, "no contact arrives twice");
}
