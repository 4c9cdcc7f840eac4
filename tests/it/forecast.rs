//! Forecast members, the ensemble and its bands, and the backtest protocol.

use crate::fixture::{mape, noise};
use chrono::{Duration, TimeZone, Utc};
use nodecast::domain::{HourlySeries, SeriesKind};
use nodecast::forecast::backtest::{mase_scale, score};
use nodecast::forecast::ensemble::Ensemble;
use nodecast::forecast::horizon::{OriginForecast, origins};
use nodecast::forecast::live::EnsembleForecaster;
use nodecast::forecast::members::{Member, Mstl, SeasonalNaive, Theta};
use nodecast::forecast::prepared::interpolate;
use nodecast::forecast::{Forecaster, quantile, sum_forecasts, sum_series};

pub(crate) fn series(values: Vec<f64>) -> HourlySeries {
    HourlySeries {
        start: Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).single(),
        values: values.into_iter().map(Some).collect(),
    }
}

/// Daily and weekly cycles, as cluster demand has.
pub(crate) fn cycled(h: usize) -> f64 {
    let day = ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
    let weekend = if (h / 24) % 7 >= 5 { -15.0 } else { 0.0 };
    100.0 + 20.0 * day + weekend
}

#[test]
fn protocol_origins_match_hand_computation() {
    // n = 187: o_min = max(min(168, 93), 187-720, ceil(112.2)) = 113.
    assert_eq!(origins(187), vec![115, 121, 127, 133, 139]);
    // n = 720: o_min = 432, origins 432..=672 step 6: 41 of them.
    let o = origins(720);
    assert_eq!((o.len(), o[0], *o.last().expect("last")), (41, 432, 672));
    // n = 2089: o_min = max(168, 1369, 1254) = 1369 -> 113 origins.
    assert_eq!(origins(2089).len(), 113);
}

#[test]
fn interpolation_fills_gaps_linearly_and_ends_flat() {
    assert_eq!(
        interpolate(&[None, Some(1.0), None, Some(3.0), None]),
        vec![1.0, 1.0, 2.0, 3.0, 3.0]
    );
}

#[test]
fn scores_match_hand_computation() {
    // 30 hours; one origin at 24; forecasts 10 % high everywhere, band [y-1, y+1] misses hour 24.
    let mut y: Vec<Option<f64>> = (0..72).map(|t| Some(10.0 + (t % 24) as f64)).collect();
    y[24 + 5] = None; // horizon 6 missing: not scored
    let f = OriginForecast {
        p50: (0..48)
            .map(|h| 1.1 * (10.0 + ((24 + h) % 24) as f64))
            .collect(),
        p10: (0..48)
            .map(|h| 10.0 + ((24 + h) % 24) as f64 - 1.0)
            .collect(),
        p90: (0..48)
            .map(|h| {
                if h == 0 {
                    0.0
                } else {
                    10.0 + ((24 + h) % 24) as f64 + 1.0
                }
            })
            .collect(),
    };
    let s = score(&y, &[24], &[f], true);
    let h1 = &s["1"];
    assert!((h1.mape.expect("mape") - 10.0).abs() < 1e-9);
    assert!((h1.smape.expect("smape") - 200.0 * 0.1 / 2.1).abs() < 1e-9);
    assert_eq!(h1.coverage80, Some(0.0));
    assert_eq!(s["6"].n, 0);
    assert_eq!(s["12"].coverage80, Some(1.0));
    // MASE scale: y repeats daily before hour 24, so |y[t]-y[t-24]| has no pairs: no scale.
    assert_eq!(mase_scale(&y, 24), None);
    let y2: Vec<Option<f64>> = (0..50).map(|t| Some(t as f64)).collect();
    assert_eq!(mase_scale(&y2, 30), Some(24.0));
}

