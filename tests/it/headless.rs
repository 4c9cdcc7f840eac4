//! The headless commands on the demo: `nodecast audit`, and `actions`,
//! `approve` and `reject` sharing the dashboard's executor.

use crate::exec::{action, at};
use nodecast::domain::ScaleReason;
use nodecast::store::audit::Outcome;
use nodecast::store::db::Db;

#[test]
fn the_audit_command_prints_every_decision_as_json() {
    let home = tempfile::tempdir().expect("home");
    let db_path = home.path().join("audit.db");
    {
        let mut db = Db::open(&db_path).expect("db");
        let a = action("general", 4, 6, ScaleReason::ForecastAbove);
        let row = db
            .audit_decision(
                &a,
                "alice",
                "approve",
                None,
                "SetDesiredCapacity 4 -> 6",
                at(),
            )
            .expect("intent");
        db.audit_outcome(row, Outcome::Applied, "read back", at())
            .expect("outcome");
        let b = action("general", 6, 3, ScaleReason::BandBelow);
        db.audit_decision(
            &b,
            "bob",
            "reject",
            Some(Outcome::Rejected),
            "sale tomorrow",
            at(),
        )
        .expect("reject");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args([
            "audit",
            "--json",
            "--since",
            "48h",
            "--db",
            db_path.to_str().expect("utf8"),
        ])
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["outcome"], "applied");
    assert_eq!(rows[0]["operator"], "alice");
    assert_eq!(rows[0]["from"], 4);
    assert_eq!(rows[1]["decision"], "reject");
    assert_eq!(rows[1]["outcome"], "rejected");
    assert_eq!(rows[1]["detail"], "sale tomorrow");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args(["audit", "--since", "forever"])
        .env("HOME", home.path())
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"));
}

/// Runs nodecast on the demo with a scratch home and database.
pub fn demo_cli(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args(args)
        .args(["--db", home.join("demo.db").to_str().expect("utf8")])
        .args(["--models-dir", home.join("models").to_str().expect("utf8")])
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run")
}

#[test]
fn headless_actions_approve_and_reject_share_the_executor() {
    let home = tempfile::tempdir().expect("home");
    let out = demo_cli(home.path(), &["actions", "--json", "--cluster", "prod-web"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert!(listed.len() >= 2, "prod-web has proposals");
    for p in &listed {
        assert_eq!(p["cluster"], "prod-web");
        assert_eq!(p["writable"], true);
        assert_eq!(p["status"], "proposed");
        assert_eq!(p["id"].as_str().map(str::len), Some(8));
        for key in [
            "node_group",
            "from",
            "to",
            "apply_by",
            "reason",
            "actuator",
            "held",
            "back_at",
        ] {
            assert!(p.get(key).is_some(), "{key}");
        }
    }
    // A scale-in the plan itself undoes says when its group is back up: a
    // later change of the same group, for that hour, to the size before.
    let undone: Vec<&serde_json::Value> =
        listed.iter().filter(|p| !p["back_at"].is_null()).collect();
    assert!(!undone.is_empty(), "prod-web's plan undoes a scale-in");
    for p in &undone {
        assert!(p["to"].as_u64() < p["from"].as_u64(), "{p}");
        assert!(
            listed.iter().any(|q| q["node_group"] == p["node_group"]
                && q["at"] == p["back_at"]
                && q["to"].as_u64() >= p["from"].as_u64()),
            "{p}"
        );
    }
    let text = demo_cli(home.path(), &["actions", "--cluster", "prod-web"]);
    let text = String::from_utf8_lossy(&text.stdout);
    let id = undone[0]["id"].as_str().expect("id");
    assert!(
        text.lines()
            .any(|l| l.starts_with(id) && l.contains("proposed · back up")),
        "{text}"
    );
    let (first, second) = (
        listed[0]["id"].as_str().expect("id").to_string(),
        listed[1]["id"].as_str().expect("id").to_string(),
    );
    // No terminal to ask on and no --yes: nothing applied.
    let out = demo_cli(home.path(), &["approve", &first]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    // --read-only: refused by the executor, exit 3, and a row says so.
    let out = demo_cli(home.path(), &["--read-only", "approve", &first, "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused: read-only"));
    let out = demo_cli(home.path(), &["approve", &first, "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{first} applied")));
    let out = demo_cli(
        home.path(),
        &["reject", &second, "--reason", "sale is over"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = demo_cli(home.path(), &["approve", "deadbeef", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no proposal \"deadbeef\""));
    let out = demo_cli(home.path(), &["audit", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let outcomes: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["action_id"].as_str().unwrap_or(""),
                r["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (first.as_str(), "refused"),
            (first.as_str(), "applied"),
            (second.as_str(), "rejected")
        ]
    );
    let out = demo_cli(home.path(), &["actions", "--json", "--cluster", "prod-web"]);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let status = |id: &str| {
        listed
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["status"].clone())
    };
    assert_eq!(status(&first), Some("applied".into()));
    assert_eq!(status(&second), Some("rejected".into()));
}
