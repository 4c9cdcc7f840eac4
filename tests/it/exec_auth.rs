//! Kubeconfigs whose user is an exec plugin, as `aws eks update-kubeconfig`
//! writes them, against the real kube-apiserver: a script prints an
//! ExecCredential with the API server's token and logs each call with the
//! AWS_PROFILE and AWS_REGION it was given; a short expiry makes nodecast
//! run it again; a missing plugin, one that fails and one that prints
//! garbage each give an error that names the plugin and says why, in
//! `snapshot --json`, without holding up the other cluster.

use crate::peers::kubeconfig;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared kubeconfig with its token user replaced by `command` as an
/// exec plugin (with `env` entries of its own); returns (path, token).
pub fn exec_kubeconfig(dir: &Path, name: &str, command: &str, env: &str) -> (PathBuf, String) {
    let shared = std::fs::read_to_string(kubeconfig()).expect("kubeconfig");
    let token = shared
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .expect("token")
        .to_string();
    let exec = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      \
         command: {command}\n      args: [\"eks\", \"get-token\", \"--cluster-name\", \"prod\"]\n      \
         interactiveMode: Never\n{env}"
    );
    let text = shared.replace(&format!("    token: {token}\n"), &exec);
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write kubeconfig");
    (path, token)
}

/// A plugin that prints the API server's token as a credential that
/// expires 12 s after it is issued (kube-rs fetches a new one when one has
/// under 10 s left).
pub fn expiring_plugin(dir: &Path, name: &str, log: &Path) -> PathBuf {
    let (_, token) = exec_kubeconfig(dir, "probe", "/bin/true", "");
    plugin(
        dir,
        name,
        log,
        &format!(
            "exp=$(date -u -d '+12 seconds' +%Y-%m-%dT%H:%M:%SZ)\n\
             printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\
             \"status\":{{\"token\":\"{token}\",\"expirationTimestamp\":\"%s\"}}}}' \"$exp\""
        ),
    )
}

