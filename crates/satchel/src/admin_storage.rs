//! `satchel admin fsck | repair | storage | chunk`: the storage nodes' health, on the same data,
//! database and nodes as the server, with or without it running.
//!
//! A contract for scripts: a human summary, or one JSON document with `--json`; exit code 0 when
//! healthy or done, 1 when problems were found or remain, 2 when the command could not run.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use satchel_proto::Sha256;
use satchel_server::storage::{Inventory, fsck, repair};
use satchel_server::{AppState, ServerConfig};
use serde_json::json;

use crate::Exit;

#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// The storage log: every copy stored, verified, found missing or corrupt, repaired, set
    /// aside or deleted.
    Log {
        /// Only events at or after this time: RFC 3339, or a span back from now (`90m`, `2h`, `7d`).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Opens the state the server would run on (migrating the database if needed).
async fn open(config: ServerConfig) -> anyhow::Result<AppState> {
    AppState::open(config).await.context("opening the data")
}

/// Turns "problems found" into exit code 1 and a failure to run into exit code 2.
fn finish(outcome: anyhow::Result<bool>) -> anyhow::Result<()> {
    match outcome {
        Ok(false) => Ok(()),
        Ok(true) => Err(Exit(1).into()),
        Err(error) => {
            eprintln!("satchel: {error:#}");
            Err(Exit(2).into())
        }
    }
}

fn print(json: bool, document: &serde_json::Value, human: impl FnOnce()) {
    if json {
        println!("{document}");
    } else {
        human();
    }
}

/// `satchel admin fsck [--deep] [--json]`.
pub async fn fsck_command(config: ServerConfig, deep: bool, json: bool) -> anyhow::Result<()> {
    finish(async {
        let state = open(config).await?;
        let report = fsck::fsck(&state, deep).await.map_err(api_error)?;
        state.store.close().await;
        print(json, &serde_json::to_value(&report)?, || {
            println!(
                "{} chunks: {} of {} copies found, {} missing, {} corrupt; {} under-replicated, {} lost; {} orphan objects",
                report.chunks,
                report.copies_found,
                report.copies_expected,
                report.copies_missing,
                report.copies_corrupt,
                report.chunks_under_replicated,
                report.chunks_lost,
                report.orphan_objects
            );
            for node in &report.nodes_unreachable {
                println!("unreachable node: {node}");
            }
            for error in &report.metadata_errors {
                println!("metadata: {error}");
            }
            for file in &report.files_affected {
                println!("lost data in {} {} (version {})", file.owner, file.path, file.version);
            }
        });
        Ok(report.problems())
    }
    .await)
}

/// `satchel admin repair [--json]`.
pub async fn repair_command(config: ServerConfig, json: bool) -> anyhow::Result<()> {
    finish(async {
        let state = open(config).await?;
        let report = repair::repair_all(&state).await.map_err(api_error)?;
        state.store.close().await;
        print(json, &serde_json::to_value(&report)?, || {
            println!(
                "checked {} chunks: wrote {} copies, set {} aside, took in {}, forgot {}; {} still short, {} lost",
                report.chunks_checked,
                report.copies_written,
                report.copies_quarantined,
                report.copies_adopted,
                report.copies_forgotten,
                report.chunks_under_replicated,
                report.chunks_lost
            );
            for error in &report.errors {
                println!("error: {error}");
            }
        });
        Ok(report.problems())
    }
    .await)
}

/// `satchel admin storage [--json]`, and `satchel admin storage log`.
pub async fn storage_command(
    config: ServerConfig,
    json: bool,
    command: Option<StorageCommand>,
) -> anyhow::Result<()> {
    finish(
        async {
            let state = open(config.clone()).await?;
            let problems = match command {
                Some(StorageCommand::Log { since, json }) => log(&state, since, json).await?,
                None => summary(&state, &config, json).await?,
            };
            state.store.close().await;
            Ok(problems)
        }
        .await,
    )
}

async fn summary(state: &AppState, config: &ServerConfig, json: bool) -> anyhow::Result<bool> {
    let inventory = Inventory::take(&state.storage).await;
    let scrubs = state.store.node_scrubs().await?;
    let urls = config.storage_nodes()?;
    let mut nodes = Vec::new();
    for ((node, listing), configured) in state
        .storage
        .nodes()
        .iter()
        .zip(&inventory.nodes)
        .zip(&urls)
    {
        let scrub = scrubs.get(&node.name).cloned().unwrap_or_default();
        let (objects, bytes) = match listing {
            Ok(found) => (found.len() as u64, found.values().sum::<u64>()),
            Err(_) => (0, 0),
        };
        nodes.push(json!({
            "name": node.name, "url": redact(&configured.url), "zone": node.zone,
            "reachable": listing.is_ok(), "error": listing.as_ref().err(),
            "objects": objects, "bytes": bytes,
            "last_presence_at": scrub.last_presence_at, "last_deep_at": scrub.last_deep_at,
        }));
    }
    let queue = state.store.repair_queue().await?;
    let errors: Vec<_> = queue
        .iter()
        .filter(|item| item.last_error.is_some())
        .collect();
    let problems = inventory.nodes.iter().any(Result::is_err) || !errors.is_empty();
    let document = json!({
        "copies": state.storage.copies(), "nodes": nodes,
        "repair_queue": queue.len(), "repair_errors": errors,
    });
    print(json, &document, || {
        println!("{} copies of each chunk", state.storage.copies());
        for node in &nodes {
            println!(
                "{:<12} {:<11} {:>8} objects {:>14} bytes  presence {}  deep {}  {}",
                node["name"].as_str().unwrap_or(""),
                if node["reachable"] == true {
                    "reachable"
                } else {
                    "UNREACHABLE"
                },
                node["objects"],
                node["bytes"],
                node["last_presence_at"].as_str().unwrap_or("never"),
                node["last_deep_at"].as_str().unwrap_or("never"),
                node["error"].as_str().unwrap_or(""),
            );
        }
        println!(
            "repair queue: {} chunks, {} with errors",
            queue.len(),
            errors.len()
        );
        for item in &errors {
            println!(
                "  {} (attempt {}): {}",
                item.sha256,
                item.attempts,
                item.last_error.as_deref().unwrap_or("")
            );
        }
    });
    Ok(problems)
}

/// A node URL without anything secret in its query.
fn redact(url: &str) -> String {
    url.split_once('?')
        .map_or(url, |(place, _)| place)
        .to_owned()
}

/// `--since`: RFC 3339, or a span back from now.
fn parse_since(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let number: i64 = number
        .parse()
        .with_context(|| format!("--since is RFC 3339 or a span like 90m, 2h, 7d; not {text:?}"))?;
    let span = match unit {
        "s" => chrono::Duration::seconds(number),
        "m" => chrono::Duration::minutes(number),
        "h" => chrono::Duration::hours(number),
        "d" => chrono::Duration::days(number),
        _ => anyhow::bail!("--since is RFC 3339 or a span like 90m, 2h, 7d; not {text:?}"),
    };
    Ok(Utc::now() - span)
}

async fn log(state: &AppState, since: Option<String>, json: bool) -> anyhow::Result<bool> {
    let since = since.as_deref().map(parse_since).transpose()?;
    let mut after = None;
    let mut entries = Vec::new();
    loop {
        let page = state.store.storage_log(since, after, 1000).await?;
        after = page.last().map(|line| line.id);
        let done = page.len() < 1000;
        if json {
            entries.extend(page);
        } else {
            for line in &page {
                println!(
                    "{}  {:<10} {:<12} {}  {}",
                    line.at.to_rfc3339(),
                    line.node,
                    line.event,
                    line.sha256.map(|h| h.to_hex()).unwrap_or_default(),
                    line.detail.as_deref().unwrap_or("")
                );
            }
        }
        if done {
            break;
        }
    }
    if json {
        println!("{}", json!({ "entries": entries }));
    }
    Ok(false)
}

/// `satchel admin chunk SHA256`.
pub async fn chunk_command(config: ServerConfig, hash: String, json: bool) -> anyhow::Result<()> {
    finish(
        async {
            let hash: Sha256 = hash
                .parse()
                .map_err(|_| anyhow::anyhow!("{hash:?} is not a SHA-256"))?;
            let state = open(config).await?;
            let size = state.store.chunk_referenced(&hash).await?;
            let records = state.store.copies_of(&hash).await?;
            let mut copies = Vec::new();
            let mut healthy = 0;
            for node in state.storage.nodes() {
                let record = records.iter().find(|r| r.node == node.name);
                let stored = node.store.stored_size(hash).await;
                let present = matches!((&stored, size), (Ok(Some(s)), Some(want)) if *s == want);
                healthy += usize::from(present);
                if record.is_some() || !matches!(stored, Ok(None)) {
                    copies.push(json!({
                        "node": node.name, "recorded": record.is_some(),
                        "stored_at": record.map(|r| r.stored_at),
                        "verified_at": record.and_then(|r| r.verified_at),
                        "present": present,
                        "error": stored.as_ref().err().map(ToString::to_string),
                    }));
                }
            }
            let files = state.store.chunk_users(&[hash]).await?;
            state.store.close().await;
            let document = json!({
                "sha256": hash, "size": size, "referenced": size.is_some(),
                "copies_wanted": state.storage.copies(), "copies": copies, "files": files,
            });
            print(json, &document, || {
                println!(
                    "chunk {hash}: {} of {} copies",
                    healthy,
                    state.storage.copies()
                );
                for copy in &copies {
                    println!("  {copy}");
                }
                for file in &files {
                    println!(
                        "  used by {} {} (version {})",
                        file.owner, file.path, file.version
                    );
                }
            });
            Ok(size.is_some() && healthy < state.storage.copies())
        }
        .await,
    )
}

fn api_error(error: satchel_server::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!(
        "{}",
        error
            .detail
            .unwrap_or_else(|| error.code.title().to_owned())
    )
}
