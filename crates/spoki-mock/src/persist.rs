//! The state file: what the mock knows, kept across restarts, refused when damaged.
//!
//! The file is two lines: a header naming the format, its version and the SHA-256 of the
//! second line, then the state as compact JSON. Any damaged byte, another format or a version
//! this mock does not know is refused at start, and the file is left as it is.
//!
//! Every change the API answers is saved before its answer goes out: a request waits for the
//! next save that covers it, and requests that arrive together share one save. So a mock
//! killed at any moment loses no write it acknowledged; what it loses is only what it had
//! not answered yet. Each save writes a temporary file, owner-only (it holds every secret),
//! synced, then renamed over the old one, so a crash leaves the old file or the new one.
//! Temporaries left by a mock killed mid-save are removed at the next start.

use crate::server::Shared;
use crate::state::{STATE_VERSION, State};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Error, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

const FORMAT: &str = "spoki-mock-state";

/// The first line of a state file.
#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    sha256: String,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidData, format!("{}: {why}", path.display()))
}

/// Loads the state file, or starts from the demo data when there is none. Temporary files of
/// earlier saves beside it are removed first.
pub(crate) fn load_state(path: Option<&Path>, fixtures: crate::Fixtures) -> std::io::Result<State> {
    let Some(path) = path else {
        return Ok(State::demo(fixtures));
    };
    remove_temporaries(path);
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(State::demo(fixtures)),
        Err(e) => return Err(e),
    };
    let not_ours = || invalid(path, "not a spoki-mock state file (or a damaged one)");
    let split = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(not_ours)?;
    let (first, rest) = (&bytes[..split], &bytes[split + 1..]);
    let header: Header = serde_json::from_slice(first).map_err(|_| not_ours())?;
    if header.format != FORMAT {
        return Err(not_ours());
    }
    if header.version != STATE_VERSION {
        return Err(invalid(
            path,
            format!(
                "a state file of version {} (this mock reads {STATE_VERSION}); it is left as it is",
                header.version
            ),
        ));
    }
    if format!("{:x}", Sha256::digest(rest)) != header.sha256 {
        return Err(invalid(
            path,
            "damaged: its checksum does not match its content",
        ));
    }
    let state: State = serde_json::from_slice(rest).map_err(|e| invalid(path, e))?;
    if state.version != STATE_VERSION {
        return Err(invalid(path, "damaged: its two versions differ"));
    }
    Ok(state)
}

/// The state as the file holds it: the header line, then the state.
fn encode(state: &State) -> std::io::Result<Vec<u8>> {
    let body = serde_json::to_vec(state).map_err(Error::other)?;
    let header = Header {
        format: FORMAT.into(),
        version: STATE_VERSION,
        sha256: format!("{:x}", Sha256::digest(&body)),
    };
    let mut bytes = serde_json::to_vec(&header).map_err(Error::other)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Writes the state to `path` atomically (see the module).
pub(crate) fn save_state(shared: &Shared, path: &Path) -> std::io::Result<()> {
    let _one_at_a_time = shared.saving.lock().unwrap_or_else(|e| e.into_inner());
    // Read before the snapshot: every change counted so far is in it.
    let covered = shared.generation();
    let bytes = encode(&shared.world().state)?;
    let tmp = temp_path(path);
    let written = (|| {
        let mut file = owner_only().open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        // So the rename itself survives a crash; not every platform can sync a directory.
        let _ = dir.sync_all();
    }
    release(shared, covered);
    Ok(())
}

/// Lets the requests whose changes are at most `covered` answer.
fn release(shared: &Shared, covered: u64) {
    shared.saved.send_if_modified(|saved| {
        let newer = covered > *saved;
        if newer {
            *saved = covered;
        }
        newer
    });
}

fn owner_only() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// A temporary name beside `path`, unique to this write: two mocks of one process may share
/// a state file one after the other.
fn temp_path(path: &Path) -> PathBuf {
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.{n}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Removes `NAME.<pid>.<n>.tmp` files beside `path`, left by a save that never finished.
fn remove_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{}.", name.to_string_lossy());
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        let Some(middle) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
        else {
            continue;
        };
        let ours = middle
            .split_once('.')
            .is_some_and(|(pid, n)| pid.parse::<u32>().is_ok() && n.parse::<u64>().is_ok());
        if ours {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Saves the state after every change; each save covers every change counted before it began,
/// and lets the requests waiting for those changes answer.
pub(crate) async fn keep_saved(
    shared: Arc<Shared>,
    path: PathBuf,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shared.dirty.notified() => {}
            _ = stop.changed() => return,
        }
        let covered = shared.generation();
        let (saver, path) = (shared.clone(), path.clone());
        let result = tokio::task::spawn_blocking(move || save_state(&saver, &path)).await;
        if !matches!(result, Ok(Ok(()))) {
            // The answers go out anyway, with a warning: the mock keeps serving from memory.
            tracing::warn!("spoki-mock: cannot save state: {result:?}");
            release(&shared, covered);
        }
    }
}