/// A plugin script: logs "AWS_PROFILE AWS_REGION" to `log`, then `body`.
pub fn plugin(dir: &Path, name: &str, log: &Path, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho \"${{AWS_PROFILE:-none}} ${{AWS_REGION:-none}}\" >> {}\n{body}\n",
            log.display()
        ),
    )
    .expect("plugin");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn snapshot(dir: &Path, config: &str) -> (Vec<Value>, String) {
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, config).expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args([
            "--config",
            cfg.to_str().expect("utf8"),
            "snapshot",
            "--json",
        ])
        .env("HOME", dir)
        .env_remove("KUBECONFIG")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .output()
        .expect("run");
    (
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr))),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
#[ignore = "needs kube-apiserver and etcd (scripts/test.sh starts them)"]
fn exec_plugins_authenticate_get_the_clusters_profile_and_fail_clearly() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let log = d.join("calls.log");
    let good = expiring_plugin(d, "good-plugin", &log);
    let failing = plugin(
        d,
        "failing-plugin",
        &log,
        "echo 'starting' >&2\necho 'An error occurred (ExpiredToken): the security token included in the request is expired' >&2\nexit 255",
    );
    let garbage = plugin(
        d,
        "garbage-plugin",
        &log,
        "echo 'Please log in at https://example.com'",
    );
    let (good_kc, _) = exec_kubeconfig(d, "good.kubeconfig", good.to_str().expect("utf8"), "");
    // The kubeconfig's own env wins over the cluster's profile.
    let (own_env_kc, _) = exec_kubeconfig(
        d,
        "own-env.kubeconfig",
        good.to_str().expect("utf8"),
        "      env:\n      - name: AWS_PROFILE\n        value: from-kubeconfig\n",
    );
    let (missing_kc, _) = exec_kubeconfig(
        d,
        "missing.kubeconfig",
        "/nonexistent/aws-iam-authenticator",
        "",
    );
    let (failing_kc, _) =
        exec_kubeconfig(d, "failing.kubeconfig", failing.to_str().expect("utf8"), "");
    let (garbage_kc, _) =
        exec_kubeconfig(d, "garbage.kubeconfig", garbage.to_str().expect("utf8"), "");
    let cluster = |name: &str, kc: &Path, extra: &str| {
        format!(
            "[[cluster]]\nname = \"{name}\"\nkubeconfig = {:?}\n{extra}",
            kc.display().to_string()
        )
    };
    let config = [
        cluster("good", &good_kc, "profile = \"ops\"\n"),
        cluster("own-env", &own_env_kc, "profile = \"ops\"\n"),
        cluster("missing", &missing_kc, ""),
        cluster("failing", &failing_kc, ""),
        cluster("garbage", &garbage_kc, ""),
    ]
    .join("");
    let started = std::time::Instant::now();
    let (v, stderr) = snapshot(d, &config);
    assert!(
        started.elapsed().as_secs() < 30,
        "broken plugins hold nobody up"
    );
    let by_name = |n: &str| {
        v.iter()
            .find(|c| c["cluster"] == n)
            .unwrap_or_else(|| panic!("{n}: {v:?} {stderr}"))
    };
    assert_eq!(by_name("good")["sources"]["kube"]["status"], "ok", "{v:?}");
    assert!(by_name("good")["nodes"].as_u64().is_some());
    assert_eq!(by_name("own-env")["sources"]["kube"]["status"], "ok");
    let message = |n: &str| {
        by_name(n)["sources"]["kube"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let m = message("missing");
    assert!(m.contains("could not start") && m.contains("PATH"), "{m}");
    let m = message("failing");
    assert!(
        m.contains("failing-plugin") && m.contains("ExpiredToken") && !m.contains("starting"),
        "{m}"
    );
    let m = message("garbage");
    assert!(m.contains("printed no ExecCredential"), "{m}");
    let calls = std::fs::read_to_string(&log).expect("log");
    assert!(
        calls.lines().any(|l| l == "ops none"),
        "the cluster's profile reaches the plugin: {calls}"
    );
    assert!(
        calls.lines().any(|l| l == "from-kubeconfig none"),
        "the kubeconfig's env wins: {calls}"
    );

    // The token expires: the source runs the plugin again and stays ok.
    let rt = crate::peers::runtime();
    rt.block_on(async {
        use nodecast::sources::Source;
        std::fs::write(&log, "").expect("clear");
        let mut src = nodecast::sources::kube::KubeSource::new(
            nodecast::sources::kube::KubeTarget {
                kubeconfig: Some(good_kc.clone()),
                context: None,
                plugin_env: nodecast::setup::plugin_env(Some("ops"), "eu-west-1"),
            },
            std::time::Duration::from_secs(1),
        );
        let now = chrono::Utc::now();
        src.backfill(now).await.expect("connect");
        src.poll(now).await.expect("first poll");
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        src.poll(chrono::Utc::now())
            .await
            .expect("a poll after the token expired");
        let calls = std::fs::read_to_string(&log).expect("log");
        assert!(calls.lines().count() >= 2, "fetched again: {calls}");
        assert!(calls.lines().all(|l| l == "ops eu-west-1"), "{calls}");
    });
}

#[test]
fn a_failed_plugins_command_is_shown_as_typed_without_its_environment() {
    use nodecast::sources::kube::plugin_command;
    let debug = r#"KUBERNETES_EXEC_INFO="{\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}" AWS_PROFILE="ops" "/usr/local/bin/aws" "eks" "get-token" "--cluster-name" "prod""#;
    assert_eq!(
        plugin_command(debug),
        "aws eks get-token --cluster-name prod"
    );
    assert_eq!(
        plugin_command(r#""aws-iam-authenticator" "token" "-i" "my cluster""#),
        "aws-iam-authenticator token -i my cluster"
    );
}
