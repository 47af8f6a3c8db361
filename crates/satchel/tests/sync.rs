//! `satchel sync` end to end: real server, real folders, several devices of one user, each pass a
//! real `satchel sync --once` process (so every pass is also a restart), and live clients.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PASSWORD, Server, noise};
use satchel_client::Client;
use satchel_proto::{NodeKind, NodeRef, Sha256};
use serde_json::Value;
use sha2::Digest;

const EMAIL: &str = "ana@example.org";

/// One computer of the user: a config folder (its own session) and a synced folder.
struct Device {
    name: String,
    config: PathBuf,
    dir: PathBuf,
}

impl Device {
    fn new(work: &Path, server: &Server, name: &str) -> Device {
        Device::of(work, server, name, EMAIL)
    }

    /// A device of the account `email`.
    fn of(work: &Path, server: &Server, name: &str, email: &str) -> Device {
        let device = Device {
            name: name.to_owned(),
            config: work.join(format!("{name}-config")),
            dir: work.join(name),
        };
        std::fs::create_dir_all(&device.dir).unwrap();
        let (success, _, err) = device.run(&["login", &server.base, "--email", email]);
        assert!(success, "login: {err}");
        device
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_satchel"));
        command
            .args(args)
            .env("XDG_CONFIG_HOME", &self.config)
            .env("XDG_CACHE_HOME", self.config.join("cache"))
            .env("SATCHEL_PASSWORD", PASSWORD)
            .env("SATCHEL_LOG", "warn")
            .env("NO_COLOR", "1");
        command
    }

    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let output = self.command(args).output().expect("satchel runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn sync_args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let dir = self.dir.to_str().unwrap();
        let mut args = vec!["sync", dir, "--once", "--json", "--device", &self.name];
        args.extend_from_slice(extra);
        args
    }

