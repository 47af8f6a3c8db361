//! The client commands: `satchel login|logout|whoami|ls|mkdir|put|get|mv|rm|trash|restore|versions|
//! restore-version|search`. Remote paths are `/`-rooted paths in the user's tree.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use futures_util::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use satchel_client::sync::human;
use satchel_client::{
    Client, ClientError, Credentials, Destination, LocalIndex, Progress, download_file, upload_file,
};
use satchel_proto::{Node, NodeKind, NodeName, NodeRef, OnConflict, PatchNode, ProblemCode};
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Sign in to a server (password from a prompt, or $SATCHEL_PASSWORD).
    Login {
        /// The server, e.g. https://files.example.org
        server: String,
        #[arg(long)]
        email: String,
        /// The name this device shows in your session list [default: the host name].
        #[arg(long)]
        device: Option<String>,
    },
    /// Sign out and forget the stored credentials.
    Logout,
    /// Print the chunks `put` cuts a file into, one `offset size sha256` line each (for checking
    /// that other clients, such as the web app, cut files the same way).
    #[command(hide = true)]
    DebugChunks { local: PathBuf },
    /// Show who you are signed in as, where, and your usage.
    Whoami,
    /// List a folder (or show a file).
    Ls {
        #[arg(default_value = "/")]
        path: String,
        #[arg(long)]
        json: bool,
    },
    /// Create a folder (and any missing parents).
    Mkdir { path: String },
    /// Upload a file or a folder (recursively). Interrupted uploads resume where they stopped.
    Put {
        local: PathBuf,
        /// Where to put it: a folder, or the new file's path [default: /].
        #[arg(default_value = "/")]
        remote: String,
    },
    /// Download a file or a folder (recursively), verifying every file's SHA-256.
    Get {
        remote: String,
        #[arg(default_value = ".")]
        local: PathBuf,
    },
    /// Move or rename.
    Mv { from: String, to: String },
    /// Move to the trash.
    Rm { path: String },
    /// List the trash.
    Trash {
        #[arg(long)]
        json: bool,
    },
    /// Bring something back from the trash (by the path it had).
    Restore { path: String },
    /// List a file's versions.
    Versions {
        path: String,
        #[arg(long)]
        json: bool,
    },
    /// Make an old version of a file the current one.
    RestoreVersion { path: String, version: u64 },
    /// Find files and folders by name.
    Search {
        term: String,
        #[arg(long)]
        json: bool,
    },
    /// Keep a local folder and a remote folder the same, until stopped (Ctrl-C).
    Sync {
        dir: PathBuf,
        /// The remote folder (made if missing) [default: /, your whole tree].
        #[arg(long, default_value = "/")]
        remote: String,
        /// Do one full pass and exit (non-zero if something failed or was held back).
        #[arg(long)]
        once: bool,
        /// The name conflicted copies carry [default: the host name].
        #[arg(long)]
        device: Option<String>,
        /// Propagate deletions of more than 500 files, or of half the folder, without asking.
        #[arg(long)]
        allow_mass_delete: bool,
        /// With --once: print what the pass did as JSON.
        #[arg(long, requires = "once")]
        json: bool,
    },
    /// What a synced folder has pending, in conflict, or failing (no network needed).
    Status { dir: PathBuf },
    /// Make a public link to a file or folder and print its URL; with `--with EMAIL`, share the
    /// folder with that account instead (it appears in their root).
    Share {
        path: String,
        /// Share with this account (view only unless --edit).
        #[arg(long, value_name = "EMAIL")]
        with: Option<String>,
        /// With --with: the account may change the folder too.
        #[arg(long, requires = "with")]
        edit: bool,
        /// Visitors must send this password.
        #[arg(long)]
        password: Option<String>,
        /// The link stops working after this long: `30m`, `12h`, `7d`.
        #[arg(long)]
        expires_in: Option<String>,
        /// The link stops working after this many downloads.
        #[arg(long)]
        max_downloads: Option<u64>,
        /// An upload-only link to a folder: visitors can add files, never see any.
        #[arg(long)]
        upload: bool,
        #[arg(long)]
        json: bool,
    },
    /// List your public links.
    Links {
        #[arg(long)]
        json: bool,
    },
    /// List the folders you shared with other accounts (or, with --incoming, shared with you).
    Shares {
        #[arg(long)]
        incoming: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete a public link (by its id or URL), or end a share with an account (by its id).
    Unshare { link: String },
    /// Passwords for other clients (WebDAV drives, rclone, tus uploaders): sign in there with
    /// your email and one of these.
    #[command(subcommand)]
    AppPassword(AppPasswordCommand),
}

