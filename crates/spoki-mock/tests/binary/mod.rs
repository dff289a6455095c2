//! The `spoki-mock` binary as a child process, for tests that kill it or read its memory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Starts `spoki-mock --port 0 ARGS` and reads its URL from the first line it prints.
pub fn spawn(args: &[&std::ffi::OsStr]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spoki-mock"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}