    /// One pass, which must succeed; what it did.
    fn sync(&self) -> Value {
        let (success, out, err) = self.run(&self.sync_args(&[]));
        assert!(success, "sync on {} failed: {err}", self.name);
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("a JSON summary: {out}"))
    }

    /// A pass killed after `after` (a crash, a dropped connection).
    fn sync_killed_after(&self, after: Duration) {
        let mut child = self
            .command(&self.sync_args(&[]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(after);
        let _ = child.kill();
        let _ = child.wait();
    }

    fn live(&self) -> Child {
        let dir = self.dir.to_str().unwrap();
        self.command(&["sync", dir, "--device", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }
}

/// Changed anything, by the summary.
fn changed(summary: &Value) -> bool {
    [
        "uploaded",
        "downloaded",
        "created_folders",
        "moved",
        "deleted_local",
        "trashed_remote",
        "conflicts",
    ]
    .iter()
    .any(|key| summary[key].as_u64().unwrap_or(0) > 0)
}

/// Files (with contents) and folders under `dir`, without the state folder.
fn tree(dir: &Path) -> (BTreeMap<String, Vec<u8>>, BTreeSet<String>) {
    let mut files = BTreeMap::new();
    let mut folders = BTreeSet::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((at, relative)) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if (relative.is_empty() && name == ".satchel") || name.ends_with(".satchel-part") {
                continue; // the client's own state and downloads in progress
            }
            let path = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                folders.insert(path.clone());
                pending.push((entry.path(), path));
            } else if kind.is_file() {
                files.insert(path, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    (files, folders)
}

/// Syncs every device in turn until a whole cycle changes nothing; then all trees must be equal.
fn settle(devices: &[&Device]) {
    for _ in 0..8 {
        let mut any = false;
        for device in devices {
            any |= changed(&device.sync());
        }
        if !any {
            let first = tree(&devices[0].dir);
            for device in &devices[1..] {
                let other = tree(&device.dir);
                assert_eq!(
                    first.1, other.1,
                    "folders differ between {} and {}",
                    devices[0].name, device.name
                );
                assert_eq!(
                    first.0.keys().collect::<Vec<_>>(),
                    other.0.keys().collect::<Vec<_>>(),
                    "files differ between {} and {}",
                    devices[0].name,
                    device.name
                );
                assert!(first.0 == other.0, "contents differ");
            }
            return;
        }
    }
    panic!("the devices did not settle in 8 cycles");
}

/// A server with the user's account, and a folder for the devices' folders and configurations.
/// (Fields drop in order: the server stops before its data folder goes.)
struct Setup {
    server: Server,
    work: tempfile::TempDir,
    data: tempfile::TempDir,
}

async fn setup() -> Setup {
    let data = common::data_dir().await;
    let server = Server::start(data.path());
    server.register(EMAIL).await;
    Setup {
        server,
        work: tempfile::tempdir().unwrap(),
        data,
    }
}

impl Setup {
    fn device(&self, name: &str) -> Device {
        Device::new(self.work.path(), &self.server, name)
    }

    /// The API, signed in as the user.
    async fn api(&self) -> Client {
        Client::login(&self.server.base, EMAIL, PASSWORD, "test")
            .await
            .unwrap()
    }
}

fn sha(bytes: &[u8]) -> Sha256 {
    Sha256::from_bytes(sha2::Sha256::digest(bytes).into())
}

/// Every content the server holds for the user: every version of every file in the tree or the
/// trash.
async fn server_contents(client: &Client) -> BTreeSet<Sha256> {
    let mut files = Vec::new();
    let mut folders = vec![NodeRef::Root];
    while let Some(folder) = folders.pop() {
        for node in client.children(folder).await.unwrap() {
            match node.kind {
                NodeKind::Folder => folders.push(NodeRef::Id(node.id)),
                NodeKind::File => files.push(node.id),
            }
        }
    }
    for node in client.trashed().await.unwrap() {
        if node.kind == NodeKind::File {
            files.push(node.id);
        }
    }
    let mut contents = BTreeSet::new();
    for file in files {
        for version in client.versions(file).await.unwrap() {
            contents.insert(version.sha256);
        }
    }
    contents
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_converge_through_edits_moves_deletes_and_conflicts() {
    let setup = setup().await;
    let (laptop, desk) = (setup.device("laptop"), setup.device("desk"));
    let client = setup.api().await;

    // Initial sync: identical content on both sides is recognised, not transferred.
    std::fs::create_dir_all(laptop.path("docs/old")).unwrap();
    std::fs::write(laptop.path("docs/plan.txt"), b"plan v1").unwrap();
    std::fs::write(laptop.path("docs/old/notes.md"), b"notes").unwrap();
    std::fs::write(laptop.path("photo.jpg"), noise(3 << 20, 1)).unwrap();
    std::fs::write(laptop.path("empty"), b"").unwrap();
    std::fs::write(desk.path("photo.jpg"), noise(3 << 20, 1)).unwrap();
    let written_long_ago = std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(laptop.path("docs/plan.txt"))
        .unwrap()
        .set_modified(written_long_ago)
        .unwrap();
    let first = laptop.sync();
    assert_eq!(first["uploaded"], 4);
    let second = desk.sync();
    assert_eq!(second["downloaded"], 3, "{second}");
    assert_eq!(second["sent_bytes"], 0);
    // Modification times travel with the files.
    let modified = std::fs::metadata(desk.path("docs/plan.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(modified, written_long_ago);
    settle(&[&laptop, &desk]);

    // A rename and a folder move on one side are moves on the server (same ids).
    let plan_id = client
        .node_by_path("/docs/plan.txt")
        .await
        .unwrap()
        .unwrap()
        .id;
    std::fs::rename(
        laptop.path("docs/plan.txt"),
        laptop.path("docs/plan-final.txt"),
    )
    .unwrap();
    std::fs::rename(laptop.path("docs/old"), laptop.path("archive")).unwrap();
    let moved = laptop.sync();
    assert_eq!(moved["moved"], 2, "{moved}");
    assert_eq!(moved["uploaded"], 0);
    let renamed = client
        .node_by_path("/docs/plan-final.txt")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.id, plan_id);
    let pulled = desk.sync();
    assert_eq!(pulled["moved"], 2, "{pulled}");
    assert_eq!(pulled["received_bytes"], 0);
    assert_eq!(
        std::fs::read(desk.path("archive/notes.md")).unwrap(),
        b"notes"
    );

    // Both sides edit the same file: both versions survive.
    std::fs::write(laptop.path("docs/plan-final.txt"), b"laptop's plan").unwrap();
    std::fs::write(desk.path("docs/plan-final.txt"), b"desk's plan, longer").unwrap();
    laptop.sync();
    let conflicted = desk.sync();
    assert_eq!(conflicted["conflicts"], 1, "{conflicted}");
    settle(&[&laptop, &desk]);
    let (files, _) = tree(&laptop.dir);
    assert_eq!(files["docs/plan-final.txt"], b"laptop's plan");
    let copy = files
        .iter()
        .find(|(path, _)| path.starts_with("docs/plan-final (conflicted copy from desk "))
        .expect("a conflicted copy");
    assert!(copy.0.ends_with(").txt"));
    assert_eq!(copy.1, b"desk's plan, longer");
    let (success, out, _) = desk.run(&["status", desk.dir.to_str().unwrap()]);
    assert!(
        success && out.contains("conflict: docs/plan-final (conflicted copy"),
        "{out}"
    );

    // A local delete of a file changed remotely brings the remote file back; a remote delete of
    // a file changed locally uploads it again.
    std::fs::write(laptop.path("photo.jpg"), noise(3 << 20, 2)).unwrap();
    std::fs::remove_file(desk.path("photo.jpg")).unwrap();
    std::fs::remove_file(laptop.path("archive/notes.md")).unwrap();
    std::fs::write(desk.path("archive/notes.md"), b"notes, edited").unwrap();
    laptop.sync();
    desk.sync();
    settle(&[&laptop, &desk]);
    assert_eq!(
        std::fs::read(desk.path("photo.jpg")).unwrap(),
        noise(3 << 20, 2)
    );
    assert_eq!(
        std::fs::read(laptop.path("archive/notes.md")).unwrap(),
        b"notes, edited"
    );

    // Plain deletes reach the other side, and the server's trash.
    std::fs::remove_file(desk.path("empty")).unwrap();
    std::fs::remove_dir_all(desk.path("archive")).unwrap();
    let deleted = desk.sync();
    assert_eq!(deleted["trashed_remote"], 2, "{deleted}");
    let applied = laptop.sync();
    assert_eq!(applied["deleted_local"], 2, "{applied}");
    assert!(!laptop.path("archive").exists() && !laptop.path("empty").exists());
    let trash: Vec<String> = client
        .trashed()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert!(trash.contains(&"archive".to_owned()) && trash.contains(&"empty".to_owned()));
    settle(&[&laptop, &desk]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_histories_on_three_devices_converge_without_losing_content() {
    let setup = setup().await;
    let devices = [
        setup.device("alpha"),
        setup.device("beta"),
        setup.device("gamma"),
    ];
    let all: Vec<&Device> = devices.iter().collect();
    // A fixed history by default; SATCHEL_TEST_SEED explores others.
    let mut rng = std::env::var("SATCHEL_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse::<u64>().ok())
        .unwrap_or(0x2545_f491_4f6c_dd1d)
        | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut counter = 0u64;
    // Contents on disk when a pass that went through began: these must never be lost.
    let mut must_survive: BTreeSet<Sha256> = BTreeSet::new();
    for step in 0..16 {
        for device in &devices {
            for _ in 0..1 + next(3) {
                counter += 1;
                random_change(device, &mut next, counter);
            }
        }
        for device in &devices {
            match next(4) {
                0 => device.sync_killed_after(Duration::from_millis(next(250))),
                1 => {}
                _ => {
                    for content in tree(&device.dir).0.values() {
                        must_survive.insert(sha(content));
                    }
                    device.sync();
                }
            }
        }
        if step % 4 == 3 {
            settle(&all);
        }
    }
    for device in &devices {
        for content in tree(&device.dir).0.values() {
            must_survive.insert(sha(content));
        }
    }
    settle(&all);
    let held = server_contents(&setup.api().await).await;
    let lost: Vec<_> = must_survive.difference(&held).collect();
    assert!(lost.is_empty(), "contents lost: {lost:?}");
}

/// One random change a user might make in a device's folder.
fn random_change(device: &Device, next: &mut impl FnMut(u64) -> u64, n: u64) {
    let (files, folders) = tree(&device.dir);
    let files: Vec<&String> = files.keys().collect();
    let folders: Vec<String> = std::iter::once(String::new()).chain(folders).collect();
    let folder = |pick: u64| folders[pick as usize % folders.len()].clone();
    let join = |folder: &str, name: &str| {
        if folder.is_empty() {
            name.to_owned()
        } else {
            format!("{folder}/{name}")
        }
    };
    let content = format!("{} wrote this as change {n}", device.name).repeat(1 + (n % 5) as usize);
    match next(8) {
        0 | 1 => {
            // New files; now and then one that every device may create under the same name.
            let name = if next(3) == 0 {
                format!("shared{}.txt", n % 3)
            } else {
                format!("f{n}.txt")
            };
            let path = device.path(&join(&folder(next(100)), &name));
            if !path.exists() {
                std::fs::write(path, content).unwrap();
            }
        }
        2 | 3 if !files.is_empty() => {
            // Edits favour a few files, so that devices often edit the same one between syncs.
            let among = if next(2) == 0 {
                files.len().min(3)
            } else {
                files.len()
            };
            let file = files[next(among as u64) as usize];
            std::fs::write(device.path(file), content).unwrap();
        }
        4 if !files.is_empty() => {
            let file = files[next(files.len() as u64) as usize];
            std::fs::remove_file(device.path(file)).unwrap();
        }
        5 if !files.is_empty() => {
            let file = files[next(files.len() as u64) as usize];
            let to = device.path(&join(&folder(next(100)), &format!("r{n}.txt")));
            std::fs::rename(device.path(file), to).unwrap();
        }
        6 => {
            std::fs::create_dir(device.path(&join(&folder(next(100)), &format!("d{n}")))).unwrap();
        }
        7 if folders.len() > 1 => {
            let from = folder(1 + next(folders.len() as u64 - 1));
            let to = join(super_folder(&from), &format!("d{n}"));
            std::fs::rename(device.path(&from), device.path(&to)).unwrap();
        }
        _ => {}
    }
}

fn super_folder(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_deletes_wait_for_a_flag() {
    let setup = setup().await;
    let device = setup.device("laptop");
    for i in 0..30 {
        std::fs::write(device.path(&format!("f{i}.txt")), format!("file {i}")).unwrap();
    }
    device.sync();
    for i in 0..20 {
        std::fs::remove_file(device.path(&format!("f{i}.txt"))).unwrap();
    }
    let (success, _, err) = device.run(&device.sync_args(&[]));
    assert!(!success && err.contains("20 deletions held back"), "{err}");
    let client = setup.api().await;
    assert_eq!(client.children(NodeRef::Root).await.unwrap().len(), 30);
    let (success, out, err) = device.run(&device.sync_args(&["--allow-mass-delete"]));
    assert!(success, "{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["trashed_remote"], 20);
    assert_eq!(client.children(NodeRef::Root).await.unwrap().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignores_symlinks_and_names_that_clash_by_case() {
    let setup = setup().await;
    let device = setup.device("laptop");
    std::fs::write(device.path(".satchelignore"), "*.log\nbuild/\n!keep.log\n").unwrap();
    std::fs::create_dir_all(device.path("build")).unwrap();
    std::fs::write(device.path("build/out.o"), b"o").unwrap();
    std::fs::write(device.path("debug.log"), b"noise").unwrap();
    std::fs::write(device.path("keep.log"), b"kept").unwrap();
    std::fs::write(device.path(".report.swp"), b"vim").unwrap();
    std::fs::write(device.path("~$budget.xlsx"), b"lock").unwrap();
    std::fs::write(device.path("Readme.txt"), b"one").unwrap();
    std::fs::write(device.path("README.txt"), b"two").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/hostname", device.path("link")).unwrap();
    let (success, out, err) = device.run(&device.sync_args(&[]));
    assert!(success, "{err}");
    assert!(
        err.contains("skipped link: symbolic links are not synced"),
        "{err}"
    );
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["conflicts"], 1, "{summary}");
    device.sync();
    let client = setup.api().await;
    let mut names: Vec<String> = client
        .children(NodeRef::Root)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".satchelignore",
            "README.txt",
            "Readme (case conflict).txt",
            "keep.log"
        ]
    );
    // Nothing was lost locally either.
    // (The first name in byte order keeps it.)
    assert_eq!(
        std::fs::read(device.path("Readme (case conflict).txt")).unwrap(),
        b"one"
    );
    assert!(device.path("debug.log").exists() && device.path("build/out.o").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_neither_rehash_nor_refetch_and_a_small_edit_moves_one_chunk() {
    let setup = setup().await;
    let (laptop, desk) = (setup.device("laptop"), setup.device("desk"));
    let mut big = noise(24 << 20, 7);
    std::fs::write(laptop.path("video.bin"), &big).unwrap();
    laptop.sync();
    desk.sync();
    // Files written within the clock's granularity are hashed again once; wait past that.
    std::thread::sleep(Duration::from_millis(2100));
    laptop.sync();
    desk.sync();
    for device in [&laptop, &desk] {
        let again = device.sync();
        assert!(!changed(&again), "{again}");
        assert_eq!(again["hashed_bytes"], 0, "{again}");
        assert_eq!(again["received_bytes"], 0, "{again}");
    }
    big[12 << 20] ^= 0xff;
    std::fs::write(laptop.path("video.bin"), &big).unwrap();
    let up = laptop.sync();
    assert!(up["sent_bytes"].as_u64().unwrap() <= 2 * (4 << 20), "{up}");
    let down = desk.sync();
    let received = down["received_bytes"].as_u64().unwrap();
    assert!(received <= 2 * (4 << 20), "{down}");
    assert!(
        down["reused_bytes"].as_u64().unwrap() >= (24 << 20) - received,
        "{down}"
    );
    assert_eq!(std::fs::read(desk.path("video.bin")).unwrap(), big);
}

/// Waits until `check` holds, for at most `limit` (a bound for a hung client, not a timing claim).
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_clients_follow_each_other_and_survive_a_server_restart() {
    let mut setup = setup().await;
    let (laptop, desk) = (setup.device("laptop"), setup.device("desk"));
    let mut running = vec![laptop.live(), desk.live()];

    std::fs::write(laptop.path("hello.txt"), b"hello from the laptop").unwrap();
    assert!(
        eventually(Duration::from_secs(30), || std::fs::read(
            desk.path("hello.txt")
        )
        .is_ok_and(|b| b == b"hello from the laptop")),
        "the file never reached the desk"
    );
    std::fs::create_dir(desk.path("from desk")).unwrap();
    std::fs::write(desk.path("from desk/note.txt"), b"note").unwrap();
    assert!(
        eventually(Duration::from_secs(30), || laptop
            .path("from desk/note.txt")
            .exists()),
        "the folder never reached the laptop"
    );

    // The server goes away; a change made meanwhile arrives once it is back.
    let address = setup.server.base.trim_start_matches("http://").to_owned();
    let _ = setup.server.child.kill();
    let _ = setup.server.child.wait();
    std::fs::write(
        laptop.path("offline.txt"),
        b"written while the server was down",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    setup.server = Server::start_at(setup.data.path(), &address);
    assert!(
        eventually(Duration::from_secs(60), || desk
            .path("offline.txt")
            .exists()),
        "the change made while the server was down never arrived"
    );
    for child in &mut running {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Files and folders of `dir` under `folder` (paths relative to it).
fn subtree(dir: &Path, folder: &str) -> (BTreeMap<String, Vec<u8>>, BTreeSet<String>) {
    let (files, folders) = tree(&dir.join(folder));
    (files, folders)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_sync_a_shared_folder_and_keep_their_copy_when_it_is_unshared() {
    let setup = setup().await;
    setup.server.register("bob@example.org").await;
    let ana = setup.device("ana");
    let bob = Device::of(setup.work.path(), &setup.server, "bob", "bob@example.org");
    let ana_api = setup.api().await;
    let bob_api = Client::login(&setup.server.base, "bob@example.org", PASSWORD, "test")
        .await
        .unwrap();

    std::fs::create_dir_all(ana.path("Team/specs")).unwrap();
    std::fs::write(ana.path("Team/plan.txt"), b"plan v1").unwrap();
    std::fs::write(ana.path("Team/specs/big.bin"), noise(3 << 20, 7)).unwrap();
    std::fs::write(ana.path("private.txt"), b"ana only").unwrap();
    std::fs::write(bob.path("bob.txt"), b"bob only").unwrap();
    ana.sync();
    bob.sync();
    let team = ana_api.node_by_path("/Team").await.unwrap().unwrap();
    let (shared, _, err) = ana.run(&["share", "/Team", "--with", "bob@example.org", "--edit"]);
    assert!(shared, "share: {err}");

    // Bob's next pass brings the folder; his own files and Ana's other files stay apart.
    bob.sync();
    assert_eq!(subtree(&bob.dir, "Team"), subtree(&ana.dir, "Team"));
    assert!(!bob.path("private.txt").exists());
    assert!(ana_api.node_by_path("/bob.txt").await.unwrap().is_none());

    // Both change it, one edit each way, then both edit the same file: a conflicted copy, kept.
    std::fs::write(bob.path("Team/plan.txt"), b"plan v2 by bob").unwrap();
    std::fs::write(bob.path("Team/from-bob.txt"), b"hello").unwrap();
    std::fs::rename(bob.path("Team/specs"), bob.path("Team/specifications")).unwrap();
    bob.sync();
    ana.sync();
    assert_eq!(
        std::fs::read(ana.path("Team/plan.txt")).unwrap(),
        b"plan v2 by bob"
    );
    assert!(ana.path("Team/specifications/big.bin").exists());
    std::fs::write(ana.path("Team/plan.txt"), b"ana's v3").unwrap();
    std::fs::write(bob.path("Team/plan.txt"), b"bob's v3").unwrap();
    ana.sync();
    let pass = bob.sync();
    assert_eq!(pass["conflicts"], 1, "{pass}");
    for _ in 0..3 {
        ana.sync();
        bob.sync();
    }
    let (files, _) = subtree(&ana.dir, "Team");
    assert_eq!(
        subtree(&bob.dir, "Team"),
        (files.clone(), subtree(&ana.dir, "Team").1)
    );
    let plans: Vec<&Vec<u8>> = files
        .iter()
        .filter(|(path, _)| path.starts_with("plan"))
        .map(|(_, bytes)| bytes)
        .collect();
    assert_eq!(plans.len(), 2, "{:?}", files.keys());
    assert!(plans.contains(&&b"ana's v3".to_vec()) && plans.contains(&&b"bob's v3".to_vec()));

    // Ana ends the share: Bob keeps his copy as his own files (uploaded to his tree); Ana's folder
    // is untouched by it.
    let shares = ana_api.shares(false).await.unwrap();
    ana_api.delete_share(shares[0].id).await.unwrap();
    let before = subtree(&bob.dir, "Team");
    bob.sync();
    assert_eq!(subtree(&bob.dir, "Team"), before);
    let own = bob_api.node_by_path("/Team").await.unwrap().unwrap();
    assert_ne!(own.id, team.id, "Bob's copy is a folder of his own");
    ana.sync();
    assert_eq!(subtree(&ana.dir, "Team").0, before.0);
    assert_eq!(
        ana_api.children(NodeRef::Id(team.id)).await.unwrap().len(),
        bob_api.children(NodeRef::Id(own.id)).await.unwrap().len()
    );
}