#[test]
fn seasonal_member_repeats_the_day_and_fails_shuffled_data() {
    let y: Vec<f64> = (0..14 * 24).map(|h| 50.0 + (h % 24) as f64).collect();
    let m = SeasonalNaive {
        season: 24,
        name: "s",
        needs_cycle: false,
    };
    let f = m.point(&y, 0, 48).expect("forecast");
    let truth: Vec<f64> = (14 * 24..14 * 24 + 48)
        .map(|h| 50.0 + (h % 24) as f64)
        .collect();
    assert_eq!(f, truth);
    // Shuffled: the same values with no daily order; the forecast is no longer exact.
    let shuffled: Vec<f64> = (0..14 * 24).map(|h| 50.0 + 24.0 * noise(h).abs()).collect();
    let f = m.point(&shuffled[..13 * 24], 0, 24).expect("forecast");
    assert!(mape(&shuffled[13 * 24..], &f) > 5.0);
}

#[test]
fn mstl_and_theta_learn_daily_and_weekly_cycles_but_not_noise() {
    let y: Vec<f64> = (0..28 * 24).map(cycled).collect();
    let truth: Vec<f64> = (28 * 24..28 * 24 + 48).map(cycled).collect();
    let m = Mstl.point(&y, 0, 48).expect("mstl");
    assert!(mape(&truth, &m) < 2.0, "mstl {}", mape(&truth, &m));
    // Day 23 is a weekday after weekdays (the weekly dip is not Theta's to know).
    let t = Theta.point(&y[..23 * 24], 0, 24).expect("theta");
    let tt: Vec<f64> = (23 * 24..24 * 24).map(cycled).collect();
    assert!(mape(&tt, &t) < 5.0, "theta on a weekday {}", mape(&tt, &t));
    // Pure noise around 100: no model can do much better than the noise level.
    let z: Vec<f64> = (0..28 * 24).map(|h| 100.0 + 30.0 * noise(h)).collect();
    let zt: Vec<f64> = (28 * 24..28 * 24 + 48)
        .map(|h| 100.0 + 30.0 * noise(h))
        .collect();
    let m = Mstl.point(&z, 0, 48).expect("mstl");
    assert!(mape(&zt, &m) > 8.0, "noise is not learnt");
}

#[test]
fn live_forecaster_warns_on_short_history_and_names_its_members() {
    let f = EnsembleForecaster::default();
    let s = series((0..30).map(|h| 10.0 + (h % 24) as f64).collect());
    let fc = f
        .forecast(SeriesKind::Nodes, &s, s.end().expect("end"), 48)
        .expect("forecast");
    assert_eq!(fc.points.len(), 48);
    assert!(
        fc.warnings
            .iter()
            .any(|w| w.to_string().contains("14 days"))
    );
    assert!(
        fc.model.contains("cold start") && fc.model.contains("no validation window yet"),
        "{}",
        fc.model
    );
    // Naive serves the first hour, the global models the 24th.
    let mix = |h: usize| {
        fc.mix
            .iter()
            .find(|m| m.horizon == h)
            .map(|m| m.members.clone())
    };
    let first: Option<Vec<String>> = mix(1).map(|m| m.into_iter().map(|(n, _)| n).collect());
    assert_eq!(first, Some(vec!["naive".to_string()]), "{:?}", fc.mix);
    assert!(
        mix(24).is_some_and(|m| m.iter().all(|(n, _)| n.starts_with("global_"))),
        "{:?}",
        fc.mix
    );
    let week = series((0..8 * 24).map(|h| 10.0 + (h % 24) as f64).collect());
    let fw = f
        .forecast(SeriesKind::Nodes, &week, week.end().expect("end"), 48)
        .expect("f");
    assert!(
        fw.model.contains("weights from 17 validation origins"),
        "{}",
        fw.model
    );
    // The mix names the members serving 1, 6, 24 and 48 h; weights sum to 1.
    assert_eq!(
        fw.mix.iter().map(|m| m.horizon).collect::<Vec<_>>(),
        vec![1, 6, 24, 48]
    );
    let names: Vec<&str> = f.member_names();
    for m in &fw.mix {
        let total: f64 = m.members.iter().map(|(_, w)| w).sum();
        assert!((total - 1.0).abs() < 1e-9, "{m:?}");
        assert!(
            m.members
                .iter()
                .all(|(n, w)| names.contains(&n.as_str()) && *w > 0.0)
        );
        assert!(
            m.members.windows(2).all(|p| p[0].1 >= p[1].1),
            "heaviest first"
        );
    }
    for p in &fc.points {
        assert!(p.p10 <= p.p50 && p.p50 <= p.p90);
    }
    let s = series(vec![5.0; 10]);
    let fc = f
        .forecast(SeriesKind::Nodes, &s, s.end().expect("end"), 48)
        .expect("forecast");
    assert!(fc.warnings.iter().any(|w| w.to_string().contains("24 h")));
    assert!(
        fc.points.iter().all(|p| p.p90 > p.p50),
        "a wide band with no validation"
    );
    // History after the origin is not used.
    let mut long = series((0..100).map(|h| h as f64).collect());
    let o = long.start.expect("start") + Duration::hours(50);
    let a = f.forecast(SeriesKind::Nodes, &long, o, 48).expect("a");
    long.values[60] = Some(1e6);
    let b = f.forecast(SeriesKind::Nodes, &long, o, 48).expect("b");
    assert_eq!(a.points, b.points);
}

