//! `satchel sync DIR` and `satchel status DIR`.

use std::sync::Arc;

use anyhow::bail;
use satchel_client::Client;
use satchel_client::sync::{Engine, Summary, SyncOptions, human};

/// One line for a pass that did something.
fn describe(summary: &Summary) -> String {
    let mut parts = Vec::new();
    let mut count = |n: usize, what: &str| {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    };
    count(summary.uploaded, "uploaded");
    count(summary.downloaded, "downloaded");
    count(summary.created_folders, "folders created");
    count(summary.moved, "moved");
    count(summary.trashed_remote, "trashed on the server");
    count(summary.deleted_local, "deleted here");
    count(summary.conflicts, "conflicts");
    if parts.is_empty() {
        parts.push("nothing to do".to_owned());
    }
    format!(
        "{}; {} sent, {} received, {} reused from local files",
        parts.join(", "),
        human(summary.sent_bytes),
        human(summary.received_bytes),
        human(summary.reused_bytes)
    )
}

pub async fn sync(
    client: Client,
    options: SyncOptions,
    once: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mut engine = Engine::open(Arc::new(client), options.clone()).await?;
    if !once {
        eprintln!(
            "syncing {} with {} (Ctrl-C to stop)",
            engine.dir().display(),
            options.remote
        );
        satchel_client::sync::run(engine, crate::shutdown_signal(), |summary| {
            tracing::info!("{}", describe(summary));
        })
        .await?;
        return Ok(());
    }
    let mut summary = engine.sync_once().await?;
    if summary.held_back > 0 && confirm(summary.held_back)? {
        engine.allow_mass_delete();
        let more = engine.sync_once().await?;
        summary = merge(summary, more);
    }
    engine.close().await;
    for (path, why) in &summary.skipped {
        eprintln!("skipped {path}: {why}");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", describe(&summary));
    }
    if summary.held_back > 0 {
        bail!(
            "{} deletions held back (more than 500 files or half the folder); if they are meant, \
             run again with --allow-mass-delete",
            summary.held_back
        );
    }
    if !summary.problems.is_empty() {
        for (path, why) in &summary.problems {
            eprintln!("failed {path}: {why}");
        }
        bail!("{} paths could not be synced", summary.problems.len());
    }
    Ok(())
}

/// On a terminal, asks whether held-back deletions are meant; elsewhere the answer is no (scripts
/// pass `--allow-mass-delete`).
fn confirm(deletions: usize) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(false);
    }
    eprint!(
        "{deletions} files would be deleted (on the server's side they go to its trash). Go ahead? [y/N] "
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// The totals of two passes.
fn merge(first: Summary, second: Summary) -> Summary {
    Summary {
        uploaded: first.uploaded + second.uploaded,
        downloaded: first.downloaded + second.downloaded,
        created_folders: first.created_folders + second.created_folders,
        moved: first.moved + second.moved,
        deleted_local: first.deleted_local + second.deleted_local,
        trashed_remote: first.trashed_remote + second.trashed_remote,
        conflicts: first.conflicts + second.conflicts,
        sent_bytes: first.sent_bytes + second.sent_bytes,
        received_bytes: first.received_bytes + second.received_bytes,
        reused_bytes: first.reused_bytes + second.reused_bytes,
        hashed_bytes: first.hashed_bytes + second.hashed_bytes,
        held_back: second.held_back,
        problems: second.problems,
        skipped: second.skipped,
        rounds: first.rounds + second.rounds,
    }
}

pub async fn status(dir: &std::path::Path) -> anyhow::Result<()> {
    let status = satchel_client::sync::status(dir).await?;
    if let Some(binding) = &status.binding {
        println!(
            "synced with {binding}; {} files in sync",
            status.synced_files
        );
    }
    if status.pending.is_empty() {
        println!("nothing pending locally");
    } else {
        println!("{} local changes pending:", status.pending.len());
        for (what, path) in status.pending.iter().take(50) {
            println!("  {what:8} {path}");
        }
        if status.pending.len() > 50 {
            println!("  … and {} more", status.pending.len() - 50);
        }
    }
    for (copy, original, when) in &status.conflicts {
        println!("conflict: {copy} (your version of {original}, {when})");
    }
    for (path, why) in &status.problems {
        println!("failing: {path}: {why}");
    }
    Ok(())
}
