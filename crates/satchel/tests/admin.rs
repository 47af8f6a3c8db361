//! `satchel admin user …` on the data folder, with registration closed.

use std::process::Command;

fn satchel(data: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .arg("admin")
        .arg("--data")
        .arg(data)
        .args(args)
        .env("SATCHEL_LOG", "warn")
        .env_remove("SATCHEL_DATABASE")
        .output()
        .expect("satchel runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn admins_manage_accounts_without_the_server() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let (ok, out) = satchel(
        dir,
        &[
            "user",
            "add",
            "ana@example.org",
            "--password",
            "correct horse battery",
            "--quota",
            "5000",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = satchel(
        dir,
        &[
            "user",
            "add",
            "ANA@example.org",
            "--password",
            "correct horse battery",
        ],
    );
    assert!(
        !ok,
        "a second account with the same email is refused: {out}"
    );
    let (ok, out) = satchel(
        dir,
        &["user", "add", "bo@example.org", "--password", "short"],
    );
    assert!(!ok && out.contains("at least 8"), "{out}");

    let (ok, out) = satchel(dir, &["user", "list", "--json"]);
    assert!(ok, "{out}");
    let users: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["quota_bytes"], 5000);

    assert!(satchel(dir, &["user", "set-quota", "ana@example.org", "unlimited"]).0);
    assert!(satchel(dir, &["user", "disable", "ana@example.org"]).0);
    let (_, out) = satchel(dir, &["user", "list", "--json"]);
    let user: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(user["disabled"], true);
    assert!(user["quota_bytes"].is_null());
    assert!(satchel(dir, &["user", "disable", "ana@example.org", "--enable"]).0);
    assert!(
        satchel(
            dir,
            &[
                "user",
                "reset-password",
                "ana@example.org",
                "--password",
                "a new passphrase"
            ]
        )
        .0
    );
    // The first account is an admin; a second one is not until made one, and can be unmade.
    assert_eq!(users[0]["is_admin"], true);
    let (ok, out) = satchel(
        dir,
        &[
            "user",
            "add",
            "cy@example.org",
            "--password",
            "correct horse battery",
        ],
    );
    assert!(ok, "{out}");
    let admin_of = |email: &str| {
        let (_, out) = satchel(dir, &["user", "list", "--json"]);
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|u| u["email"] == email)
            .map(|u| u["is_admin"].clone())
    };
    assert_eq!(admin_of("cy@example.org"), Some(serde_json::json!(false)));
    assert!(satchel(dir, &["user", "set-admin", "cy@example.org"]).0);
    assert_eq!(admin_of("cy@example.org"), Some(serde_json::json!(true)));
    assert!(satchel(dir, &["user", "set-admin", "cy@example.org", "--revoke"]).0);
    assert_eq!(admin_of("cy@example.org"), Some(serde_json::json!(false)));
    let (ok, out) = satchel(dir, &["user", "set-admin", "nobody@example.org"]);
    assert!(!ok && out.contains("no account"), "{out}");

    let (ok, out) = satchel(dir, &["user", "set-quota", "nobody@example.org", "10"]);
    assert!(!ok && out.contains("no account"), "{out}");
}
