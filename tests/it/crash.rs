//! kill -9 between an approval's intent and its result, as a process:
//! `nodecast approve` against the real kube-apiserver (the plan) and the
//! AWS emulator (the node group), with a proxy in front of the emulator
//! that holds the UpdateNodegroupConfig call, once before it reaches the
//! emulator and once after. The process is killed while it waits; the
//! next command finds the open intent, reads the live size and records
//! what happened: `failed` (still at the old size), then `applied`.

use crate::peers::{env, kubeconfig, runtime};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::Api;
use kube::api::PostParams;
use nodecast::domain::{Sample, SeriesKind};
use nodecast::store::db::Db;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A proxy to `upstream` that holds every UpdateNodegroupConfig call
/// forever: before forwarding it, or (with `forward`) after, so the write
/// lands and the answer never comes. `held` turns true when one is held.
struct HoldingProxy {
    url: String,
    forward: Arc<AtomicBool>,
    held: Arc<AtomicBool>,
}

fn holding_proxy(upstream: &str) -> HoldingProxy {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let forward = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicBool::new(false));
    let (fw, hd) = (forward.clone(), held.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            let (upstream, fw, hd) = (upstream.clone(), fw.clone(), hd.clone());
            std::thread::spawn(move || {
                // One request per connection: the answer says connection: close.
                if let Some((head, raw)) = crate::fake_http::read_message(&mut client) {
                    let update = head
                        .lines()
                        .next()
                        .is_some_and(|l| l.contains("/update-config"));
                    if update && !fw.load(Ordering::SeqCst) {
                        hd.store(true, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_secs(3600));
                        return;
                    }
                    // One upstream connection per request, closed after it.
                    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
                    let mut req: Vec<u8> = String::from_utf8_lossy(&raw[..end])
                        .lines()
                        .filter(|l| !l.to_lowercase().starts_with("connection:"))
                        .map(|l| format!("{l}\r\n"))
                        .collect::<String>()
                        .into_bytes();
                    req.extend_from_slice(b"connection: close\r\n\r\n");
                    req.extend_from_slice(&raw[end + 4..]);
                    let Ok(mut up) = TcpStream::connect(&upstream) else {
                        return;
                    };
                    if up.write_all(&req).is_err() {
                        return;
                    }
                    let mut resp = Vec::new();
                    if up.read_to_end(&mut resp).is_err() {
                        return;
                    }
                    if update {
                        hd.store(true, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_secs(3600));
                        return;
                    }
                    let _ = client.write_all(&resp);
                }
            });
        }
    });
    HoldingProxy { url, forward, held }
}