#[derive(Debug, Subcommand)]
pub enum AppPasswordCommand {
    /// Make one and print it (it is shown only this once).
    Create {
        name: String,
        /// It can read but not change anything.
        #[arg(long)]
        read_only: bool,
        #[arg(long)]
        json: bool,
    },
    /// List them, with when and from where each was last used.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke one by its id: it stops working at once.
    Revoke { id: Uuid },
}

/// Small files uploaded at once by `put`: each is one request that mostly waits for the server's
/// flush, and many in flight share flushes (group commit).
const PARALLEL_SMALL_FILES: usize = 64;
/// Large files uploaded at once (each also sends four chunks at once).
const PARALLEL_LARGE_FILES: usize = 4;

fn credentials_path() -> anyhow::Result<PathBuf> {
    Credentials::default_path()
        .ok_or_else(|| anyhow!("cannot find a config folder: set XDG_CONFIG_HOME or HOME"))
}

fn connect() -> anyhow::Result<Client> {
    Ok(Client::from_store(credentials_path()?)?)
}

/// Turns client errors into messages that say what to do.
async fn explain(client: Option<&Client>, error: ClientError) -> anyhow::Error {
    match error.code() {
        Some(ProblemCode::QuotaExceeded) => {
            if let Some(me) = match client {
                Some(client) => client.me().await.ok(),
                None => None,
            } {
                let quota = me.quota_bytes.map_or("unlimited".to_owned(), human);
                return anyhow!("quota exceeded: {} of {quota} used", human(me.used_bytes));
            }
            anyhow!("quota exceeded")
        }
        Some(ProblemCode::BadCredentials) => anyhow!("wrong email or password"),
        _ => anyhow!(error),
    }
}

/// A progress bar on a terminal; nothing otherwise (a summary line is printed at the end).
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new(total: u64) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Bar(Some(bar))
    }

    fn message(&self, text: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(text);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
        }
    }
}

fn split_remote(path: &str) -> anyhow::Result<(String, NodeName)> {
    let trimmed = path.trim_end_matches('/');
    let (parent, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    let name = NodeName::new(name).map_err(|e| anyhow!("{path:?}: {e}"))?;
    Ok((
        if parent.is_empty() {
            "/".to_owned()
        } else {
            parent.to_owned()
        },
        name,
    ))
}

async fn must_find(client: &Client, path: &str) -> anyhow::Result<Node> {
    client
        .node_by_path(path)
        .await?
        .ok_or_else(|| anyhow!("no such file or folder: {path}"))
}

/// The folder at `path`, creating it and its parents as needed.
async fn ensure_folder(client: &Client, path: &str) -> anyhow::Result<Node> {
    if let Some(node) = client.node_by_path(path).await? {
        if node.kind != NodeKind::Folder {
            bail!("{path} is a file, not a folder");
        }
        return Ok(node);
    }
    let (parent, name) = split_remote(path)?;
    let parent = Box::pin(ensure_folder(client, &parent)).await?;
    match client
        .create_folder(NodeRef::Id(parent.id), name, OnConflict::Fail)
        .await
    {
        Err(ClientError::Api {
            code: ProblemCode::NameConflict,
            ..
        }) => must_find(client, path).await,
        other => Ok(other?),
    }
}

fn print_nodes(nodes: &[Node], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(nodes)?);
        return Ok(());
    }
    for node in nodes {
        let size = node.size.map_or("-".to_owned(), human);
        let kind = if node.kind == NodeKind::Folder {
            "d"
        } else {
            "-"
        };
        let when = node.modified_at.format("%Y-%m-%d %H:%M");
        let name = if node.kind == NodeKind::Folder {
            format!("{}/", node.name)
        } else {
            node.name.clone()
        };
        println!("{kind} {size:>10}  {when}  {name}");
    }
    Ok(())
}

