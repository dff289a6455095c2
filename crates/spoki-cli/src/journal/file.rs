//! The journal on disk: a header line, then one record per step, each numbered and chained by
//! SHA-256 to the one before, and a seal beside it that names the last record.
//!
//! The chain refuses a record changed, dropped from the middle or moved; the seal refuses a
//! journal cut at a line end, emptied, or left with its header only, which the file alone
//! cannot tell from one that never went further. A journal is trusted only when both agree,
//! so a damaged one stops the run before anything is sent instead of sending twice or
//! skipping work.
//!
//! Every write is synced before the next step: the record first, then the seal (written to a
//! temporary file and renamed over the old one). A crash between the two leaves one record more
//! than the seal names, which is accepted, and a crash mid-record leaves a torn last line,
//! which was never acted on and is cut off.

use crate::error::{CliError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The journal format. Version 2 numbers chunks from 1, as every output does, and chains and
/// seals its records.
const VERSION: u32 = 2;

/// What a journal is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub journal: u32,
    /// The job and its target, such as `contacts_import` or `automation_start:UUID`.
    pub job: String,
    /// SHA-256 of the input file, hex.
    pub input_sha256: String,
    /// SHA-256 of the plan: which rows (line and phone) are in which chunk, hex. The same file
    /// could be planned differently by another version's row checks.
    pub plan_sha256: String,
    pub chunk_size: usize,
    pub chunks: usize,
}

impl Header {
    /// The header of a job over `input`, sent as `chunks` (each a list of rows, given by
    /// their line and phone).
    pub fn new<'a>(
        job: impl Into<String>,
        input: &[u8],
        chunk_size: usize,
        chunks: impl ExactSizeIterator<Item = Vec<(u64, &'a str)>>,
    ) -> Header {
        let count = chunks.len();
        let mut plan = Sha256::new();
        for (k, rows) in chunks.enumerate() {
            for (line, phone) in rows {
                plan.update(format!("{k}\t{line}\t{phone}\n"));
            }
        }
        Header {
            journal: VERSION,
            job: job.into(),
            input_sha256: format!("{:x}", Sha256::digest(input)),
            plan_sha256: format!("{:x}", plan.finalize()),
            chunk_size,
            chunks: count,
        }
    }
}

/// Where a chunk stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChunkState {
    /// Never sent.
    Pending,
    /// A send began; what happened next is not recorded yet.
    Sending,
    /// Spoki accepted it.
    Done,
    /// Not carried out: refused, or never reached Spoki. Safe to send again.
    Failed { reason: String },
    /// May have been carried out. Not sent again unless asked.
    Unknown { reason: String },
}

/// What a record says: its place in the journal, a chunk (counted from 1) and its state.
#[derive(Serialize, Deserialize)]
struct Step {
    seq: u64,
    chunk: usize,
    #[serde(flatten)]
    state: ChunkState,
}

/// One line of the journal after its header: a step and the chain's SHA-256 through it.
#[derive(Serialize, Deserialize)]
struct Record {
    #[serde(flatten)]
    step: Step,
    sum: String,
}

/// The file beside the journal that names its last record.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Seal {
    records: u64,
    sum: String,
}

/// The chain's next link: SHA-256 of the previous one and the step's JSON, hex.
fn link(previous: &str, step: &Step) -> String {
    let json = serde_json::to_string(step).expect("a step encodes");
    format!("{:x}", Sha256::digest(format!("{previous}\n{json}")))
}

/// The path of the seal of the journal at `path`: `PATH.seal`.
pub fn seal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".seal");
    PathBuf::from(name)
}

/// An open journal.
pub struct Journal {
    path: PathBuf,
    file: File,
    states: Vec<ChunkState>,
    records: u64,
    sum: String,
}

