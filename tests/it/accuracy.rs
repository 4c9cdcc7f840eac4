//! Keeping score: the forecast ledger (stored, scored against the hour's
//! mean, folded past its retention), the record the Accuracy pane shows,
//! and the pane itself.

use crate::fixture::{now, render, stub_state, text};
use chrono::{DateTime, Duration, Utc};
use nodecast::app::{Action, Command, update};
use nodecast::domain::{ClusterForecast, Forecast, ForecastPoint, HorizonMix, Sample, SeriesKind};
use nodecast::forecast::accuracy::{
    GroupRow, LedgerRow, Score, fleet_line, rows_of, serving_member, summarize,
};
use nodecast::forecast::horizon::STEP;
use nodecast::forecast::nodes::PerUnit;
use nodecast::forecast::origin_for;
use nodecast::store::db::Db;
use nodecast::ui::theme::Theme;

fn row(lead: u32, target: DateTime<Utc>, p50: f64, actual: Option<f64>) -> LedgerRow {
    LedgerRow {
        series: SeriesKind::Nodes,
        model: "m".into(),
        member: if lead < 12 {
            "naive".into()
        } else {
            "theta".into()
        },
        issued_at: target - Duration::hours(lead as i64 - 1),
        target,
        lead,
        p10: p50 * 0.9,
        p50,
        p90: p50 * 1.1,
        actual,
        node_group: String::new(),
    }
}

#[test]
fn scores_by_lead_and_window_are_mape_bias_and_band_coverage() {
    let now = now();
    // Lead 6: actual 100 every hour of the last 3 days; p50 110 (inside
    // the band, +10 %) in the last day, 80 before (outside, -20 %).
    let mut rows = Vec::new();
    for h in 1..=72 {
        let target = now - Duration::hours(h);
        let p50 = if h <= 24 { 110.0 } else { 80.0 };
        rows.push(row(6, target, p50, Some(100.0)));
    }
    // Waiting for its actual, and one older than 30 days (left out).
    rows.push(row(6, now + Duration::hours(3), 100.0, None));
    rows.push(row(6, now - Duration::days(31), 50.0, Some(100.0)));
    let acc = summarize(&rows, now);
    let nodes = &acc[&SeriesKind::Nodes];
    let day = nodes.at(6, 0).expect("24h");
    assert_eq!(day.n, 24);
    assert!((day.mape.expect("mape") - 10.0).abs() < 1e-9, "{day:?}");
    assert!((day.bias.expect("bias") - 10.0).abs() < 1e-9);
    assert_eq!(day.coverage, Some(1.0));
    let week = nodes.at(6, 1).expect("7d");
    assert_eq!(week.n, 72);
    assert!((week.mape.expect("mape") - (24.0 * 10.0 + 48.0 * 20.0) / 72.0).abs() < 1e-9);
    assert!((week.bias.expect("bias") - (24.0 * 10.0 - 48.0 * 20.0) / 72.0).abs() < 1e-9);
    assert!((week.coverage.expect("cov") - 24.0 / 72.0).abs() < 1e-9);
    assert_eq!(nodes.at(6, 2).expect("30d").n, 72);
    assert_eq!(nodes.at(1, 2).expect("1 h").n, 0);
    assert_eq!(nodes.scored, 72);
    assert_eq!(nodes.waiting, 1);
    assert_eq!(nodes.members.len(), 1);
    assert_eq!(nodes.members[0].member, "naive");
    assert_eq!(nodes.members[0].served, 1.0);
    // A zero actual has no percentage error but is inside or outside the band.
    let s = Score::of(&[LedgerRow {
        p10: -1.0,
        p90: 1.0,
        ..row(1, now, 0.0, Some(0.0))
    }]);
    assert_eq!((s.mape, s.coverage, s.n), (None, Some(1.0), 1));
}

#[test]
fn the_chart_takes_the_latest_forecast_made_at_least_24_h_ahead() {
    let now = now();
    let target = now - Duration::hours(5);
    let rows = vec![
        row(23, target, 1.0, Some(1.0)),
        row(26, target, 2.0, Some(1.0)),
        row(24 + STEP as u32, target, 3.0, Some(1.0)),
        row(25, target, 4.0, Some(1.0)),
        row(24, now - Duration::days(15), 5.0, Some(1.0)),
    ];
    let acc = summarize(&rows, now);
    let nodes = &acc[&SeriesKind::Nodes];
    assert_eq!(nodes.chart_forecast.len(), 1, "{:?}", nodes.chart_forecast);
    assert_eq!(nodes.chart_forecast[0].p50, 4.0);
    assert_eq!(nodes.chart_actual, vec![(target, 1.0)]);
}

