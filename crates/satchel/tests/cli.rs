//! The command-line client against a real server: every command, resuming, dedup, and errors.

mod common;

use std::path::Path;
use std::process::Command;

use common::{PASSWORD, Server, noise};
use satchel_client::{Client, Destination, upload_file};
use satchel_proto::{NodeName, NodeRef};
use serde_json::Value;

/// Runs `satchel ARGS` with its own config folder; returns (success, stdout, stderr).
fn satchel(config: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(args)
        .env("XDG_CONFIG_HOME", config)
        .env("XDG_CACHE_HOME", config.join("cache"))
        .env("SATCHEL_PASSWORD", PASSWORD)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("satchel runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn ok(config: &Path, args: &[&str]) -> String {
    let (success, out, err) = satchel(config, args);
    assert!(success, "satchel {args:?} failed: {err}");
    out
}

/// Runs `satchel admin --data DATA ARGS` (on the test's database) and returns its output.
fn admin(data: &Path, args: &[&str]) -> String {
    let database = std::fs::read_to_string(data.join("test-db-url"))
        .map(|url| vec!["--database".to_owned(), url])
        .unwrap_or_default();
    let output = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .arg("admin")
        .arg("--data")
        .arg(data)
        .args(database)
        .args(args)
        .env("SATCHEL_LOG", "warn")
        .output()
        .expect("satchel runs");
    assert!(
        output.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_works_end_to_end() {
    let data = common::data_dir().await;
    let server = Server::start(data.path());
    server.register("ana@example.org").await;
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("config");

    let (success, _, err) = satchel(&config, &["ls"]);
    assert!(
        !success && err.contains("not logged in: run `satchel login URL`"),
        "{err}"
    );
    ok(
        &config,
        &[
            "login",
            &server.base,
            "--email",
            "ana@example.org",
            "--device",
            "laptop",
        ],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config.join("satchel/credentials.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(ok(&config, &["whoami"]).contains("ana@example.org"));

    // A tree with an empty file, a multi-chunk file and an odd name.
    let tree = work.path().join("Photos 2024");
    std::fs::create_dir_all(tree.join("trip/day 1")).unwrap();
    std::fs::write(tree.join("empty.txt"), b"").unwrap();
    std::fs::write(tree.join("trip/big.bin"), noise(6 << 20, 1)).unwrap();
    std::fs::write(tree.join("trip/day 1/été 🎉.txt"), b"sun").unwrap();
    let out = ok(&config, &["put", tree.to_str().unwrap(), "/"]);
    assert!(out.contains("uploaded 3 files"), "{out}");
    let listing: Vec<Value> =
        serde_json::from_str(&ok(&config, &["ls", "/Photos 2024/trip", "--json"])).unwrap();
    let names: Vec<&str> = listing
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["big.bin", "day 1"]);

    // The same tree again sends nothing and makes no new versions.
    let again = ok(&config, &["put", tree.to_str().unwrap(), "/"]);
    assert!(again.contains("0 B sent"), "{again}");
    let versions: Vec<Value> = serde_json::from_str(&ok(
        &config,
        &["versions", "/Photos 2024/trip/big.bin", "--json"],
    ))
    .unwrap();
    assert_eq!(versions.len(), 1);

    // Download it all back and compare byte for byte.
    let back = work.path().join("back");
    std::fs::create_dir(&back).unwrap();
    ok(&config, &["get", "/Photos 2024", back.to_str().unwrap()]);
    for file in ["empty.txt", "trip/big.bin", "trip/day 1/été 🎉.txt"] {
        assert_eq!(
            std::fs::read(back.join("Photos 2024").join(file)).unwrap(),
            std::fs::read(tree.join(file)).unwrap(),
            "{file}"
        );
    }

    // An interrupted download resumes from the partial file it left, and still verifies.
    let resumed = work.path().join("resumed.bin");
    let original = std::fs::read(tree.join("trip/big.bin")).unwrap();
    std::fs::write(
        work.path().join(".resumed.bin.satchel-part"),
        &original[..3 << 20],
    )
    .unwrap();
    ok(
        &config,
        &[
            "get",
            "/Photos 2024/trip/big.bin",
            resumed.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&resumed).unwrap(), original);
    assert!(!work.path().join(".resumed.bin.satchel-part").exists());
    // A corrupt partial file is caught by the checksum and not kept.
    std::fs::write(
        work.path().join(".resumed.bin.satchel-part"),
        vec![0u8; 1 << 20],
    )
    .unwrap();
    let (success, _, err) = satchel(
        &config,
        &[
            "get",
            "/Photos 2024/trip/big.bin",
            resumed.to_str().unwrap(),
        ],
    );
    assert!(!success && err.contains("hash to"), "{err}");
    assert!(!work.path().join(".resumed.bin.satchel-part").exists());

    // An edit that keeps the size and puts the modification time back is still noticed (the local
    // index of already-cut files also checks the change time).
    let big = tree.join("trip/big.bin");
    let stamp = std::fs::metadata(&big).unwrap().modified().unwrap();
    let mut edited = std::fs::read(&big).unwrap();
    edited[100] ^= 1;
    std::fs::write(&big, &edited).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&big)
        .unwrap()
        .set_modified(stamp)
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ok(
        &config,
        &["put", big.to_str().unwrap(), "/Photos 2024/trip/big.bin"],
    );
    let fetched = work.path().join("fetched.bin");
    ok(
        &config,
        &[
            "get",
            "/Photos 2024/trip/big.bin",
            fetched.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read(&fetched).unwrap(), edited);
    assert!(config.join("cache/satchel/index.json").exists());

    // A new version, then back to the first.
    let one = work.path().join("notes.txt");
    std::fs::write(&one, b"first").unwrap();
    ok(&config, &["put", one.to_str().unwrap(), "/notes.txt"]);
    std::fs::write(&one, b"second").unwrap();
    ok(&config, &["put", one.to_str().unwrap(), "/notes.txt"]);
    ok(&config, &["restore-version", "/notes.txt", "1"]);
    let copy = work.path().join("notes-back.txt");
    ok(&config, &["get", "/notes.txt", copy.to_str().unwrap()]);
    assert_eq!(std::fs::read(&copy).unwrap(), b"first");

    // Move, search, trash and restore.
    ok(&config, &["mkdir", "/archive/2024"]);
    ok(&config, &["mv", "/notes.txt", "/archive/2024"]);
    ok(
        &config,
        &[
            "mv",
            "/archive/2024/notes.txt",
            "/archive/2024/old notes.txt",
        ],
    );
    let found: Vec<Value> =
        serde_json::from_str(&ok(&config, &["search", "OLD", "--json"])).unwrap();
    assert_eq!(found[0]["path"], "/archive/2024/old notes.txt");
    ok(&config, &["rm", "/archive"]);
    assert!(ok(&config, &["trash"]).contains("archive"));
    ok(&config, &["restore", "/archive"]);
    assert!(ok(&config, &["ls", "/archive/2024"]).contains("old notes.txt"));

    // The operator's view: two copies of the same tree would dedup; one tree plus versions is here.
    let stats: Value = serde_json::from_str(&admin(data.path(), &["stats", "--json"])).unwrap();
    assert!(stats["logical_bytes"].as_u64().unwrap() >= stats["stored_bytes"].as_u64().unwrap());
    assert!(stats["dedup_ratio"].as_f64().unwrap() >= 1.0);
    let gc: Value = serde_json::from_str(&admin(data.path(), &["gc", "--json"])).unwrap();
    assert_eq!(
        gc["chunks_removed"], 0,
        "nothing is collected inside the grace period"
    );

    let (success, _, err) = satchel(&config, &["get", "/no/such/file", "."]);
    assert!(
        !success && err.contains("no such file or folder: /no/such/file"),
        "{err}"
    );
    ok(&config, &["logout"]);
    assert!(!config.join("satchel/credentials.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_upload_resumes_sending_only_what_is_missing() {
    let data = common::data_dir().await;
    let server = Server::start(data.path());
    server.register("bo@example.org").await;
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("video.bin");
    let bytes = noise(100 << 20, 2);
    std::fs::write(&file, &bytes).unwrap();
    let client = Client::login(&server.base, "bo@example.org", PASSWORD, "test")
        .await
        .unwrap();

    // The first run gets as far as sending the first half of the chunks, then "dies".
    let cut = satchel_client::chunk_file(&file).unwrap();
    let specs: Vec<_> = cut
        .chunks
        .iter()
        .map(satchel_client::FileChunk::spec)
        .collect();
    let name = NodeName::new("video.bin").unwrap();
    let session = client
        .init_upload(&satchel_proto::InitUpload {
            parent_id: NodeRef::Root,
            name: name.clone(),
            size: cut.size,
            sha256: Some(cut.sha256),
            chunks: specs,
            more_chunks: false,
            base_rev: None,
            on_conflict: None,
            mime: None,
        })
        .await
        .unwrap();
    let half = cut.chunks.len() / 2;
    let mut first_half = 0;
    for (index, chunk) in cut.chunks.iter().enumerate().take(half) {
        let piece = bytes[chunk.offset as usize..(chunk.offset + chunk.size) as usize].to_vec();
        client
            .put_chunk(session.upload_id, index as u64, piece.into())
            .await
            .unwrap();
        first_half += chunk.size;
    }

    // Running the upload again sends exactly the rest.
    let done = upload_file(
        &client,
        &file,
        &Destination::new(NodeRef::Root, name, None),
        None,
        &(),
    )
    .await
    .unwrap();
    assert_eq!(done.skipped, first_half);
    assert_eq!(done.sent, cut.size - first_half);
    assert_eq!(done.node.sha256, Some(cut.sha256));

    // A 1-byte edit in the middle re-sends one or two chunks, not the file.
    let mut edited = bytes.clone();
    edited[50 << 20] ^= 0xff;
    std::fs::write(&file, &edited).unwrap();
    let existing = client.node_by_path("/video.bin").await.unwrap();
    let to = Destination::new(
        NodeRef::Root,
        NodeName::new("video.bin").unwrap(),
        existing.as_ref(),
    );
    let done = upload_file(&client, &file, &to, None, &()).await.unwrap();
    assert!(
        done.sent <= 2 * (4 << 20),
        "sent {} bytes for a 1-byte edit",
        done.sent
    );
    assert_eq!(done.node.version, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_errors_say_how_much_is_used() {
    let data = common::data_dir().await;
    let server = Server::start(data.path());
    server.register("cy@example.org").await;
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("config");
    ok(
        &config,
        &["login", &server.base, "--email", "cy@example.org"],
    );
    let status = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(["admin", "--data"])
        .arg(data.path())
        .args(["user", "set-quota", "cy@example.org", "1048576"])
        .args(
            std::fs::read_to_string(data.path().join("test-db-url"))
                .map(|url| vec!["--database".to_owned(), url])
                .unwrap_or_default(),
        )
        .status()
        .unwrap();
    assert!(status.success());
    let big = work.path().join("big.bin");
    std::fs::write(&big, noise(2 << 20, 3)).unwrap();
    let (success, _, err) = satchel(&config, &["put", big.to_str().unwrap()]);
    assert!(!success);
    assert!(err.contains("quota exceeded: 0 B of 1.0 MiB used"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_links_and_unshare() {
    let data = common::data_dir().await;
    let server = Server::start(data.path());
    server.register("ana@example.org").await;
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("config");
    ok(
        &config,
        &["login", &server.base, "--email", "ana@example.org"],
    );
    let file = work.path().join("menu.txt");
    std::fs::write(&file, b"soup of the day").unwrap();
    ok(&config, &["put", file.to_str().unwrap(), "/"]);

    let url = ok(
        &config,
        &[
            "share",
            "/menu.txt",
            "--expires-in",
            "7d",
            "--max-downloads",
            "3",
        ],
    );
    let url = url.trim();
    assert!(url.starts_with(&format!("{}/s/", server.base)), "{url}");
    let fetched = reqwest::get(url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"soup of the day");
    let listed = ok(&config, &["links"]);
    assert!(
        listed.contains(url) && listed.contains("1 of 3 downloads") && listed.contains("expires"),
        "{listed}"
    );
    let (success, _, err) = satchel(&config, &["share", "/menu.txt", "--expires-in", "soon"]);
    assert!(!success && err.contains("30m, 12h, 7d"), "{err}");
    ok(&config, &["unshare", url]);
    assert_eq!(reqwest::get(url).await.unwrap().status(), 404);
    assert!(!ok(&config, &["links"]).contains(url));
}