#[test]
fn quantile_interpolates() {
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.5), 3.0);
    assert!((quantile(&[0.0, 10.0], 0.1) - 1.0).abs() < 1e-12);
}

#[test]
fn fleet_sums_keep_only_hours_every_cluster_has() {
    let a = series(vec![1.0, 2.0, 3.0]);
    let mut b = series(vec![10.0, 20.0, 30.0]);
    b.values[1] = None;
    let s = sum_series(&[&a, &b]);
    assert_eq!(s.values, vec![Some(11.0), None, Some(33.0)]);
    let f = EnsembleForecaster::default();
    let long_a = series((0..60).map(|h| (h % 24) as f64 + 1.0).collect());
    let long_b = series((0..60).map(|h| (h % 24) as f64 + 10.0).collect());
    let o = long_a.end().expect("end");
    let fa = f.forecast(SeriesKind::Nodes, &long_a, o, 4).expect("fa");
    let fb = f.forecast(SeriesKind::Nodes, &long_b, o, 4).expect("fb");
    let t = sum_forecasts(&[&fa, &fb]).expect("sum");
    for i in 0..4 {
        assert_eq!(t.points[i].p50, fa.points[i].p50 + fb.points[i].p50);
        assert_eq!(t.points[i].p90, fa.points[i].p90 + fb.points[i].p90);
    }
}

#[test]
fn series_csv_errors_name_file_and_line() {
    use nodecast::series_csv::{parse_series, resample_hourly};
    let e = parse_series(
        "timestamp,value\n2020-01-01T00:00:00Z,1\n2020-01-01T00:05:00Z,abc\n",
        "x.csv",
    )
    .expect_err("bad value");
    assert!(e.to_string().contains("x.csv line 3"), "{e}");
    let e = parse_series("timestamp,value\nyesterday,1\n", "y.csv").expect_err("bad ts");
    assert!(e.to_string().contains("y.csv line 2"), "{e}");
    let s = parse_series(
        "timestamp,value\n2014-02-14 14:30:00,2\n2014-02-14T14:00:00Z,4\n2014-02-14T16:10:00Z,9\n",
        "z.csv",
    )
    .expect("ok");
    let h = resample_hourly(&s);
    assert_eq!(
        h.values,
        vec![Some(3.0), None, Some(9.0)],
        "mean per hour, gap missing"
    );
}

#[test]
fn confidence_score_matches_hand_computation() {
    use nodecast::domain::ForecastPoint;
    use nodecast::forecast::confidence;
    let t = Utc
        .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .expect("t");
    let pts: Vec<ForecastPoint> = (0..48)
        .map(|h| ForecastPoint {
            ts: t + Duration::hours(h),
            p10: 90.0,
            p50: 100.0,
            p90: 110.0,
        })
        .collect();
    // Half-width 10 %: sharpness 1 / 1.5; full evidence -> 67; none -> 33.
    assert_eq!(confidence(&pts, 28, 336), 67);
    assert_eq!(confidence(&pts, 0, 336), 33);
    assert_eq!(
        confidence(&pts, 28, 84),
        50,
        "a quarter of the history: evidence 0.5"
    );
    assert_eq!(confidence(&[], 28, 336), 0);
}

