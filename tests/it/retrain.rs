//! Champion and challenger: when a challenger is due, how it is judged on
//! the held-back window, model versions in the manifest (promote,
//! rollback, audit rows), a pinned version serving forecasts, and
//! `nodecast replay` (scores agree with `backtest` on the protocol's
//! origins; promotions carry the scores that justified them).

use crate::fixture::{data_file, run_nodecast};
use crate::headless::demo_cli;
use chrono::{DateTime, Duration, TimeZone, Utc};
use nodecast::domain::{HorizonMix, HourlySeries, SeriesKind};
use nodecast::forecast::Forecaster;
use nodecast::forecast::champion::{
    ClusterModels, Contest, HELD_BACK_HOURS, SeriesModels, Trigger, contest, due,
};
use nodecast::forecast::features::Calendar;
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::forecast::persist::{ModelVersion, Pin, VersionStatus};
use nodecast::store::models::{ModelDir, read_manifest};
use std::collections::BTreeMap;
use std::sync::Arc;

fn t(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0)
        .single()
        .expect("time")
}

#[test]
fn a_challenger_is_due_daily_or_on_drift_but_not_twice_in_a_contest_step() {
    let now = t(20, 12);
    let schedule = Some(Trigger::Schedule { every_hours: 24 });
    assert_eq!(due(None, now, 24, None, 1.5), schedule);
    assert_eq!(
        due(Some(now - Duration::hours(23)), now, 24, None, 1.5),
        None
    );
    assert_eq!(
        due(Some(now - Duration::hours(24)), now, 24, None, 1.5),
        schedule
    );
    // Drift: the last 24 h err more than 1.5x the 30-day level.
    let drift = due(
        Some(now - Duration::hours(7)),
        now,
        24,
        Some((8.0, 5.0)),
        1.5,
    );
    assert_eq!(
        drift,
        Some(Trigger::Drift {
            recent_mape: 8.0,
            level_mape: 5.0
        })
    );
    assert_eq!(
        due(
            Some(now - Duration::hours(7)),
            now,
            24,
            Some((7.4, 5.0)),
            1.5
        ),
        None
    );
    // Not again within a contest step of the last one.
    assert_eq!(
        due(
            Some(now - Duration::hours(2)),
            now,
            24,
            Some((8.0, 5.0)),
            1.5
        ),
        None
    );
}

fn judged(champion: Option<f64>, challenger: Option<f64>) -> Contest {
    Contest {
        challenger: Pin::default(),
        from: t(20, 0),
        to: t(22, 0),
        champion_mape: champion,
        challenger_mape: challenger,
        scored: 10,
        weights: Vec::new(),
    }
}

#[test]
fn only_a_challenger_that_scores_better_is_promoted() {
    assert!(judged(Some(2.0), Some(1.9)).promote());
    assert!(!judged(Some(2.0), Some(2.0)).promote());
    assert!(!judged(Some(2.0), Some(2.1)).promote());
    assert!(!judged(Some(2.0), None).promote());
    assert!(judged(None, Some(3.0)).promote());
}

fn pin(through: DateTime<Utc>, key: u64) -> Pin {
    Pin {
        through: through.timestamp() / 3600,
        keys: BTreeMap::from([("forest".to_string(), key)]),
    }
}

fn schedule() -> Trigger {
    Trigger::Schedule { every_hours: 24 }
}

/// Three contests of prod-web's nodes: v1 beats the weekly models, v2
/// beats v1, v3 loses to v2.
fn three_versions(models: &ModelDir) -> [ModelVersion; 3] {
    let c1 = Contest {
        challenger: pin(t(26, 6), 1),
        ..judged(Some(1.8), Some(1.6))
    };
    let c2 = Contest {
        challenger: pin(t(28, 6), 2),
        weights: vec![
            HorizonMix {
                horizon: 1,
                members: vec![("ets".into(), 0.6), ("forest".into(), 0.4)],
                median_share: 0.0,
            },
            HorizonMix {
                horizon: 24,
                members: vec![("seasonal168".into(), 1.0)],
                median_share: 0.5,
            },
        ],
        ..judged(Some(1.5), Some(1.2))
    };
    let c3 = Contest {
        challenger: pin(t(29, 6), 3),
        ..judged(Some(1.7), Some(1.9))
    };
    let mut out = Vec::new();
    for (c, at) in [
        (c1, t(28, 6)),
        (c2, t(30, 6)),
        (
            c3,
            Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0)
                .single()
                .expect("t"),
        ),
    ] {
        let (v, _) = models
            .record_contest("prod-web", "nodes", &c, &schedule(), at)
            .expect("record");
        out.push(v);
    }
    out.try_into().expect("three")
}