fn forecast(issued: DateTime<Utc>, hours: usize, value: f64) -> Forecast {
    Forecast {
        series: SeriesKind::Nodes,
        issued_at: issued,
        model: "test model".into(),
        points: (0..hours)
            .map(|h| ForecastPoint {
                ts: issued + Duration::hours(h as i64),
                p10: value - 1.0,
                p50: value,
                p90: value + 1.0,
            })
            .collect(),
        history_hours: 100,
        warnings: vec![],
        confidence: 50,
        mix: [(1, "naive"), (6, "ets"), (24, "forest")]
            .into_iter()
            .map(|(horizon, m)| HorizonMix {
                horizon,
                members: vec![(m.into(), 0.7), ("theta".into(), 0.3)],
                median_share: 0.0,
            })
            .collect(),
    }
}

#[test]
fn each_forecast_hour_names_the_member_that_served_it() {
    let f = forecast(now(), 48, 10.0);
    assert_eq!(serving_member(&f, 1), "naive");
    assert_eq!(serving_member(&f, 5), "naive");
    assert_eq!(serving_member(&f, 6), "ets");
    assert_eq!(serving_member(&f, 48), "forest");
    let rows = rows_of(&f);
    assert_eq!(rows.len(), 48);
    assert_eq!((rows[0].lead, rows[0].target), (1, now()));
    assert_eq!(rows[47].lead, 48);
    let no_mix = Forecast { mix: vec![], ..f };
    assert_eq!(serving_member(&no_mix, 3), "test model");
}

fn nodes_samples(
    from: DateTime<Utc>,
    hours: i64,
    value: impl Fn(i64) -> f64,
) -> Vec<(SeriesKind, Sample)> {
    // Two samples an hour: the actual is their mean.
    (0..hours)
        .flat_map(|h| {
            let v = value(h);
            [0, 30].map(|m| {
                (
                    SeriesKind::Nodes,
                    Sample {
                        ts: from + Duration::hours(h) + Duration::minutes(m),
                        value: v + if m == 0 { -1.0 } else { 1.0 },
                    },
                )
            })
        })
        .collect()
}

#[test]
fn the_ledger_stores_once_scores_with_the_hours_mean_and_folds_past_retention() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("n.db");
    let t0 = origin_for(now()) - Duration::days(100);
    let mut db = Db::open(&path).expect("open");
    // 100 days of samples, a gap in hour 5 after t0.
    let mut samples = nodes_samples(t0, 100 * 24, |h| 10.0 + (h % 3) as f64);
    samples.retain(|(_, s)| s.ts < t0 + Duration::hours(5) || s.ts >= t0 + Duration::hours(6));
    db.insert_samples("c", &samples).expect("samples");
    let fc: ClusterForecast = [(SeriesKind::Nodes, forecast(t0, 48, 11.0))].into();
    assert_eq!(db.record_forecasts("c", &fc).expect("record"), 48);
    assert_eq!(
        db.record_forecasts("c", &fc).expect("again"),
        0,
        "stored once"
    );
    // 24 h later, 23 full hours have ended (the last one within the grace).
    let at = t0 + Duration::hours(24) + Duration::minutes(5);
    assert_eq!(
        db.score_forecasts("c", at).expect("score"),
        22,
        "hour 5 has no samples"
    );
    let rows = db.ledger_rows("c", t0).expect("rows");
    assert_eq!(rows.len(), 48);
    assert_eq!(rows[0].actual, Some(10.0));
    assert_eq!(rows[1].actual, Some(11.0));
    assert_eq!(rows[5].actual, None, "no samples: left open");
    assert_eq!(
        rows[23].actual, None,
        "the hour just ended waits for late samples"
    );
    assert_eq!(rows[2].member, "naive");
    assert_eq!(rows[30].member, "forest");
    // Reopened (a crash): the ledger is still there.
    drop(db);
    let mut db = Db::open(&path).expect("reopen");
    assert_eq!(
        db.score_forecasts("c", t0 + Duration::hours(49))
            .expect("score"),
        25
    );
    // A node group's hours of the same forecast: stored beside the
    // cluster's, folded apart from them.
    let group: Vec<GroupRow> = rows_of(&fc[&SeriesKind::Nodes])
        .into_iter()
        .map(|r| GroupRow {
            row: LedgerRow {
                node_group: "general".into(),
                ..r
            },
            per: PerUnit {
                per_core: 0.1,
                per_gib: 0.01,
            },
        })
        .collect();
    assert_eq!(db.record_group_forecasts("c", &group).expect("group"), 48);
    // Its first hour scored: 50 cores and 100 GiB requested need 5 nodes.
    let req = |k, v| {
        (
            k,
            Sample {
                ts: t0 + Duration::minutes(10),
                value: v,
            },
        )
    };
    db.insert_samples(
        "c",
        &[
            req(SeriesKind::CpuRequests, 50.0),
            req(SeriesKind::MemRequests, 100.0),
        ],
    )
    .expect("requests");
    db.score_forecasts("c", t0 + Duration::hours(49))
        .expect("score");
    let scored: Vec<(u32, Option<f64>)> = db
        .ledger_rows("c", t0)
        .expect("rows")
        .iter()
        .filter(|r| r.node_group == "general" && r.actual.is_some())
        .map(|r| (r.lead, r.actual))
        .collect();
    assert_eq!(scored, [(1, Some(5.0))]);
    // A later forecast, inside the retention window.
    let late = origin_for(now()) - Duration::days(2);
    let fc2: ClusterForecast = [(SeriesKind::Nodes, forecast(late, 48, 11.0))].into();
    db.record_forecasts("c", &fc2).expect("record");
    let folded = db.fold_old_forecasts(now(), 90).expect("fold");
    assert_eq!(
        folded, 96,
        "the old forecast's hours, scored or not, and its group's"
    );
    assert_eq!(
        db.ledger_rows("c", t0).expect("rows").len(),
        48,
        "the recent one stays whole"
    );
    // The cluster's per-day scores are its own (the group's hours, with no
    // CPU or memory samples, were never scored).
    // Folded into per-day scores: lead 1 of day t0 (one hour, actual 10, p50 11).
    let days = db.daily_scores("c", SeriesKind::Nodes, 1).expect("days");
    assert_eq!(days.len(), 1);
    let d = days[0];
    assert_eq!(d.day, t0 - Duration::seconds(t0.timestamp() % 86_400));
    assert_eq!(d.n, 1);
    assert!((d.mape.expect("mape") - 10.0).abs() < 1e-9);
    assert_eq!(d.coverage, 1.0);
    assert!(
        db.daily_scores("c", SeriesKind::Nodes, 6)
            .expect("days")
            .is_empty(),
        "hour 5 was never scored"
    );
    assert_eq!(
        db.daily_scores("c", SeriesKind::Nodes, 7)
            .expect("days")
            .len(),
        1
    );
}

