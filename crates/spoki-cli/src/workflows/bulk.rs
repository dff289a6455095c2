//! What the bulk commands (`contacts import`, `campaign run`) share: their journal options and
//! how they report a run.

use crate::error::{CliError, Result};
use crate::journal::{Report, RunLimits};
use crate::output::Output;
use crate::recipients::Recipient;
use clap::Args;
use serde_json::json;
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
    /// Send again the chunks whose outcome was unknown. Check first that they were not
    /// carried out: this may send them twice.
    #[arg(long)]
    pub resend_unknown: bool,
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
    pub fn journal_path(&self, file: &Path) -> PathBuf {
        self.journal
            .clone()
            .unwrap_or_else(|| beside(file, ".journal"))
    }

    pub fn rejects_path(&self, file: &Path) -> PathBuf {
        self.rejects
            .clone()
            .unwrap_or_else(|| beside(file, ".rejects.csv"))
    }

    pub fn limits(&self) -> RunLimits {
        RunLimits {
            max_chunks: self.max_chunks,
            resend_unknown: self.resend_unknown,
        }
    }
}

fn lines(chunk: &[Recipient]) -> String {
    match (chunk.first(), chunk.last()) {
        (Some(first), Some(last)) => format!("lines {}-{}", first.line, last.line),
        _ => "no rows".into(),
    }
}

/// Prints what a run did and turns what is left into the command's outcome: unknown chunks
/// exit 4, a failed chunk 3, Ctrl-C 130.
pub fn finish(
    journal: &Path,
    chunks: &[&[Recipient]],
    report: &Report,
    out: Output,
    checked_only: bool,
) -> Result<()> {
    let contacts: usize = report.sent.iter().map(|&k| chunks[k].len()).sum();
    out.summary(json!({
        "chunks": chunks.len(),
        "sent_chunks": report.sent,
        "sent_contacts": contacts,
        "already_done": report.already_done,
        "unknown": report.unknown,
        "failed": report.failed.as_ref().map(|(k, reason)| json!({"chunk": k, "reason": reason})),
        "left": report.left,
        "journal": journal,
        "checked_only": checked_only,
    }));
    if checked_only {
        out.say("checked only: nothing sent");
        return Ok(());
    }
    out.say(format!(
        "sent {} chunks ({contacts} contacts) in this run; {} were done before; journal {}",
        report.sent.len(),
        report.already_done.len(),
        journal.display()
    ));
    for &k in &report.unknown {
        eprintln!(
            "chunk {} ({}): outcome unknown. Check in Spoki whether it was carried out; \
             if not, run again with --resend-unknown",
            k + 1,
            lines(chunks[k])
        );
    }
    if let Some((k, reason)) = &report.failed {
        return Err(CliError::CallFailed(format!(
            "chunk {} ({}) failed, nothing of it was done: {reason}. Run the same command \
             again to resume",
            k + 1,
            lines(chunks[*k])
        )));
    }
    if !report.unknown.is_empty() {
        return Err(CliError::OutcomeUnknown(format!(
            "{} chunks have an unknown outcome (see above)",
            report.unknown.len()
        )));
    }
    if report.interrupted {
        return Err(CliError::Interrupted);
    }
    if report.left > 0 {
        out.say(format!(
            "{} chunks left: run the same command again to continue",
            report.left
        ));
    }
    Ok(())
}