pub async fn run(command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Login {
            server,
            email,
            device,
        } => login(&server, &email, device).await,
        ClientCommand::Status { dir } => crate::sync::status(&dir).await,
        ClientCommand::DebugChunks { local } => {
            let cut = satchel_client::chunk_file(&local)?;
            for chunk in &cut.chunks {
                println!("{} {} {}", chunk.offset, chunk.size, chunk.sha256);
            }
            Ok(())
        }
        ClientCommand::Sync {
            dir,
            remote,
            once,
            device,
            allow_mass_delete,
            json,
        } => {
            let options = satchel_client::sync::SyncOptions {
                dir,
                remote,
                device: device.unwrap_or_else(device_name),
                allow_mass_delete,
            };
            crate::sync::sync(connect()?, options, once, json).await
        }
        ClientCommand::Logout => {
            let path = credentials_path()?;
            if let Ok(client) = Client::from_store(path.clone()) {
                let _ = client.logout().await;
            }
            Credentials::remove(&path)?;
            println!("logged out");
            Ok(())
        }
        command => {
            let client = connect()?;
            match other(&client, command).await {
                Err(error) => match error.downcast::<ClientError>() {
                    Ok(error) => Err(explain(Some(&client), error).await),
                    Err(error) => Err(error),
                },
                ok => ok,
            }
        }
    }
}

/// `30m`, `12h`, `7d`, `90s`.
fn parse_duration(text: &str) -> anyhow::Result<chrono::Duration> {
    let text = text.trim();
    let split = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, unit) = text.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| anyhow!("a duration is a number and a unit: 30m, 12h, 7d"))?;
    Ok(match unit {
        "s" => chrono::Duration::seconds(number),
        "m" => chrono::Duration::minutes(number),
        "h" => chrono::Duration::hours(number),
        "d" => chrono::Duration::days(number),
        _ => bail!("a duration's unit is s, m, h or d: 30m, 12h, 7d"),
    })
}

/// This computer's name: the host name, or `satchel-cli`.
fn device_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "satchel-cli".to_owned())
}

async fn login(server: &str, email: &str, device: Option<String>) -> anyhow::Result<()> {
    let password = match std::env::var("SATCHEL_PASSWORD") {
        Ok(password) => password,
        Err(_) => rpassword::prompt_password(format!("password for {email}: "))?,
    };
    let device = device.unwrap_or_else(device_name);
    let mut client = match Client::login(server, email, &password, &device).await {
        Ok(client) => client,
        Err(error) => return Err(explain(None, error).await),
    };
    let path = credentials_path()?;
    client.save_to(path.clone())?;
    println!(
        "logged in to {} as {} (credentials in {})",
        client.credentials().server,
        client.credentials().email,
        path.display()
    );
    Ok(())
}