/// prod-web's nodes: v2 serves, v3 was rejected (for the Accuracy pane's snapshot).
pub fn versions_of_prod_web() -> ClusterModels {
    let dir = tempfile::tempdir().expect("dir");
    let models = ModelDir::open(dir.path(), vec![]).expect("open");
    let [_, _, v3] = three_versions(&models);
    BTreeMap::from([(
        SeriesKind::Nodes,
        SeriesModels {
            champion: models.champion("prod-web", "nodes"),
            latest: Some(v3),
        },
    )])
}

#[test]
fn versions_are_recorded_promoted_and_rolled_back_in_the_manifest() {
    let dir = tempfile::tempdir().expect("dir");
    let models = ModelDir::open(dir.path(), vec![]).expect("open");
    let [v1, v2, v3] = three_versions(&models);
    // Each as recorded: v1 and v2 won their contests, v3 lost.
    assert_eq!(
        (v1.version, v1.against, v1.status),
        (1, None, VersionStatus::Champion)
    );
    assert_eq!(v1.trained_through, t(26, 6));
    assert_eq!(v1.trigger, "schedule (every 24 h)");
    assert_eq!(
        (v2.version, v2.against, v2.status),
        (2, Some(1), VersionStatus::Champion)
    );
    assert_eq!(
        (v3.version, v3.against, v3.status),
        (3, Some(2), VersionStatus::Rejected)
    );
    assert_eq!(v3.promoted_at, None);
    assert_eq!(
        models.champion("prod-web", "nodes").map(|v| v.version),
        Some(2)
    );
    // Another process reads the same manifest.
    let m = read_manifest(dir.path()).expect("manifest");
    let st: Vec<(u32, VersionStatus)> = m.versions.iter().map(|v| (v.version, v.status)).collect();
    assert_eq!(
        st,
        [
            (1, VersionStatus::Retired),
            (2, VersionStatus::Champion),
            (3, VersionStatus::Rejected)
        ]
    );
    // The operator promotes the rejected v3; rollback puts v2 back.
    let p = models.promote(3, t(30, 9)).expect("promote");
    assert_eq!((p.from, p.to.version), (Some(2), 3));
    let r = models.rollback(None, None, t(30, 10)).expect("rollback");
    assert_eq!((r.from, r.to.version), (Some(3), 2));
    let st: Vec<VersionStatus> = models
        .manifest()
        .versions
        .iter()
        .map(|v| v.status)
        .collect();
    assert_eq!(
        st,
        [
            VersionStatus::Retired,
            VersionStatus::Champion,
            VersionStatus::RolledBack
        ]
    );
    // Errors say what is wrong.
    let e = models.promote(9, t(30, 11)).expect_err("no v9").to_string();
    assert!(e.contains("no model version 9"), "{e}");
    let e = models
        .promote(2, t(30, 11))
        .expect_err("serving")
        .to_string();
    assert!(e.contains("already serves nodes of prod-web"), "{e}");
    let e = models
        .rollback(Some("other"), None, t(30, 11))
        .expect_err("none")
        .to_string();
    assert!(e.contains("no promoted model version"), "{e}");
}

/// Daily cycles with a weekend dip and a level that grows through the series.
fn cluster(days: usize) -> BTreeMap<SeriesKind, HourlySeries> {
    let values = (0..days * 24)
        .map(|h| {
            let day = (h % 24) as f64 / 24.0 * std::f64::consts::TAU;
            let weekend = if (h / 24) % 7 >= 5 { -15.0 } else { 0.0 };
            Some(100.0 + h as f64 * 0.05 + 25.0 * day.sin() + weekend + crate::fixture::noise(h))
        })
        .collect();
    BTreeMap::from([(
        SeriesKind::CpuRequests,
        HourlySeries {
            start: Some(t(1, 0) - Duration::days(10)),
            values,
        },
    )])
}