fn ledger_state() -> nodecast::app::AppState {
    let (_dir, _, records) = crate::ledger_sizing::stub_ledger();
    let mut s = stub_state();
    for (id, acc) in records {
        update(&mut s, Action::Accuracy(id, Box::new(acc)));
    }
    s
}

#[test]
fn accuracy_pane_and_fleet_lines_snapshot() {
    let mut s = ledger_state();
    let fleet = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(fleet.contains("Forecast accuracy"), "{fleet}");
    let line = fleet
        .lines()
        .find(|l| l.contains("1 prod-web") && l.contains("band"))
        .expect("prod-web's line");
    assert!(line.contains("6h ") && line.contains(" · n "), "{line}");
    insta::assert_snapshot!("fleet_accuracy_lines", fleet);
    update(&mut s, Action::Command(Command::Cluster(1)));
    for _ in 0..4 {
        update(&mut s, Action::Command(Command::CyclePane));
    }
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(
        t.contains("weekly models serve (no version promoted yet)"),
        "{t}"
    );
    let id = s.clusters[0].id.clone();
    update(
        &mut s,
        Action::Models(id, crate::retrain::versions_of_prod_web()),
    );
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(t.contains("Accuracy · nodes"), "{t}");
    assert!(
        t.contains("model v2 serves since 11-30 06:00 (1.20% vs 1.50% held back)")
            && t.contains("challenger v3 rejected 12-01 06:00 (1.90% vs 1.70%)"),
        "{t}"
    );
    assert!(t.contains("SERVED BY") && t.contains("stub"), "{t}");
    // The stub's band is ±10 %: its coverage and MAPE are those of
    // seasonal naive on this trace, computed, not typed in.
    let acc = &s.clusters[0].accuracy[&SeriesKind::Nodes];
    let week6 = acc.at(6, 1).expect("6 h, 7 days");
    assert!(week6.enough(), "{week6:?}");
    assert!(
        t.contains(&format!("{:.1}%", week6.mape.expect("mape"))),
        "{t}"
    );
    insta::assert_snapshot!("accuracy_pane_prod-web", t);
}

#[test]
fn accuracy_pane_says_when_nothing_is_scored_yet() {
    let mut s = stub_state();
    update(&mut s, Action::Command(Command::Cluster(2)));
    for _ in 0..4 {
        update(&mut s, Action::Command(Command::CyclePane));
    }
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(t.contains("Accuracy · nodes"), "{t}");
    assert!(t.contains("not enough scored forecasts yet"), "{t}");
    assert_eq!(fleet_line(None), "no forecasts scored yet");
    let fleet = text(&render(
        &{
            update(&mut s, Action::Command(Command::Fleet));
            s
        },
        &Theme::dark(),
        120,
        40,
    ));
    assert!(fleet.contains("no forecasts scored yet"), "{fleet}");
}