async fn other(client: &Client, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Whoami => {
            let me = client.me().await?;
            let quota = me.quota_bytes.map_or("unlimited".to_owned(), human);
            println!(
                "{} on {}\nused {} of {quota}",
                me.user.email,
                client.credentials().server,
                human(me.used_bytes)
            );
        }
        ClientCommand::Ls { path, json } => {
            let node = must_find(client, &path).await?;
            let nodes = match node.kind {
                NodeKind::Folder => client.children(NodeRef::Id(node.id)).await?,
                NodeKind::File => vec![node],
            };
            print_nodes(&nodes, json)?;
        }
        ClientCommand::Mkdir { path } => {
            let node = ensure_folder(client, &path).await?;
            println!("{}", node.path);
        }
        ClientCommand::Put { local, remote } => put(client, &local, &remote).await?,
        ClientCommand::Get { remote, local } => get(client, &remote, &local).await?,
        ClientCommand::Mv { from, to } => {
            let node = must_find(client, &from).await?;
            let patch = match client.node_by_path(&to).await? {
                Some(folder)
                    if folder.kind == NodeKind::Folder
                        && !to.ends_with(&format!("/{}", node.name)) =>
                {
                    PatchNode {
                        parent_id: Some(NodeRef::Id(folder.id)),
                        ..Default::default()
                    }
                }
                Some(_) => bail!("{to} already exists"),
                None => {
                    let (parent, name) = split_remote(&to)?;
                    let parent = must_find(client, &parent).await?;
                    PatchNode {
                        parent_id: Some(NodeRef::Id(parent.id)),
                        name: Some(name),
                        ..Default::default()
                    }
                }
            };
            let moved = client.patch(node.id, patch).await?;
            println!("{} -> {}", node.path, moved.path);
        }
        ClientCommand::Rm { path } => {
            let node = must_find(client, &path).await?;
            client.trash(node.id).await?;
            println!("moved {} to the trash", node.path);
        }
        ClientCommand::Trash { json } => print_nodes(&client.trashed().await?, json)?,
        ClientCommand::Restore { path } => {
            let trashed = client.trashed().await?;
            let node = trashed
                .iter()
                .find(|n| {
                    n.path == path || n.path.trim_end_matches('/') == path.trim_end_matches('/')
                })
                .ok_or_else(|| anyhow!("{path} is not in the trash (see `satchel trash`)"))?;
            let restored = client.restore(node.id).await?;
            println!("restored {}", restored.path);
        }
        ClientCommand::Versions { path, json } => {
            let node = must_find(client, &path).await?;
            let versions = client.versions(node.id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&versions)?);
            } else {
                for v in versions {
                    let device = v.device.unwrap_or_default();
                    println!(
                        "{:>4}  {:>10}  {}  {}  {device}",
                        v.version,
                        human(v.size),
                        v.created_at.format("%Y-%m-%d %H:%M:%S"),
                        v.sha256
                    );
                }
            }
        }
        ClientCommand::RestoreVersion { path, version } => {
            let node = must_find(client, &path).await?;
            let restored = client.restore_version(node.id, version).await?;
            println!(
                "{} is now version {} (the content of version {version})",
                restored.path,
                restored.version.unwrap_or(0)
            );
        }
        ClientCommand::Search { term, json } => {
            let found = client.search(&term).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&found)?);
            } else {
                for node in found {
                    println!("{}", node.path);
                }
            }
        }
        ClientCommand::Share {
            path,
            with: Some(email),
            edit,
            json,
            ..
        } => {
            let node = must_find(client, &path).await?;
            let share = client
                .create_share(&satchel_proto::CreateShare {
                    node_id: node.id,
                    email,
                    permission: if edit { "edit" } else { "view" }.to_owned(),
                })
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&share)?);
            } else {
                println!(
                    "shared {} with {} ({}); share id {}",
                    node.path, share.member_email, share.permission, share.id
                );
            }
        }
        ClientCommand::Share {
            path,
            password,
            expires_in,
            max_downloads,
            upload,
            json,
            with: None,
            ..
        } => {
            let node = must_find(client, &path).await?;
            let expires_at = expires_in
                .map(|text| parse_duration(&text).map(|d| chrono::Utc::now() + d))
                .transpose()?;
            let link = client
                .create_link(&satchel_proto::CreateLink {
                    node_id: node.id.to_string(),
                    permission: upload.then(|| "upload".to_owned()),
                    expires_at,
                    password,
                    max_downloads,
                    max_upload_bytes: None,
                })
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&link)?);
            } else {
                println!("{}", link.url);
            }
        }
        ClientCommand::Links { json } => {
            let links = client.links().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&links)?);
            } else {
                for link in links {
                    let mut notes = vec![format!("{} downloads", link.download_count)];
                    if let Some(max) = link.max_downloads {
                        notes[0] = format!("{} of {max} downloads", link.download_count);
                    }
                    if let Some(at) = link.expires_at {
                        notes.push(format!("expires {}", at.format("%Y-%m-%d %H:%M")));
                    }
                    if link.has_password {
                        notes.push("password".to_owned());
                    }
                    if link.permission == "upload" {
                        notes.push("upload-only".to_owned());
                    }
                    if link.disabled {
                        notes.push("disabled".to_owned());
                    }
                    println!("{}  {}  ({})", link.id, link.url, notes.join(", "));
                }
            }
        }
        ClientCommand::Shares { incoming, json } => {
            let shares = client.shares(incoming).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&shares)?);
            } else {
                for share in shares {
                    let who = if incoming {
                        format!("from {} as /{}", share.owner_email, share.mount_name)
                    } else {
                        format!("with {}", share.member_email)
                    };
                    println!("{}  {who}  ({})", share.id, share.permission);
                }
            }
        }
        ClientCommand::Unshare { link } => {
            let links = client.links().await?;
            if let Some(found) = links
                .iter()
                .find(|l| l.id.to_string() == link || l.url == link || l.token == link)
            {
                client.delete_link(found.id).await?;
                println!("deleted {}", found.url);
                return Ok(());
            }
            let mut shares = client.shares(false).await?;
            shares.extend(client.shares(true).await?);
            let share = shares
                .iter()
                .find(|s| s.id.to_string() == link)
                .ok_or_else(|| {
                    anyhow!("no such link or share: {link} (see `satchel links`, `satchel shares`)")
                })?;
            client.delete_share(share.id).await?;
            println!(
                "ended the share of /{} with {}",
                share.mount_name, share.member_email
            );
        }
        ClientCommand::AppPassword(command) => app_password(client, command).await?,
        ClientCommand::Login { .. }
        | ClientCommand::Logout
        | ClientCommand::Sync { .. }
        | ClientCommand::DebugChunks { .. }
        | ClientCommand::Status { .. } => {
            unreachable!("handled before connecting")
        }
    }
    Ok(())
}

