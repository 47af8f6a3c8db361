//! `satchel`: the server (`satchel serve`) and the operator's tools (`satchel admin …`).

mod admin;
mod admin_storage;
mod client;
mod sync;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use satchel_server::{AppState, BlobNodeConfig, IpRange, Registration, Secret, ServerConfig};
use tracing_subscriber::EnvFilter;

/// Satchel: a self-hosted Dropbox. `satchel serve` runs the server; the other commands are its
/// command-line client (`satchel login URL --email E` first).
#[derive(Debug, Parser)]
#[command(name = "satchel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (SQLite + local disk under ./satchel-data unless told otherwise).
    Serve(ServeArgs),
    #[command(flatten)]
    Client(client::ClientCommand),
    /// Operator tasks on the same data, with or without the server running.
    Admin {
        #[command(flatten)]
        target: StoreArgs,
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
}

/// Where the data is: shared by `serve` and `admin`. Each flag also reads a `SATCHEL_*` variable
/// and, below both, the TOML file given by `--config`.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// TOML file with any of the settings below (flags and environment variables win over it).
    #[arg(long, env = "SATCHEL_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Directory for the embedded database and the chunks [default: ./satchel-data].
    #[arg(long, env = "SATCHEL_DATA", global = true)]
    data: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB` [default: sqlite://DATA/satchel.db].
    #[arg(long, env = "SATCHEL_DATABASE", global = true)]
    database: Option<String>,
    /// Where chunks go: a folder, or `s3://BUCKET/PREFIX?endpoint=URL&region=R&path_style=true`
    /// (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the config file)
    /// [default: DATA/chunks].
    #[arg(long, env = "SATCHEL_BLOBS", global = true)]
    blobs: Option<String>,
    /// A storage node, `NAME=URL` (URL as for --blobs); repeat for each node, or give a
    /// comma-separated list in SATCHEL_BLOB_NODES. Replaces --blobs.
    #[arg(
        long = "blob-node",
        env = "SATCHEL_BLOB_NODES",
        value_delimiter = ',',
        global = true
    )]
    blob_nodes: Vec<BlobNodeConfig>,
    /// Copies of each chunk, on distinct nodes [default: 2 with two or more nodes, else 1].
    #[arg(long, env = "SATCHEL_COPIES", global = true)]
    copies: Option<usize>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SATCHEL_LISTEN")]
    listen: Option<SocketAddr>,
    /// Whether anyone may sign up through the API: `open` or `closed` [default: open].
    #[arg(long, env = "SATCHEL_REGISTRATION")]
    registration: Option<Registration>,
    /// Quota of new accounts in bytes [default: unlimited].
    #[arg(long, env = "SATCHEL_DEFAULT_QUOTA")]
    default_quota: Option<u64>,
    /// Key that signs access tokens [default: generated once and kept in the database].
    #[arg(long, env = "SATCHEL_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// `redis://HOST:PORT/DB`: announcements between servers and rate limits they share.
    #[arg(long, env = "SATCHEL_REDIS")]
    redis: Option<String>,
    /// Reverse proxies whose X-Forwarded-For / Forwarded headers name the client: addresses or
    /// CIDR ranges, comma-separated (`127.0.0.1,10.0.0.0/8`) [default: none].
    #[arg(long, env = "SATCHEL_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Option<Vec<IpRange>>,
    /// Serve the web app from this folder instead of the built-in copy (development).
    #[arg(long, env = "SATCHEL_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// Memory, in MiB, that uploads and downloads in flight may hold for file bytes, all together;
    /// past it, transfers wait for room [default: 64].
    #[arg(long, env = "SATCHEL_TRANSFER_MEMORY_MIB")]
    transfer_memory_mib: Option<u64>,
}

impl StoreArgs {
    /// The configuration: defaults, then the file, then these flags/variables.
    fn config(&self) -> anyhow::Result<ServerConfig> {
        let mut config = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing the config file {}", path.display()))?
            }
            None => ServerConfig::default(),
        };
        if let Some(data) = &self.data {
            config.data = data.clone();
        }
        if let Some(database) = &self.database {
            config.database = Some(database.clone());
        }
        if let Some(blobs) = &self.blobs {
            config.blobs = Some(blobs.clone());
        }
        if !self.blob_nodes.is_empty() {
            config.blob_nodes.clone_from(&self.blob_nodes);
        }
        if let Some(copies) = self.copies {
            config.copies = Some(copies);
        }
        Ok(config)
    }
}

impl ServeArgs {
    fn config(&self) -> anyhow::Result<ServerConfig> {
        let mut config = self.store.config()?;
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(registration) = self.registration {
            config.registration = registration;
        }
        if let Some(quota) = self.default_quota {
            config.default_quota = Some(quota);
        }
        if let Some(secret) = &self.jwt_secret {
            config.jwt_secret = Some(Secret(secret.clone()));
        }
        if let Some(redis) = &self.redis {
            config.redis = Some(redis.clone());
        }
        if let Some(proxies) = &self.trusted_proxies {
            config.trusted_proxies.clone_from(proxies);
        }
        if let Some(dir) = &self.web_dir {
            config.web_dir = Some(dir.clone());
        }
        if let Some(mib) = self.transfer_memory_mib {
            config.transfer_memory_mib = mib;
        }
        Ok(config)
    }
}

/// A command's exit status other than success, already explained on the output (the admin
/// storage commands' 1 = problems found, 2 = could not run).
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for Exit {}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            if let Some(Exit(code)) = error.downcast_ref::<Exit>() {
                return std::process::ExitCode::from(*code);
            }
            eprintln!("satchel: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("SATCHEL_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            with_few_malloc_arenas();
            serve(args.config()?).await
        }
        Command::Admin { target, command } => match target.config() {
            Ok(config) => admin::run(config, command).await,
            // The storage commands promise exit code 2 when they cannot run.
            Err(error) if command.is_storage() => {
                eprintln!("satchel: {error:#}");
                Err(Exit(2).into())
            }
            Err(error) => Err(error),
        },
        Command::Client(command) => client::run(command).await,
    }
}

/// glibc gives each thread that allocates its own malloc arena (up to eight per core), and memory
/// freed in one is not reused by the others: under many concurrent transfers the server's memory
/// grew well past what it holds (bench/memory.py: 171 MiB peak for 80 uploads then a 512 MiB stream,
/// 95 MiB with two arenas; 285 vs 158 MiB with 200 clients). The setting is read only when the
/// process starts, so `serve` starts itself again with it once, unless the operator chose a value.
fn with_few_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("MALLOC_ARENA_MAX", "2")
        .exec();
    tracing::warn!("could not restart with MALLOC_ARENA_MAX=2: {error}");
}

async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let listen = config.listen;
    let mut state = AppState::open(config.clone())
        .await
        .with_context(|| format!("opening the data in {}", config.data.display()))?;
    let web = match &config.web_dir {
        Some(dir) => satchel_web::Source::Dir(dir.clone()),
        None => satchel_web::Source::Embedded,
    };
    state.front = Some(satchel_web::router(web));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    tracing::info!(
        address = %listener.local_addr()?,
        data = %config.data.display(),
        database = if config.database.is_some() { "configured" } else { "embedded SQLite" },
        "satchel is serving"
    );
    satchel_server::serve(state, listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