#[test]
fn a_contest_trains_a_challenger_before_the_window_and_a_pinned_version_serves() {
    let dir = tempfile::tempdir().expect("dir");
    let models = Arc::new(ModelDir::open(dir.path(), vec![]).expect("open"));
    let f = EnsembleForecaster::with_models(&Calendar::default(), models.clone());
    let c = cluster(17);
    let end = c[&SeriesKind::CpuRequests].end().expect("end");
    let k = SeriesKind::CpuRequests;
    // Mid-hour, as the live refresh runs, with the hour in progress in the
    // history: the window ends where that hour starts.
    let now = end - Duration::minutes(23);
    let end = end - Duration::hours(1);
    let done = contest(&f, k, &c, None, now).expect("contest");
    assert_eq!(done.to, end);
    assert_eq!(done.from, end - Duration::hours(HELD_BACK_HOURS));
    assert_eq!(done.challenger.through, done.from.timestamp() / 3600);
    let members: Vec<&str> = done.challenger.keys.keys().map(String::as_str).collect();
    assert_eq!(members, ["boost", "forest", "lstm"]);
    // 8 origins, each scored on the hours before the window's end.
    assert_eq!(done.scored, (0..8).map(|i| 48 - 6 * i).sum::<usize>());
    assert!(done.champion_mape.is_some_and(|m| m > 0.0) && done.challenger_mape.is_some());
    // The challenger's models are files in the folder, trained on the
    // hours before the window.
    let m = read_manifest(dir.path()).expect("manifest");
    for key in done.challenger.keys.values() {
        let e = m
            .models
            .values()
            .find(|e| e.data_hash == format!("{key:016x}"))
            .expect("a manifest entry per model");
        assert_eq!(e.history_hours, 17 * 24 - 1 - 48);
    }
    // Pinned, the forecast at the end is served by the challenger's models
    // (their validation scores land on those files); unpinned it is not.
    let pinned = f
        .forecast_pinned(k, &c, end, 48, Some(&done.challenger))
        .expect("pinned");
    let weekly = f.forecast_pinned(k, &c, end, 48, None).expect("weekly");
    assert_ne!(pinned.points, weekly.points);
    // The version keeps the ensemble's weights it serves with there, by
    // horizon, each summing to 1.
    assert_eq!(done.weights, pinned.mix);
    let horizons: Vec<usize> = done.weights.iter().map(|m| m.horizon).collect();
    assert_eq!(horizons, [1, 6, 24, 48]);
    for m in &done.weights {
        let sum: f64 = m.members.iter().map(|(_, w)| w).sum();
        assert!((sum - 1.0).abs() < 1e-9, "{m:?}");
    }
    let m = read_manifest(dir.path()).expect("manifest");
    let forest = format!("forest-{:016x}.json", done.challenger.keys["forest"]);
    assert!(!m.models[&forest].validation_smape.is_empty(), "{forest}");
    // Too little history: no contest.
    assert!(contest(&f, k, &cluster(15), None, end).is_none());
}