/// A local tree: its folders, and its files with their sizes, as paths relative to its root.
struct LocalTree {
    folders: Vec<PathBuf>,
    files: Vec<(PathBuf, u64)>,
}

/// Local files under `root` (recursively), with their path relative to it; symlinks are skipped.
fn walk(root: &Path) -> anyhow::Result<LocalTree> {
    let mut folders = Vec::new();
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let mut entries: Vec<_> =
            std::fs::read_dir(root.join(&relative))?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let kind = entry.file_type()?;
            let path = relative.join(entry.file_name());
            if kind.is_symlink() {
                eprintln!("satchel: skipping symlink {}", root.join(&path).display());
            } else if kind.is_dir() {
                folders.push(path.clone());
                stack.push(path);
            } else if kind.is_file() {
                files.push((path, entry.metadata()?.len()));
            }
        }
    }
    Ok(LocalTree { folders, files })
}

fn file_name(path: &Path) -> anyhow::Result<NodeName> {
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} has no file name", path.display()))?;
    let name = name
        .to_str()
        .ok_or_else(|| anyhow!("{} is not valid UTF-8", path.display()))?;
    NodeName::new(name).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn join_remote(parent: &str, child: &str) -> String {
    format!("{}/{child}", parent.trim_end_matches('/'))
}

async fn put(client: &Client, local: &Path, remote: &str) -> anyhow::Result<()> {
    let meta =
        std::fs::metadata(local).with_context(|| format!("cannot read {}", local.display()))?;
    let started = Instant::now();
    // Where the upload lands: into an existing folder (or one named with a trailing '/'), else as
    // that exact path.
    let target = match client.node_by_path(remote).await? {
        Some(node) if node.kind == NodeKind::Folder => {
            join_remote(&node.path, file_name(local)?.as_str())
        }
        Some(node) => node.path,
        None if remote.ends_with('/') => join_remote(
            &ensure_folder(client, remote).await?.path,
            file_name(local)?.as_str(),
        ),
        None => remote.to_owned(),
    };
    let (folders, files) = if meta.is_dir() {
        let LocalTree { folders, files } = walk(local)?;
        (
            folders,
            files
                .into_iter()
                .map(|(p, size)| (local.join(&p), join_remote(&target, &slash(&p)), size))
                .collect::<Vec<_>>(),
        )
    } else {
        (
            Vec::new(),
            vec![(local.to_path_buf(), target.clone(), meta.len())],
        )
    };
    if meta.is_dir() {
        ensure_folder(client, &target).await?;
        for folder in &folders {
            ensure_folder(client, &join_remote(&target, &slash(folder))).await?;
        }
    }
    let total: u64 = files.iter().map(|(_, _, size)| size).sum();
    let bar = Bar::new(total);
    // Files cut before and unchanged since are not read again.
    let index = LocalIndex::default_path()
        .map(LocalIndex::load)
        .unwrap_or_default();
    // One listing per remote folder tells which files exist (and with what content), instead of a
    // lookup per file; files go up several at a time.
    let mut folders: HashMap<String, (Node, HashMap<String, Node>)> = HashMap::new();
    let mut uploads = Vec::with_capacity(files.len());
    for (path, remote_path, size) in &files {
        let (parent, name) = split_remote(remote_path)?;
        uploads.push((path.clone(), parent.clone(), name, *size));
        if let std::collections::hash_map::Entry::Vacant(slot) = folders.entry(parent) {
            let folder = must_find(client, slot.key()).await?;
            let children = client.children(NodeRef::Id(folder.id)).await?;
            let by_name = children
                .into_iter()
                .map(|n| (satchel_proto::name_key(&n.name), n))
                .collect();
            slot.insert((folder, by_name));
        }
    }
    let job = |(path, parent, name, _size): (PathBuf, String, NodeName, u64)| {
        let (folder, existing) = &folders[&parent];
        let existing = existing
            .get(&name.key())
            .filter(|n| n.kind == NodeKind::File);
        let bar = &bar;
        let index = &index;
        async move {
            bar.message(path.display().to_string());
            let to = Destination::new(NodeRef::Id(folder.id), name, existing);
            upload_file(client, &path, &to, Some(index), bar)
                .await
                .with_context(|| format!("uploading {}", path.display()))
        }
    };
    let (small, large): (Vec<_>, Vec<_>) = uploads
        .into_iter()
        .partition(|upload| upload.3 <= satchel_client::SMALL_FILE);
    let mut done: Vec<_> = futures_util::stream::iter(small)
        .map(job)
        .buffer_unordered(PARALLEL_SMALL_FILES)
        .try_collect()
        .await?;
    let large: Vec<_> = futures_util::stream::iter(large)
        .map(job)
        .buffer_unordered(PARALLEL_LARGE_FILES)
        .try_collect()
        .await?;
    done.extend(large);
    if let Err(error) = index.save() {
        eprintln!("satchel: could not save the local index: {error}");
    }
    let sent: u64 = done.iter().map(|d| d.sent).sum();
    let skipped: u64 = done.iter().map(|d| d.skipped).sum();
    bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "uploaded {} file{} to {target}: {} sent, {} already there, {:.1} s ({}/s)",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        human(sent),
        human(skipped),
        seconds,
        human((total as f64 / seconds.max(0.001)) as u64)
    );
    Ok(())
}

