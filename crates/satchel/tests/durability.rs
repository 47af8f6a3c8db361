//! The real binary on three folder storage nodes, two copies of each chunk: a node's folder wiped,
//! copies flipped and truncated on disk, both copies of a chunk removed — downloads stay right,
//! uploads go on, `satchel admin fsck` finds each problem (naming exactly the file that lost
//! data), `satchel admin repair` fixes what can be fixed, and the storage log shows it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, noise};
use serde_json::Value;

/// The `--blob-node` flags of nodes `a`, `b`, `c` under `root`.
fn node_flags(root: &Path) -> Vec<String> {
    ["a", "b", "c"]
        .iter()
        .flat_map(|name| {
            [
                "--blob-node".to_owned(),
                format!("{name}={}", root.join(name).display()),
            ]
        })
        .collect()
}

/// Runs `satchel admin ARGS… --json` on the data and nodes; returns the exit code and the JSON.
fn admin(data: &Path, nodes: &[String], args: &[&str]) -> (i32, Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_satchel"));
    command.arg("admin").arg("--data").arg(data).args(nodes);
    if let Ok(url) = std::fs::read_to_string(data.join("test-db-url")) {
        command.args(["--database", url.trim()]);
    }
    let output = command
        .args(args)
        .arg("--json")
        .env("SATCHEL_LOG", "warn")
        .output()
        .expect("satchel runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

/// Every chunk file under a node's folder.
fn chunk_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && name != "tmp" && name != "quarantine" {
                stack.push(path);
            } else if name.len() == 64 {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

struct Files {
    client: reqwest::Client,
    base: String,
    token: String,
    /// Name, id, bytes.
    uploaded: Vec<(String, String, Vec<u8>)>,
}

impl Files {
    async fn upload(&mut self, name: &str, bytes: Vec<u8>) {
        let response = self
            .client
            .put(format!(
                "{}/api/v1/files/content?parent_id=root&name={name}",
                self.base
            ))
            .bearer_auth(&self.token)
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "upload {name}");
        let node: Value = response.json().await.unwrap();
        let id = node["id"].as_str().unwrap().to_owned();
        self.uploaded.push((name.to_owned(), id, bytes));
    }

    /// Downloads every file; returns the names that could not be read whole (a complete answer
    /// must be the right bytes).
    async fn check_all(&self) -> Vec<String> {
        let mut failed = Vec::new();
        for (name, id, bytes) in &self.uploaded {
            // A download whose data is lost breaks off, before or after its headers.
            let sent = self
                .client
                .get(format!("{}/api/v1/files/{id}/content", self.base))
                .bearer_auth(&self.token)
                .send()
                .await;
            let body = match sent {
                Ok(response) if response.status() == 200 => response.bytes().await.ok(),
                _ => None,
            };
            match body {
                Some(body) => assert_eq!(&body[..], &bytes[..], "{name}: wrong bytes"),
                None => failed.push(name.clone()),
            }
        }
        failed
    }

    async fn chunk_hashes(&self, id: &str) -> Vec<String> {
        let page: Value = self
            .client
            .get(format!("{}/api/v1/files/{id}/chunks", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|chunk| chunk["sha256"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_folder_nodes_survive_a_wiped_node_damaged_copies_and_report_lost_files() {
    let data = common::data_dir().await;
    let roots = data.path().join("nodes");
    let nodes = node_flags(&roots);
    let server = Server::start_with(data.path(), "127.0.0.1:0", &nodes);
    server.register("ana@example.org").await;
    let mut files = Files {
        client: reqwest::Client::new(),
        base: server.base.clone(),
        token: server.login("ana@example.org").await,
        uploaded: Vec::new(),
    };
    for i in 0..6 {
        files
            .upload(&format!("f{i}.bin"), noise(800_000, 100 + i))
            .await;
    }
    let (code, report) = admin(data.path(), &nodes, &["fsck", "--deep"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["copies_found"], report["copies_expected"]);

    // A node's folder wiped: every download still succeeds, uploads go on.
    std::fs::remove_dir_all(roots.join("b")).unwrap();
    assert!(files.check_all().await.is_empty());
    files.upload("after-wipe-1.bin", noise(600_000, 7)).await;
    files.upload("after-wipe-2.bin", noise(600_000, 8)).await;
    assert!(files.check_all().await.is_empty());
    let (code, report) = admin(data.path(), &nodes, &["fsck"]);
    assert_eq!(code, 1, "copies are missing: {report}");
    assert_eq!(report["chunks_lost"], 0);
    let (code, report) = admin(data.path(), &nodes, &["repair"]);
    assert_eq!(code, 0, "{report}");
    assert!(report["copies_written"].as_u64().unwrap() > 0, "{report}");
    let (code, report) = admin(data.path(), &nodes, &["fsck", "--deep"]);
    assert_eq!(code, 0, "{report}");
    let (_, log) = admin(data.path(), &nodes, &["storage", "log"]);
    let on_b: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| line["node"] == "b")
        .map(|line| line["event"].as_str().unwrap())
        .collect();
    for event in ["stored", "unreachable", "missing", "repaired"] {
        assert!(on_b.contains(&event), "{event} on b in {on_b:?}");
    }
    let (code, storage) = admin(data.path(), &nodes, &["storage"]);
    assert_eq!(code, 0, "{storage}");
    assert_eq!(storage["nodes"].as_array().unwrap().len(), 3);

    // A byte flipped in one copy, another copy truncated: reads stay right, the deep check finds
    // both, repair fixes both.
    let flipped = chunk_files(&roots.join("a")).remove(0);
    let truncated = chunk_files(&roots.join("c"))
        .into_iter()
        .find(|path| path.file_name() != flipped.file_name())
        .unwrap();
    let mut bytes = std::fs::read(&flipped).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&flipped, bytes).unwrap();
    let bytes = std::fs::read(&truncated).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() - 1000]).unwrap();
    let (code, report) = admin(data.path(), &nodes, &["fsck", "--deep"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["copies_corrupt"], 2, "{report}");
    assert!(files.check_all().await.is_empty());
    let (code, report) = admin(data.path(), &nodes, &["repair"]);
    assert_eq!(code, 0, "{report}");
    let (code, report) = admin(data.path(), &nodes, &["fsck", "--deep"]);
    assert_eq!(code, 0, "{report}");

    // Every copy of one chunk of f3 removed: fsck names exactly that file; the rest downloads.
    let lost = files.chunk_hashes(&files.uploaded[3].1).await.remove(0);
    for root in ["a", "b", "c"] {
        for path in chunk_files(&roots.join(root)) {
            if path.file_name().unwrap().to_string_lossy() == lost {
                std::fs::remove_file(path).unwrap();
            }
        }
    }
    let (code, report) = admin(data.path(), &nodes, &["fsck"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["chunks_lost"], 1, "{report}");
    assert_eq!(
        report["files_affected"],
        serde_json::json!([{"owner": "ana@example.org", "path": "/f3.bin", "version": 1}])
    );
    assert_eq!(files.check_all().await, ["f3.bin"]);
    let (code, chunk) = admin(data.path(), &nodes, &["chunk", &lost]);
    assert_eq!(code, 1, "{chunk}");
    assert_eq!(chunk["files"][0]["path"], "/f3.bin");
    let (code, _) = admin(data.path(), &nodes, &["repair"]);
    assert_eq!(code, 1, "a lost chunk stays a problem");
    // Could not run: two copies on one node.
    let one = vec![
        "--blob-node".to_owned(),
        format!("a={}", roots.join("a").display()),
    ];
    let status = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(["admin", "--copies", "2", "--data"])
        .arg(data.path())
        .args(&one)
        .args(["fsck", "--json"])
        .env("SATCHEL_LOG", "warn")
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(2));
    drop(server);
}