/// The first `hours` hours of a shipped series as a CSV file.
fn head_csv(name: &str, hours: i64, dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(data_file(name)).expect("read");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let rows: Vec<&str> = lines.collect();
    let first =
        nodecast::series_csv::parse_timestamp(rows[0].split(',').next().expect("ts")).expect("ts");
    let kept: Vec<&str> = rows
        .into_iter()
        .filter(|r| {
            let ts = nodecast::series_csv::parse_timestamp(r.split(',').next().unwrap_or(""));
            ts.is_some_and(|ts| ts < first + Duration::hours(hours))
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(&path, format!("{header}\n{}\n", kept.join("\n"))).expect("write");
    path.display().to_string()
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = run_nodecast(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn replay_scores_agree_with_backtest_on_the_protocol_origins() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = head_csv("azure-v2-cpu.csv", 300, dir.path());
    let b = json(&["backtest", "--input", &csv, "--json"]);
    let r = json(&["replay", "--input", &csv, "--retrain", "weekly", "--json"]);
    assert_eq!(b["hours"], 300);
    // From the protocol's first origin (180) to the end.
    assert_eq!(r["hours"], 120);
    assert_eq!(r["retrain"], "weekly");
    for lead in ["1", "6", "12", "24", "48"] {
        let (p, e) = (&r["protocol"][lead], &b["models"]["ensemble"][lead]);
        assert_eq!(p["n"], e["n"], "lead {lead}");
        for (ours, theirs) in [("mape", "mape"), ("coverage80", "coverage80")] {
            let (a, z) = (
                p[ours].as_f64().expect("replay"),
                e[theirs].as_f64().expect("backtest"),
            );
            assert!(
                (a - z).abs() < 1e-9,
                "lead {lead} {ours}: replay {a} backtest {z}"
            );
        }
        // Every hourly forecast is scored, not only the protocol's.
        assert!(
            r["scores"][lead]["n"].as_u64() > p["n"].as_u64(),
            "lead {lead}"
        );
    }
    let realized = r["sizing"]["realized"].as_f64().expect("sizing");
    assert!((0.0..0.2).contains(&realized), "{realized}");
}

#[test]
fn replay_trains_challengers_and_lists_promotions_with_their_scores() {
    let r = json(&[
        "replay",
        "--input",
        &data_file("azure-v2-cpu.csv"),
        "--hours",
        "30",
        "--json",
    ]);
    assert_eq!(r["retrain"], "champion");
    // The first contest is at the first hour (the schedule has no earlier
    // one); the next a day later.
    assert_eq!(r["contests"], 2);
    let log: Vec<&str> = r["log"]
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    assert_eq!(log.len(), 2);
    assert!(
        log[0].contains("v1 (schedule (every 24 h))") && log[0].contains("weekly models"),
        "{log:?}"
    );
    for p in r["promotions"].as_array().expect("promotions") {
        let (c, n) = (p["champion_score"].as_f64(), p["challenger_score"].as_f64());
        assert!(n.is_some_and(|n| c.is_none_or(|c| n < c)), "{p}");
        assert!(
            p["model"].as_str().is_some_and(|m| m.starts_with('v')),
            "{p}"
        );
        assert!(log.iter().any(
            |l| l.contains(&format!("{} (", p["model"].as_str().unwrap_or("?")))
                && l.contains("promoted over")
        ));
    }
    let rejected = log
        .iter()
        .filter(|l| l.contains("rejected against"))
        .count();
    assert_eq!(
        rejected + r["promotions"].as_array().map_or(0, |p| p.len()),
        2
    );
}

#[test]
fn models_command_lists_promotes_and_rolls_back_with_audit_rows() {
    let home = tempfile::tempdir().expect("home");
    let models = ModelDir::open(&home.path().join("models"), vec![]).expect("open");
    three_versions(&models);
    drop(models);
    let out = demo_cli(home.path(), &["models", "--json"]);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let st: Vec<(u64, &str)> = listed
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap_or(0),
                v["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(st, [(3, "rejected"), (2, "champion"), (1, "retired")]);
    let table = demo_cli(home.path(), &["models"]);
    let table = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(
        table.contains("VER") && table.contains("  v2 prod-web"),
        "{table}"
    );
    // The ensemble weights each version was judged with, under its row.
    assert!(
        table
            .contains("\n     weights 1 h ets .60 forest .40 │ 24 h (½ median) seasonal168 1.00\n"),
        "{table}"
    );
    assert_eq!(
        listed[1]["weights"][0],
        serde_json::json!({"horizon": 1, "members": [["ets", 0.6], ["forest", 0.4]], "median_share": 0.0})
    );
    let out = demo_cli(home.path(), &["models", "promote", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("prod-web nodes: v3 serves now (was v2)")
    );
    let out = demo_cli(home.path(), &["models", "rollback", "--series", "nodes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = demo_cli(home.path(), &["models", "promote", "7"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no model version 7"));
    let out = demo_cli(home.path(), &["audit", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let audit: Vec<(&str, &str, u64, u64, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["node_group"].as_str().unwrap_or(""),
                r["decision"].as_str().unwrap_or(""),
                r["from"].as_u64().unwrap_or(99),
                r["to"].as_u64().unwrap_or(99),
                r["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        audit,
        [
            ("model:nodes", "promote", 2, 3, "applied"),
            ("model:nodes", "rollback", 3, 2, "applied")
        ]
    );
}

#[test]
fn replay_table_lists_lead_times_in_order() {
    let out = run_nodecast(&[
        "replay",
        "--input",
        &data_file("azure-v2-cpu.csv"),
        "--hours",
        "2",
        "--retrain",
        "weekly",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8_lossy(&out.stdout);
    let leads: Vec<&str> = t
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.ends_with('h') && w[..w.len() - 1].parse::<u32>().is_ok())
        .collect();
    assert_eq!(leads, ["1h", "6h", "12h", "24h", "48h"], "{t}");
    assert!(
        t.contains("2 hours replayed") && t.contains("0 challengers"),
        "{t}"
    );
}

#[test]
fn a_model_mix_saved_before_the_median_share_still_reads() {
    // Versions saved before the share was recorded carry no such field:
    // they read as the weighted mean alone, and say so.
    let old: HorizonMix =
        serde_json::from_str(r#"{"horizon": 24, "members": [["ets", 0.6], ["forest", 0.4]]}"#)
            .expect("an old mix reads");
    assert_eq!(old.median_share, 0.0);
    assert_eq!(old.describe(), "24 h ets .60 forest .40");
    let now = HorizonMix {
        median_share: 0.25,
        ..old
    };
    assert_eq!(now.describe(), "24 h (.25 median) ets .60 forest .40");
}