fn slash(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

async fn get(client: &Client, remote: &str, local: &Path) -> anyhow::Result<()> {
    let node = must_find(client, remote).await?;
    let started = Instant::now();
    let dest = if local.is_dir() {
        local.join(&node.name)
    } else {
        local.to_path_buf()
    };
    let mut files: Vec<(Node, PathBuf)> = Vec::new();
    if node.kind == NodeKind::Folder {
        let mut stack = vec![(node.clone(), dest.clone())];
        while let Some((folder, path)) = stack.pop() {
            std::fs::create_dir_all(&path)?;
            for child in client.children(NodeRef::Id(folder.id)).await? {
                let child_path = path.join(&child.name);
                match child.kind {
                    NodeKind::Folder => stack.push((child, child_path)),
                    NodeKind::File => files.push((child, child_path)),
                }
            }
        }
    } else {
        files.push((node.clone(), dest.clone()));
    }
    let total: u64 = files.iter().map(|(n, _)| n.size.unwrap_or(0)).sum();
    let bar = Bar::new(total);
    for (file, path) in &files {
        bar.message(file.path.clone());
        download_file(client, file, path, &bar)
            .await
            .with_context(|| format!("downloading {}", file.path))?;
    }
    bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "downloaded {} file{} to {}: {}, {:.1} s ({}/s), every SHA-256 verified",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        dest.display(),
        human(total),
        seconds,
        human((total as f64 / seconds.max(0.001)) as u64)
    );
    Ok(())
}

async fn app_password(client: &Client, command: AppPasswordCommand) -> anyhow::Result<()> {
    match command {
        AppPasswordCommand::Create {
            name,
            read_only,
            json,
        } => {
            let scope = read_only.then_some(satchel_proto::AppPasswordScope::ReadOnly);
            let made = client
                .create_app_password(&satchel_proto::CreateAppPassword { name, scope })
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&made)?);
            } else {
                println!("{}", made.password);
                eprintln!(
                    "app password {:?} ({}, id {}): shown only now",
                    made.name,
                    made.scope.as_str(),
                    made.id
                );
            }
        }
        AppPasswordCommand::List { json } => {
            let all = client.app_passwords().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for one in all {
                    let used = match (one.last_used_at, &one.last_used_from) {
                        (Some(at), Some(from)) => format!("last used {at} from {from}"),
                        (Some(at), None) => format!("last used {at}"),
                        _ => "never used".to_owned(),
                    };
                    println!("{}  {}  ({}, {used})", one.id, one.name, one.scope.as_str());
                }
            }
        }
        AppPasswordCommand::Revoke { id } => {
            client.revoke_app_password(id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