impl Journal {
    /// The journal of `header`'s job at `path`: created when missing, else read back, and
    /// refused when it belongs to another input or job, another run holds it, or it is not
    /// whole (see the module).
    pub fn open(path: &Path, header: &Header) -> Result<Journal> {
        let seal = seal_path(path);
        let header_line = serde_json::to_string(header).expect("a header encodes");
        if !path.exists() {
            if seal.exists() {
                return Err(refused(
                    path,
                    None,
                    "the journal is gone but its seal remains; remove the seal too to start over",
                ));
            }
            // Created whole or not at all: an empty journal is never one of ours.
            write_atomically(path, format!("{header_line}\n").as_bytes())?;
        }
        let mut file = File::options()
            .read(true)
            .append(true)
            .open(path)
            .map_err(CliError::io(path))?;
        // Two runs of one job would both send its pending chunks. The lock goes with the
        // process, so a crash never leaves it behind.
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(CliError::Usage(format!(
                    "{}: another run of this job is in progress",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(CliError::io(path)(e)),
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map_err(CliError::io(path))?;
        // A crash mid-write leaves a last line without its newline: it was never acted on, so
        // it is cut off (the seal still tells whether anything else is missing).
        if !text.ends_with('\n') && !text.is_empty() {
            let whole = text.rfind('\n').map_or(0, |at| at + 1);
            file.set_len(whole as u64).map_err(CliError::io(path))?;
            text.truncate(whole);
        }
        let mut lines = text.lines();
        let first = lines
            .next()
            .ok_or_else(|| refused(path, None, "the journal is empty"))?;
        let found: Header = serde_json::from_str(first)
            .map_err(|_| refused(path, Some(1), "this is not a spoki journal"))?;
        if found.journal != VERSION {
            return Err(CliError::Usage(format!(
                "{}: a journal of format {} (this spoki writes {VERSION}); finish the job with \
                 the spoki that started it, or remove the journal and its seal to start over",
                path.display(),
                found.journal
            )));
        }
        if found != *header {
            return Err(CliError::Usage(format!(
                "{}: this journal is for another input, plan or job (the file changed?); give \
                 another --journal, or remove the journal and its seal to start over",
                path.display()
            )));
        }
        let mut journal = Journal {
            path: path.to_owned(),
            file,
            states: vec![ChunkState::Pending; header.chunks],
            records: 0,
            sum: format!("{:x}", Sha256::digest(first)),
        };
        for (i, line) in lines.enumerate() {
            journal.replay(line, i + 2)?;
        }
        journal.check_seal(&seal)?;
        Ok(journal)
    }

    /// Applies the record on line `at`, after checking its place and its link in the chain.
    fn replay(&mut self, line: &str, at: usize) -> Result<()> {
        let record: Record = serde_json::from_str(line)
            .map_err(|_| refused(&self.path, Some(at), "damaged record"))?;
        if record.step.seq != self.records + 1 {
            return Err(refused(&self.path, Some(at), "record out of order"));
        }
        if link(&self.sum, &record.step) != record.sum {
            return Err(refused(
                &self.path,
                Some(at),
                "the record's checksum does not match: it was changed",
            ));
        }
        let chunks = self.states.len();
        let state = record
            .step
            .chunk
            .checked_sub(1)
            .and_then(|k| self.states.get_mut(k))
            .ok_or_else(|| {
                refused(
                    &self.path,
                    Some(at),
                    &format!("the record names chunk {} of {chunks}", record.step.chunk),
                )
            })?;
        *state = record.step.state;
        self.records += 1;
        self.sum = record.sum;
        Ok(())
    }

    /// Checks the journal against its seal: the same last record, or one more (a crash between
    /// writing a record and the seal). A journal with records and no seal is refused.
    fn check_seal(&mut self, seal: &Path) -> Result<()> {
        let sealed = match std::fs::read(seal) {
            Ok(bytes) => serde_json::from_slice::<Seal>(&bytes).map_err(|_| {
                refused(
                    &self.path,
                    None,
                    "its seal is damaged; nothing can be trusted",
                )
            })?,
            // A journal created but never written to: nothing was sent.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.records == 0 => {
                return self.write_seal();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(refused(
                    &self.path,
                    None,
                    "its seal is missing, so a cut journal cannot be told from a whole one",
                ));
            }
            Err(e) => return Err(CliError::io(seal)(e)),
        };
        let here = Seal {
            records: self.records,
            sum: self.sum.clone(),
        };
        if here == sealed {
            return Ok(());
        }
        if self.records == sealed.records + 1 {
            return self.write_seal();
        }
        Err(refused(
            &self.path,
            None,
            &format!(
                "it holds {} records and its seal names {}: it was cut, emptied or replaced",
                self.records, sealed.records
            ),
        ))
    }

    fn write_seal(&self) -> Result<()> {
        let seal = Seal {
            records: self.records,
            sum: self.sum.clone(),
        };
        let json = serde_json::to_vec(&seal).expect("a seal encodes");
        write_atomically(&seal_path(&self.path), &json)
    }

    /// Where each chunk stands.
    pub fn states(&self) -> &[ChunkState] {
        &self.states
    }

    /// Records a chunk's new state, durably, before anything else happens.
    pub fn record(&mut self, chunk: usize, state: ChunkState) -> Result<()> {
        let step = Step {
            seq: self.records + 1,
            chunk: chunk + 1,
            state,
        };
        let sum = link(&self.sum, &step);
        let record = Record { step, sum };
        let line = serde_json::to_string(&record).expect("a record encodes");
        append(&mut self.file, &line).map_err(CliError::io(&self.path))?;
        self.records += 1;
        self.sum = record.sum;
        self.states[chunk] = record.step.state;
        self.write_seal()
    }
}

/// A journal that cannot be trusted: the run stops, and nothing was sent.
fn refused(path: &Path, line: Option<usize>, why: &str) -> CliError {
    let at = line.map(|l| format!(":{l}")).unwrap_or_default();
    CliError::Failed(format!(
        "{}{at}: {why}; nothing was sent. Check what was sent in Spoki, then remove the \
         journal and its seal ({}) to start over",
        path.display(),
        seal_path(path).display()
    ))
}

/// Appends `line` and its newline in one write, then syncs it to disk.
fn append(file: &mut File, line: &str) -> std::io::Result<()> {
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_data()
}

/// Writes `bytes` to `path` whole or not at all: a synced temporary file renamed over it, and
/// the directory synced so the rename survives a crash.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Directories cannot be opened for syncing everywhere; the rename stands anyway.
            if let Ok(dir) = File::open(dir) {
                let _ = dir.sync_all();
            }
        }
        Ok(())
    };
    write().map_err(CliError::io(path))
}
