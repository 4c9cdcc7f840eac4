//! Business events measured: the uplift from the history, the last one of
//! the same name, the chart's markers and `nodecast events`.

use crate::fixture::{now, render, stub_state, text};
use chrono::{DateTime, Duration, Utc};
use nodecast::app::{Action, Command, update};
use nodecast::domain::{HourlySeries, Sample, SeriesKind};
use nodecast::forecast::events::{measured_uplift, records};
use nodecast::forecast::features::BusinessEvent;
use nodecast::store::db::Db;
use nodecast::ui::theme::Theme;

fn event(name: &str, start: DateTime<Utc>, hours: i64, uplift: f64) -> BusinessEvent {
    BusinessEvent {
        name: name.into(),
        start,
        end: start + Duration::hours(hours),
        uplift,
    }
}

/// Three weeks of 100 an hour, 150 during [day 8, day 8 + 6 h) and 130
/// during [day 15, day 15 + 6 h).
fn history(start: DateTime<Utc>) -> HourlySeries {
    let values = (0..21 * 24)
        .map(|h| {
            Some(match h {
                h if (8 * 24..8 * 24 + 6).contains(&h) => 150.0,
                h if (15 * 24..15 * 24 + 6).contains(&h) => 130.0,
                _ => 100.0,
            })
        })
        .collect();
    HourlySeries {
        start: Some(start),
        values,
    }
}

#[test]
fn the_uplift_is_the_events_hours_over_the_same_hours_a_week_before() {
    let t0 = DateTime::from_timestamp(1_700_000_000 / 3600 * 3600, 0).expect("t0");
    let h = history(t0);
    let end = t0 + Duration::days(21);
    let first = event("sale", t0 + Duration::days(8), 6, 0.8);
    let second = event("sale", t0 + Duration::days(15), 6, 0.8);
    let u = measured_uplift(&first, &h, end).expect("measured");
    assert!((u - 0.5).abs() < 1e-12, "{u}");
    // The second's baseline holds the first: 130 over 150.
    let u2 = measured_uplift(&second, &h, end).expect("measured");
    assert!((u2 - (130.0 / 150.0 - 1.0)).abs() < 1e-12, "{u2}");
    // Not over yet, or before the history: nothing measured.
    assert_eq!(
        measured_uplift(&second, &h, second.end - Duration::hours(1)),
        None
    );
    let early = event("sale", t0 - Duration::days(3), 6, 0.8);
    assert_eq!(measured_uplift(&early, &h, end), None);
    // A later event of the same name shows what the last measured one brought.
    let next = event("sale", end + Duration::days(2), 6, 0.8);
    let other = event("launch", end + Duration::days(1), 6, 0.3);
    let recs = records(
        &[next.clone(), first.clone(), other, second.clone()],
        Some(&h),
        end,
    );
    let names: Vec<&str> = recs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["sale", "sale", "launch", "sale"], "start order");
    assert_eq!(recs[3].measured_uplift, None);
    let (at, last) = recs[3].last_time.expect("last time");
    assert_eq!(at, second.start);
    assert!((last - u2).abs() < 1e-12);
    assert_eq!(recs[1].last_time.map(|(at, _)| at), Some(first.start));
    assert_eq!(recs[2].last_time, None, "no earlier launch");
    assert_eq!(recs[2].label(), "launch: +30 % expected");
    assert_eq!(recs[0].label(), "sale: +50 % measured");
    assert_eq!(recs[3].label(), "sale: -13 % last time");
}

#[test]
fn the_forecast_chart_marks_an_event_with_what_it_brought_last_time() {
    let mut s = stub_state();
    let t = nodecast::forecast::origin_for(now());
    // prod-web's replayed history holds 14 days: the past promo and the
    // week before it fit.
    s.business_events = vec![
        event("promo", t - Duration::days(3) - Duration::hours(30), 6, 0.5),
        event("promo", t + Duration::hours(10), 6, 0.5),
    ];
    s.now = now();
    let fleet = s.clusters[0].view.clone();
    let fleet = nodecast::snapshot::Fleet {
        clusters: vec![(s.clusters[0].id.clone(), fleet)],
        version: 99,
    };
    update(&mut s, Action::Fleet(std::sync::Arc::new(fleet)));
    update(&mut s, Action::Command(Command::Cluster(1)));
    let recs = &s.clusters[0].events[&SeriesKind::Nodes];
    let past = recs[0]
        .measured_uplift
        .expect("the past promo measured from prod-web's history");
    let screen = text(&render(&s, &Theme::dark(), 120, 40));
    let label = format!("promo: {:+.0} % last time", past * 100.0);
    assert!(screen.contains(&label), "{label}:\n{screen}");
    assert!(screen.contains('▼'), "{screen}");
    insta::assert_snapshot!("forecast_pane_event_marker", screen);
}

#[test]
fn the_events_command_measures_every_cluster_from_the_stored_history() {
    let home = tempfile::tempdir().expect("home");
    let db_path = home.path().join("events.db");
    let t0 = DateTime::from_timestamp(1_700_000_000 / 3600 * 3600, 0).expect("t0");
    {
        let mut db = Db::open(&db_path).expect("db");
        let h = history(t0);
        let samples: Vec<(SeriesKind, Sample)> = h
            .points()
            .map(|(ts, value)| (SeriesKind::CpuRequests, Sample { ts, value }))
            .collect();
        db.insert_samples("prod-web", &samples).expect("samples");
    }
    let cfg = home.path().join("config.toml");
    let start =
        |d: i64| (t0 + Duration::days(d)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::fs::write(
        &cfg,
        format!(
            "[[event]]\nname = \"sale\"\nstart = {}\nend = {}\nuplift = 0.8\n\n[[event]]\nname = \"sale\"\nstart = {}\nend = {}\nuplift = 0.8\n",
            start(8),
            (t0 + Duration::days(8) + Duration::hours(6)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            start(15),
            (t0 + Duration::days(15) + Duration::hours(6)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
    )
    .expect("config");
    let run = |json: bool| {
        let mut args = vec![
            "--config",
            cfg.to_str().expect("utf8"),
            "--db",
            db_path.to_str().expect("utf8"),
            "events",
        ];
        if json {
            args.push("--json");
        }
        std::process::Command::new(env!("CARGO_BIN_EXE_nodecast"))
            .args(&args)
            .env("HOME", home.path())
            .env_remove("KUBECONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .output()
            .expect("run")
    };
    let out = run(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    // The demo fleet's four clusters, two events each; only prod-web has history.
    assert_eq!(rows.len(), 8, "{rows:?}");
    let prod: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["cluster"] == "prod-web").collect();
    assert_eq!(prod.len(), 2);
    assert_eq!(prod[0]["series"], "cpu_requests");
    assert!(
        (prod[0]["measured_uplift"].as_f64().expect("u") - 0.5).abs() < 1e-9,
        "{:?}",
        prod[0]
    );
    assert!(prod[0]["last_time"].is_null());
    assert!(
        (prod[1]["last_time"][1].as_f64().expect("u") - 0.5).abs() < 1e-9,
        "{:?}",
        prod[1]
    );
    let other = rows
        .iter()
        .find(|r| r["cluster"] == "svc-asg")
        .expect("svc-asg");
    assert!(other["measured_uplift"].is_null());
    let out = run(false);
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.contains("EXPECTED") && t.contains("+50 %") && t.contains("+80 %"),
        "{t}"
    );
}
