//! `nodecast backtest` and `nodecast forecast` as a user runs them.

use crate::fixture::{data_file as data, run_nodecast as nodecast};
use std::process::Command;

#[test]
fn backtest_json_has_the_baseline_keys() {
    let out = nodecast(&[
        "backtest",
        "--input",
        &data("alibaba-2018-cpu.csv"),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["series"], "alibaba-2018-cpu.csv");
    assert_eq!(v["hours"], 187);
    assert_eq!(v["origins"], 5);
    assert_eq!(v["first_origin"], 115);
    assert!(v["seconds"].is_number());
    for m in ["ensemble", "mstl", "theta", "ets", "seasonal24", "naive"] {
        for h in ["1", "6", "12", "24", "48"] {
            let s = &v["models"][m][h];
            assert!(s["mape"].as_f64().is_some_and(|x| x > 0.0), "{m} {h}");
            assert!(s["smape"].is_number() && s["mase"].is_number() && s["coverage80"].is_number());
            assert_eq!(s["n"], 5);
        }
    }
    // A member is reported only where it forecasts: the LSTM serves 1-6 h,
    // from the origins with its 5 days of history (not the first, 115).
    let lstm = v["models"]["lstm"].as_object().expect("lstm");
    let keys: Vec<&str> = lstm.keys().map(String::as_str).collect();
    assert_eq!(keys, ["1", "6"]);
    assert_eq!(lstm["1"]["n"], 4);
    assert_ne!(lstm["6"]["mape"], v["models"]["ensemble"]["6"]["mape"]);
}

#[test]
fn backtest_table_shows_the_best_baseline_and_only_asked_horizons() {
    let dir = tempfile::tempdir().expect("dir");
    let b = dir.path().join("b.json");
    std::fs::write(&b, r#"[{"series": "alibaba-2018-cpu.csv", "best_mape": {"6": {"model": "AutoTheta", "mape": 12.6}}}]"#).expect("w");
    let out = nodecast(&[
        "backtest",
        "--input",
        &data("alibaba-2018-cpu.csv"),
        "--horizons",
        "6",
        "--models",
        "theta,mstl",
        "--baseline",
        b.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.contains("horizon 6 h") && t.contains("AutoTheta MAPE 12.60"),
        "{t}"
    );
    assert!(
        !t.contains("horizon 1 h") && !t.contains("seasonal24"),
        "{t}"
    );
}

#[test]
fn backtest_errors_name_the_line_or_the_problem() {
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "timestamp,value\n2020-01-01T00:00:00Z,1\n2020-01-01T01:00:00Z,x\n",
    )
    .expect("w");
    let out = nodecast(&["backtest", "--input", bad.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.csv line 3"));
    let short = dir.path().join("short.csv");
    let rows: String = (0..40)
        .map(|h| format!("2020-01-01T00:00:00Z,{h}\n").replace("T00", &format!("T{:02}", h % 24)))
        .collect();
    std::fs::write(&short, format!("timestamp,value\n{rows}")).expect("w");
    let out = nodecast(&["backtest", "--input", short.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 96 hours"));
    let out = nodecast(&[
        "backtest",
        "--input",
        &data("alibaba-2018-cpu.csv"),
        "--models",
        "prophet",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown model \"prophet\""));
    let out = nodecast(&[
        "backtest",
        "--input",
        &data("alibaba-2018-cpu.csv"),
        "--horizons",
        "1,72",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--horizons"));
}

#[test]
fn forecast_prints_hourly_bands_from_the_end_of_the_file() {
    let out = nodecast(&[
        "forecast",
        "--input",
        &data("nab-asg-cpu.csv"),
        "--hours",
        "12",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = v.as_array().expect("list");
    assert_eq!(rows.len(), 12);
    // The file ends at 2014-07-15T17:29: the forecast starts at the next hour.
    assert_eq!(rows[0]["timestamp"], "2014-07-15T18:00:00Z");
    for r in rows {
        let (a, b, c) = (
            r["p10"].as_f64().expect("p10"),
            r["p50"].as_f64().expect("p50"),
            r["p90"].as_f64().expect("p90"),
        );
        assert!(a <= b && b <= c);
    }
}

#[test]
fn train_loads_the_shipped_demo_models_into_an_empty_models_folder() {
    let home = tempfile::tempdir().expect("home");
    let models = home.path().join("models");
    let out = Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args(["train", "--models-dir", models.to_str().expect("utf8")])
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One line per cluster and series, then the models folder's count.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4 * 3 + 1, "{stdout}");
    assert!(lines[0].starts_with("prod-web") && lines[0].contains("nodes"));
    assert!(
        lines[0].contains("weights from 28 validation origins"),
        "{stdout}"
    );
    let last = lines[12];
    assert!(last.ends_with("(0 trained now)"), "nothing trained: {last}");
    assert!(last.contains(&models.display().to_string()));
    let manifest = nodecast::store::models::read_manifest(&models).expect("manifest");
    assert!(manifest.models.len() > 20);
    for name in manifest.models.keys() {
        assert!(models.join(name).exists(), "{name} copied in");
    }
}

/// `backtest --json --dump-members` of a shipped series into `dir`: the
/// dump's path, the report's path and the dump.
fn dumped(dir: &std::path::Path, series: &str) -> (String, String, serde_json::Value) {
    let dump = dir.join(format!("{series}.members.json"));
    let report = dir.join(format!("{series}.json"));
    let out = nodecast(&[
        "backtest",
        "--input",
        &data(series),
        "--json",
        "--dump-members",
        dump.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&report, &out.stdout).expect("write report");
    let d = serde_json::from_str(&std::fs::read_to_string(&dump).expect("dump")).expect("json");
    let path = |p: std::path::PathBuf| p.to_str().expect("utf8").to_string();
    (path(dump), path(report), d)
}

/// `scripts/recombine.py DUMP --check REPORT` (and more arguments).
fn recombined(dump: &str, args: &[&str]) -> std::process::Output {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/recombine.py");
    Command::new("python3")
        .arg(script)
        .arg(dump)
        .args(args)
        .output()
        .expect("python3 runs scripts/recombine.py")
}

/// `recombine.py --check` gives the backtest's ensemble MAPE exactly, and
/// `other` settings give other figures.
fn recombines_exactly_but_not_with(dump: &str, report: &str, other: &[&str]) {
    let check = recombined(dump, &["--check", report]);
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let changed = recombined(dump, other);
    assert!(changed.status.success());
    assert_ne!(
        String::from_utf8_lossy(&changed.stdout),
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn member_dump_recombines_offline_to_the_backtests_ensemble() {
    let dir = tempfile::tempdir().expect("dir");
    let (dump, report, d) = dumped(dir.path(), "azure-v2-mem.csv");
    assert_eq!(d["series"], "azure-v2-mem.csv");
    let y: Vec<f64> = d["y"]
        .as_array()
        .expect("y")
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    assert_eq!(y.len(), 720);
    assert_eq!(d["origins"].as_array().expect("origins").len(), 41);
    let names = d["members"].as_array().expect("members");
    let naive = names.iter().position(|n| n == "naive").expect("naive");
    let mstl = names.iter().position(|n| n == "mstl").expect("mstl");
    let daytype = names
        .iter()
        .position(|n| n == "theta_daytype")
        .expect("theta_daytype");
    assert_eq!(d["tracks_level"][mstl], true);
    assert_eq!(d["tracks_level"][naive], false);
    // theta_daytype holds part of the trackers' share but not the first hours.
    assert_eq!(d["tracks_level"][daytype], true);
    assert_eq!(d["first_hours"][daytype], false);
    assert_eq!(d["first_hours"][mstl], true);
    // Every test origin is there, and naive's forecast is the hour before it.
    let points = d["points"].as_array().expect("points");
    for o in d["origins"].as_array().expect("origins") {
        let o = o.as_u64().expect("origin") as usize;
        let p = points
            .iter()
            .find(|p| p[0].as_u64() == Some(o as u64))
            .expect("test origin dumped");
        assert_eq!(p[1][naive][47].as_f64(), Some(y[o - 1]), "origin {o}");
    }
    // The offline recombination reproduces the product's ensemble MAPE exactly
    // (on a series with two weekends, where theta_daytype forecasts), and
    // another setting gives other figures.
    recombines_exactly_but_not_with(&dump, &report, &["--top-k", "1"]);
}

#[test]
fn member_dump_recombines_the_rule_after_a_burst() {
    use nodecast::forecast::selection::BURST_HOURS;
    // nab-asg-cpu has test origins that end in a burst: the dump says
    // which, and the level median serves past the first hours there.
    let dir = tempfile::tempdir().expect("dir");
    let (dump, report, d) = dumped(dir.path(), "nab-asg-cpu.csv");
    let runs = d["runs_in_progress"].as_array().expect("runs_in_progress");
    assert_eq!(runs.len(), d["origins"].as_array().expect("origins").len());
    let bursts = runs
        .iter()
        .filter(|r| (1..=BURST_HOURS as u64).contains(&r.as_u64().expect("hours")))
        .count();
    assert!(bursts > 0, "{runs:?}");
    let names = d["members"].as_array().expect("members");
    let level = names
        .iter()
        .position(|n| n == "level_median")
        .expect("level_median");
    assert_eq!(d["after_a_burst"][level], true);
    // Without the rule the figures differ.
    recombines_exactly_but_not_with(&dump, &report, &["--burst-hours", "0"]);
}
