//! `spoki contacts import FILE.csv`: every row checked first, then synced in chunks of 500 at
//! the API's pace, with a journal so that a stopped run resumes without sending anyone twice.

use super::bulk::{BulkArgs, finish};
use crate::error::{CliError, Result};
use crate::journal::{self, Departures, Header, Journal};
use crate::output::Output;
use crate::recipients;
use crate::target::Global;
use clap::Args;
use spoki_client::MAX_CONTACTS_PER_SYNC;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV with a header row: phone,first_name,last_name,email and any custom field columns.
    pub file: PathBuf,
    #[command(flatten)]
    pub bulk: BulkArgs,
}

pub async fn run(args: ImportArgs, global: &Global, out: Output) -> Result<()> {
    let input = std::fs::read(&args.file).map_err(CliError::io(&args.file))?;
    let checked = recipients::read(&args.file)?;
    let rejects = args.bulk.rejects_path(&args.file);
    checked.write_rejects(&rejects)?;
    for r in &checked.rejected {
        eprintln!("line {}: {}", r.line, r.reason);
    }
    let chunks: Vec<_> = checked.valid.chunks(MAX_CONTACTS_PER_SYNC).collect();
    let header = Header::new(
        "contacts_import",
        &input,
        MAX_CONTACTS_PER_SYNC,
        chunks.len(),
    );
    let journal_path = args.bulk.journal_path(&args.file);
    let journal = Journal::open(&journal_path, &header)?;
    out.say(format!(
        "{}: {} contacts to sync in {} chunks of up to {}, {} rows rejected{}",
        args.file.display(),
        checked.valid.len(),
        chunks.len(),
        MAX_CONTACTS_PER_SYNC,
        checked.rejected.len(),
        if checked.rejected.is_empty() {
            String::new()
        } else {
            format!(" (see {})", rejects.display())
        }
    ));
    if args.bulk.check {
        return finish(
            &journal_path,
            &chunks,
            &journal::Report::default(),
            out,
            true,
        );
    }
    let departures = Departures::default();
    let target = global.connect_gated(Some(&departures)).await?;
    let client = &target.client;
    let report = journal::run(
        journal,
        &departures,
        args.bulk.limits(),
        out,
        "contacts",
        |k| {
            let body: Vec<_> = chunks[k].iter().map(|r| r.to_contact_sync()).collect();
            async move { client.contacts().sync_all(&body).await.map(drop) }
        },
    )
    .await?;
    finish(&journal_path, &chunks, &report, out, false)
}