/// Ten days of a slow random walk: the last value (naive) is the best
/// forecast at every horizon.
pub(crate) fn slow_random_walk() -> Vec<f64> {
    let mut v = 100.0;
    (0..10 * 24)
        .map(|h| {
            v += 2.0 * noise(h);
            v
        })
        .collect()
}

/// The ensemble of `members` at the end of [`slow_random_walk`].
pub(crate) fn forecast_walk(
    members: Vec<Box<dyn Member>>,
) -> nodecast::forecast::ensemble::EnsembleForecast {
    forecast_after(slow_random_walk(), members)
}

/// The ensemble of `members` at the end of `y`.
pub(crate) fn forecast_after(
    y: Vec<f64>,
    members: Vec<Box<dyn Member>>,
) -> nodecast::forecast::ensemble::EnsembleForecast {
    use nodecast::forecast::ensemble::MemberCache;
    let observed = vec![true; y.len()];
    Ensemble::new(members)
        .forecast(
            &y,
            &observed,
            None,
            0,
            y.len(),
            &mut MemberCache::default(),
            None,
        )
        .expect("forecast")
}

/// A member with a bug.
struct Panicking;

impl Member for Panicking {
    fn name(&self) -> &'static str {
        "panicking"
    }
    fn point(&self, _: &[f64], _: i64, _: usize) -> Option<Vec<f64>> {
        panic!("a member bug")
    }
}

#[test]
fn a_panicking_member_gives_no_forecast_and_the_others_still_serve() {
    use nodecast::forecast::members::Naive;
    // The members run on every core; one that panics must not take the
    // forecast (or the dashboard) down with it.
    let f = forecast_walk(vec![Box::new(Naive), Box::new(Panicking), Box::new(Theta)]);
    assert!(f.members[1].is_none());
    assert!(f.members[0].is_some() && f.members[2].is_some());
    assert!(f.weights.iter().all(|w| w[1] == 0.0));
    assert!(f.combined.p50.iter().all(|v| v.is_finite() && *v > 0.0));
}

#[test]
fn mstl_seasons_scale_with_the_level() {
    // A daily swing of ±60 % around a level that falls from 1000 to 50 two
    // days before the origin (a surge that ended): the season learnt over
    // the surge must shrink with the level, not swing the forecast below zero.
    let level = |h: usize| if h < 16 * 24 { 1000.0 } else { 50.0 };
    let v =
        |h: usize| level(h) * (1.0 + 0.6 * ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin());
    let y: Vec<f64> = (0..18 * 24).map(v).collect();
    let truth: Vec<f64> = (18 * 24..18 * 24 + 24).map(v).collect();
    let f = Mstl.point(&y, 0, 24).expect("mstl");
    assert!(f.iter().all(|x| *x > 0.0), "{f:?}");
    assert!(mape(&truth, &f) < 25.0, "mape {}", mape(&truth, &f));
}

#[test]
fn forty_eight_to_fifty_three_hours_of_history_forecast_off_the_six_hour_grid() {
    // The latest validation origin's grid point falls before the history's
    // first hour here (it once underflowed).
    let f = EnsembleForecaster::default();
    for n in 48..54 {
        for shift in 0..6 {
            let mut s = series((0..n).map(|h| 10.0 + (h % 24) as f64).collect());
            s.start = s.start.map(|t| t + Duration::hours(shift));
            let fc = f
                .forecast(SeriesKind::Nodes, &s, s.end().expect("end"), 48)
                .expect("forecast");
            assert!(
                fc.model.contains("no validation window yet"),
                "{n} {shift}: {}",
                fc.model
            );
        }
    }
}
