//! `spoki contacts import FILE.csv`: every row checked first, then synced in chunks of 500 at
//! the API's pace, with a journal so that a stopped run resumes without sending anyone twice.

use super::bulk::{BulkArgs, Planned, finish};
use crate::error::Result;
use crate::journal::{self, Departures};
use crate::output::Output;
use crate::target::Global;
use clap::Args;
use spoki_client::MAX_CONTACTS_PER_SYNC;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV with a header row: phone,first_name,last_name,email and any custom field columns.
    pub file: PathBuf,
    /// A template the contacts will be sent: rows without a value for one of its
    /// `%%CODE%%` placeholders go to the rejects file.
    #[arg(long, value_name = "ID")]
    pub template: Option<i64>,
    #[command(flatten)]
    pub bulk: BulkArgs,
}

pub async fn run(args: ImportArgs, global: &Global, out: Output) -> Result<()> {
    // With a template to check against, the target is needed before the file is planned.
    let departures = Departures::default();
    let (target, needed) = match args.template {
        Some(id) => {
            let target = global.connect_gated(Some(&departures)).await?;
            let needed = target.client.template_placeholders(id).await?;
            (Some(target), Some(needed))
        }
        None => (None, None),
    };
    let planned = Planned::open(
        &args.bulk,
        &args.file,
        "contacts_import",
        "import",
        MAX_CONTACTS_PER_SYNC,
        needed.as_ref(),
    )?;
    let checked = &planned.checked;
    let chunks: Vec<_> = checked.valid.chunks(MAX_CONTACTS_PER_SYNC).collect();
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
            format!(" (see {})", planned.rejects.display())
        }
    ));
    if args.bulk.check {
        let nothing = journal::Report::default();
        return finish(
            &planned.journal_path,
            &planned.checked,
            &planned.rejects,
            &chunks,
            &nothing,
            out,
            true,
        );
    }
    let target = match target {
        Some(target) => target,
        None => global.connect_gated(Some(&departures)).await?,
    };
    let client = &target.client;
    let report = journal::run(
        planned.journal,
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
    finish(
        &planned.journal_path,
        &planned.checked,
        &planned.rejects,
        &chunks,
        &report,
        out,
        false,
    )
}