/// Two nodes of `crash-general`, both full, and four pods pending for it:
/// the plan proposes a scale-out now.
async fn seed(c: &kube::Client) {
    let pp = PostParams::default();
    let _ = Api::<Namespace>::all(c.clone())
        .create(
            &pp,
            &serde_json::from_value(json!({"metadata": {"name": "crash"}})).expect("ns"),
        )
        .await;
    let nodes = Api::<Node>::all(c.clone());
    for i in 0..2 {
        let name = format!("crash-general-{i}");
        crate::placement::ready_node(&nodes, &name, "crash-general", json!([])).await;
    }
    let pods = Api::<Pod>::namespaced(c.clone(), "crash");
    let container = |cpu: &str| {
        json!([{"name": "app", "image": "x",
        "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}])
    };
    let mut specs: Vec<(String, Value)> = (0..2)
        .map(|i| {
            (
                format!("full-{i}"),
                json!({"nodeName": format!("crash-general-{i}"), "containers": container("3500m")}),
            )
        })
        .collect();
    for i in 0..4 {
        specs.push((
            format!("queued-{i}"),
            json!({"nodeSelector": {"eks.amazonaws.com/nodegroup": "crash-general"},
                   "containers": container("2")}),
        ));
    }
    for (name, spec) in specs {
        let p: Pod =
            serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).expect("pod");
        pods.create(&pp, &p).await.expect("create pod");
    }
}

fn nodecast(dir: &std::path::Path, aws: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nodecast"));
    cmd.arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--db")
        .arg(dir.join("nodecast.db"))
        .args(args)
        .env("HOME", dir)
        .env_remove("KUBECONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env("AWS_ENDPOINT_URL", aws)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    cmd
}

/// Starts `approve ID --yes` through the proxy, waits until the proxy
/// holds its write and the intent is on record, and kills it (SIGKILL).
fn approve_and_kill(dir: &std::path::Path, proxy: &HoldingProxy, id: &str) {
    proxy.held.store(false, Ordering::SeqCst);
    let mut child = nodecast(dir, &proxy.url, &["approve", id, "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start approve");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if proxy.held.load(Ordering::SeqCst) {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("approve ended before its write was held: {status}");
        }
        assert!(Instant::now() < deadline, "approve never reached its write");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    let open = Db::open(&dir.join("nodecast.db"))
        .expect("db")
        .audit_open()
        .expect("open rows");
    assert_eq!(open.len(), 1, "the intent is on record, its result is not");
    assert_eq!(open[0].action_id, id);
}

/// `nodecast audit --json` (straight to the emulator): the open row is
/// reconciled first; returns the row's outcome and detail, and stderr.
fn audit(dir: &std::path::Path, moto: &str, id: &str) -> (String, String, String) {
    let out = nodecast(dir, moto, &["audit", "--json"])
        .output()
        .expect("audit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    let row = rows
        .iter()
        .rev()
        .find(|r| r["action_id"] == id)
        .expect("the approval's row");
    assert!(!row["finished_at"].is_null(), "never open-ended: {row}");
    (
        row["outcome"].as_str().unwrap_or_default().to_string(),
        row["detail"].as_str().unwrap_or_default().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs kube-apiserver, etcd and the AWS emulator (scripts/test.sh starts them)"]
fn a_kill_between_intent_and_result_is_reconciled_at_the_next_start() {
    let moto = env("NODECAST_TEST_AWS_ENDPOINT");
    let eks = runtime().block_on(async {
        seed(&crate::peers::client(&kubeconfig()).await).await;
        crate::live_exec::eks_groups("crash-eks", &[("crash-general", 1, 10, 2)]).await
    });
    let desired = || {
        let (_, _, d) = runtime().block_on(crate::live_exec::scaling(
            &eks,
            "crash-eks",
            "crash-general",
        ));
        Some(d)
    };
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[[cluster]]\nname = \"crash\"\nregion = \"us-east-1\"\nkubeconfig = {:?}\n\
             eks_cluster = \"crash-eks\"\n[cluster.actions]\nmode = \"approve\"\n\
             autoscaler = false\nmax_step = 10\ncooldown_minutes = 0\n",
            kubeconfig().display().to_string()
        ),
    )
    .expect("config");
    // Three days of the cluster's history in its database (the plan needs
    // a forecast): two nodes, their requests, a daily swing.
    {
        let mut db = Db::open(&dir.path().join("nodecast.db")).expect("db");
        let now = chrono::Utc::now();
        let mut samples = Vec::new();
        for h in 1..=72 {
            let ts = now - chrono::Duration::hours(h);
            let swing = (h as f64 * std::f64::consts::TAU / 24.0).sin();
            for (kind, value) in [
                (SeriesKind::Nodes, 2.0),
                (SeriesKind::CpuRequests, 6.0 + swing),
                (SeriesKind::MemRequests, 4.0 + swing),
            ] {
                samples.push((kind, Sample { ts, value }));
            }
        }
        db.insert_samples("crash", &samples).expect("history");
    }
    let out = nodecast(dir.path(), &moto, &["actions", "--json"])
        .output()
        .expect("actions");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    let p = listed
        .iter()
        .find(|p| p["node_group"] == "crash-general" && p["from"] == 2)
        .unwrap_or_else(|| panic!("a scale-out for the pending pods: {listed:?}"));
    let id = p["id"].as_str().expect("id").to_string();
    let to = p["to"].as_i64().expect("to") as i32;
    assert!(to > 2, "{p}");

    let proxy = holding_proxy(&moto);
    // Killed before the write reached AWS: still at 2, the row says failed.
    approve_and_kill(dir.path(), &proxy, &id);
    assert_eq!(desired(), Some(2));
    let (outcome, detail, stderr) = audit(dir.path(), &moto, &id);
    assert_eq!(outcome, "failed", "{detail}");
    assert!(
        detail.contains("not applied, the group is still at 2"),
        "{detail}"
    );
    assert!(stderr.contains("reconciled: failed"), "{stderr}");

    // Killed after the write landed, before its answer: the row says applied.
    proxy.forward.store(true, Ordering::SeqCst);
    approve_and_kill(dir.path(), &proxy, &id);
    assert_eq!(desired(), Some(to));
    let (outcome, detail, _) = audit(dir.path(), &moto, &id);
    assert_eq!(outcome, "applied", "{detail}");
    assert!(
        detail.contains(&format!("the group is at {to}")),
        "{detail}"
    );
}
