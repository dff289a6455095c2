//! What the bulk commands (`contacts import`, `campaign run`) share: reading and checking the
//! file, planning its chunks, the journal and its options, and how a run is reported.

use crate::error::{CliError, Result};
use crate::journal::{Header, Journal, Report, RunLimits};
use crate::output::Output;
use crate::recipients::{self, Recipient, Recipients};
use clap::Args;
use serde_json::json;
use spoki_client::models::Placeholders;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct BulkArgs {
    /// The journal that lets a stopped run resume [default: FILE.journal beside the file].
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Where refused rows go, with their line and reason [default: FILE.rejects.csv].
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Send at most N chunks in this run; run again to continue.
    #[arg(long, value_name = "N")]
    pub max_chunks: Option<usize>,
    /// Send again every chunk whose outcome was unknown. Check first that none was carried
    /// out: this may send them twice.
    #[arg(long)]
    pub resend_unknown: bool,
    /// Send chunk N again: its outcome was unknown and you checked it was not carried out.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub resend: Vec<u64>,
    /// Record chunk N as done: its outcome was unknown and you checked it was carried out.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub mark_done: Vec<u64>,
    /// Check the file and show the plan; send nothing.
    #[arg(long)]
    pub check: bool,
}

fn beside(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl BulkArgs {
    /// The journal's path: `--journal`, else beside the file, named after the job.
    pub fn journal_path(&self, file: &Path, job: &str) -> PathBuf {
        self.journal
            .clone()
            .unwrap_or_else(|| beside(file, &format!(".{job}.journal")))
    }

    pub fn rejects_path(&self, file: &Path) -> PathBuf {
        self.rejects
            .clone()
            .unwrap_or_else(|| beside(file, ".rejects.csv"))
    }

    pub fn limits(&self) -> RunLimits {
        // Chunks are numbered from 1 everywhere outside this process.
        let zero_based = |chunks: &[u64]| chunks.iter().map(|&n| n as usize - 1).collect();
        RunLimits {
            max_chunks: self.max_chunks,
            resend_unknown: self.resend_unknown,
            resend: zero_based(&self.resend),
            mark_done: zero_based(&self.mark_done),
        }
    }
}

/// A checked file, planned in chunks, with its journal open.
pub struct Planned {
    pub checked: Recipients,
    pub journal: Journal,
    pub journal_path: PathBuf,
    pub rejects: PathBuf,
}

impl Planned {
    /// Reads `file` once, checks every row (refused rows go to the rejects file and stderr),
    /// each against the template's placeholders when given, and opens the journal of `job`
    /// (`job_tag` names its default file) over chunks of `chunk_size` rows.
    pub fn open(
        args: &BulkArgs,
        file: &Path,
        job: &str,
        job_tag: &str,
        chunk_size: usize,
        placeholders: Option<&Placeholders>,
    ) -> Result<Planned> {
        let input = std::fs::read(file).map_err(CliError::io(file))?;
        let mut checked = recipients::parse(&input, file)?;
        if let Some(needed) = placeholders {
            checked.require(needed);
        }
        let rejects = args.rejects_path(file);
        checked.write_rejects(&rejects)?;
        checked.print_rejected();
        let plan = checked
            .valid
            .chunks(chunk_size)
            .map(|rows| rows.iter().map(|r| (r.line, r.phone.as_str())).collect());
        let header = Header::new(job, &input, chunk_size, plan);
        let journal_path = args.journal_path(file, job_tag);
        let journal = Journal::open(&journal_path, &header)?;
        Ok(Planned {
            rejects,
            checked,
            journal,
            journal_path,
        })
    }
}

fn lines(chunk: &[Recipient]) -> String {
    match (chunk.first(), chunk.last()) {
        (Some(first), Some(last)) => format!("lines {}-{}", first.line, last.line),
        _ => "no rows".into(),
    }
}

/// The run's summary for `--json`: chunks numbered from 1, as the messages name them.
fn summary(
    journal: &Path,
    rejected: usize,
    rejects: &Path,
    chunks: &[&[Recipient]],
    contacts: usize,
    report: &Report,
    checked_only: bool,
) -> serde_json::Value {
    let numbered = |chunks: &[usize]| chunks.iter().map(|k| k + 1).collect::<Vec<_>>();
    json!({
        "chunks": chunks.len(),
        "sent_chunks": numbered(&report.sent),
        "sent_contacts": contacts,
        "already_done": numbered(&report.already_done),
        "unknown": numbered(&report.unknown),
        "failed": report.failed.as_ref().map(|(k, reason)| json!({"chunk": k + 1, "reason": reason})),
        "left": report.left,
        "rejected_rows": rejected,
        "rejects": (rejected > 0).then_some(rejects),
        "journal": journal,
        "checked_only": checked_only,
    })
}

/// Prints what a run did and turns what is left into the command's outcome: unknown chunks
/// exit 4 (first: they need looking into), a failed chunk 3, Ctrl-C with work left 130.
///
/// Rows refused by the checks make the command exit 1 once the rest is done, so a script sees
/// that part of the file was left out.
pub fn finish(
    journal: &Path,
    checked: &Recipients,
    rejects: &Path,
    chunks: &[&[Recipient]],
    report: &Report,
    out: Output,
    checked_only: bool,
) -> Result<()> {
    let rejected = checked.rejected.len();
    let contacts: usize = report.sent.iter().map(|&k| chunks[k].len()).sum();
    out.summary(summary(
        journal,
        rejected,
        rejects,
        chunks,
        contacts,
        report,
        checked_only,
    ));
    let rejected_rows = || {
        if rejected == 0 {
            return Ok(());
        }
        Err(CliError::Failed(format!(
            "{rejected} rows were rejected and left out (see {}): fix them and run again",
            rejects.display()
        )))
    };
    if checked_only {
        out.say("checked only: nothing sent");
        return rejected_rows();
    }
    out.say(format!(
        "sent {} chunks ({contacts} contacts) in this run; {} were done before; journal {}",
        report.sent.len(),
        report.already_done.len(),
        journal.display()
    ));
    for &k in &report.unknown {
        eprintln!(
            "chunk {} ({}): outcome unknown. Check in Spoki whether it was carried out, then \
             run again with --mark-done {} (it was) or --resend {} (it was not)",
            k + 1,
            lines(chunks[k]),
            k + 1,
            k + 1
        );
    }
    let failed = report.failed.as_ref().map(|(k, reason)| {
        format!(
            "chunk {} ({}) failed, nothing of it was done: {reason}. Run the same command \
             again to resume",
            k + 1,
            lines(chunks[*k])
        )
    });
    // An unknown outcome comes first: it needs looking into before anything is sent again.
    if !report.unknown.is_empty() {
        if let Some(failed) = &failed {
            eprintln!("{failed}");
        }
        return Err(CliError::OutcomeUnknown(format!(
            "{} chunks have an unknown outcome (see above)",
            report.unknown.len()
        )));
    }
    if let Some(failed) = failed {
        return Err(CliError::CallFailed(failed));
    }
    if report.interrupted && report.left > 0 {
        return Err(CliError::Interrupted);
    }
    if report.left > 0 {
        out.say(format!(
            "{} chunks left: run the same command again to continue",
            report.left
        ));
    }
    rejected_rows()
}
