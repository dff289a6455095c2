//! Programs the tests need, installed from Debian's packages when missing (as root, or
//! through `sudo`), so that `cargo test` passes on a fresh machine with nothing set up.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A program is missing and apt-get could not install it; the message names the command to
/// run by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{program} is not installed and apt-get could not install it: run `sudo apt-get install {}`", .packages.join(" "))]
pub struct NotInstalled {
    /// The program looked for.
    pub program: String,
    /// The packages that provide it.
    pub packages: Vec<String>,
}

/// Makes sure `program` runs (`program --version` succeeds), installing `packages` with
/// apt-get when it does not; the answer is kept for the process.
pub fn ensure(program: &str, packages: &[&str]) -> Result<(), NotInstalled> {
    static ANSWERS: OnceLock<Mutex<HashMap<String, Result<(), NotInstalled>>>> = OnceLock::new();
    let answers = ANSWERS.get_or_init(Mutex::default);
    let mut answers = answers.lock().unwrap_or_else(|e| e.into_inner());
    answers
        .entry(program.to_owned())
        .or_insert_with(|| install(program, packages))
        .clone()
}

fn install(program: &str, packages: &[&str]) -> Result<(), NotInstalled> {
    let present = || {
        Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if present() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let apt = |args: &[&str]| {
        let mut command = if root {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        command
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let install: Vec<&str> = ["install", "-y", "-qq"]
        .into_iter()
        .chain(packages.iter().copied())
        .collect();
    // Several test binaries may race here: apt's own lock makes the losers fail, so each tries
    // again for a while before giving up.
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        if apt(&install) || (apt(&["update", "-qq"]) && apt(&install)) || present() {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    if present() {
        Ok(())
    } else {
        Err(NotInstalled {
            program: program.to_owned(),
            packages: packages.iter().map(|p| (*p).to_owned()).collect(),
        })
    }
}
