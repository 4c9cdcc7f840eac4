//! The interim seasonal-naive forecaster and the fleet sums.

use chrono::{Duration, TimeZone, Utc};
use nodecast::domain::{HourlySeries, SeriesKind};
use nodecast::forecast::seasonal::{SeasonalNaive, quantile};
use nodecast::forecast::{Forecaster, sum_forecasts, sum_series};

fn series(values: Vec<f64>) -> HourlySeries {
    HourlySeries {
        start: Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).single(),
        values: values.into_iter().map(Some).collect(),
    }
}

/// A deterministic pseudo-random number in [-1, 1).
fn noise(i: usize) -> f64 {
    // splitmix64
    let mut z = (i as u64).wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

#[test]
fn weekly_pattern_is_repeated_from_one_week_earlier() {
    let y: Vec<f64> = (0..21 * 24).map(|h| 100.0 + (h % 168) as f64).collect();
    let s = series(y.clone());
    let origin = s.end().expect("end");
    let f = SeasonalNaive
        .forecast(SeriesKind::Nodes, &s, origin, 48)
        .expect("forecast");
    assert!(f.model.contains("168"));
    for (h, p) in f.points.iter().enumerate() {
        assert_eq!(p.ts, origin + Duration::hours(h as i64));
        assert_eq!(p.p50, y[y.len() + h - 168]);
        assert!(p.p10 <= p.p50 && p.p50 <= p.p90);
    }
    assert!(f.warnings.is_empty(), "21 days is enough history");
}

#[test]
fn short_history_falls_back_to_a_daily_season_and_warns() {
    let s = series((0..50).map(|h| (h % 24) as f64).collect());
    let f = SeasonalNaive
        .forecast(SeriesKind::Nodes, &s, s.end().expect("end"), 48)
        .expect("f");
    assert!(f.model.contains("24 h"));
    assert!(f.warnings.iter().any(|w| w.contains("14 days")));
    let s = series(vec![5.0; 10]);
    let f = SeasonalNaive
        .forecast(SeriesKind::Nodes, &s, s.end().expect("end"), 48)
        .expect("f");
    assert!(f.warnings.iter().any(|w| w.contains("24 h")));
    assert!(
        f.points.iter().all(|p| p.p90 > p.p50),
        "a wide band when errors are few"
    );
}

#[test]
fn band_covers_about_80_percent_of_noisy_targets() {
    // Daily pattern plus noise; score the band on held-out days.
    let y: Vec<f64> = (0..60 * 24)
        .map(|h| 50.0 + 10.0 * ((h % 24) as f64 / 4.0).sin() + 5.0 * noise(h))
        .collect();
    let (mut inside, mut total) = (0, 0);
    for o in (30 * 24..58 * 24).step_by(24) {
        let s = series(y[..o].to_vec());
        let f = SeasonalNaive
            .forecast(SeriesKind::CpuRequests, &s, s.end().expect("end"), 48)
            .expect("f");
        for (h, p) in f.points.iter().enumerate() {
            total += 1;
            inside += (p.p10 <= y[o + h] && y[o + h] <= p.p90) as usize;
        }
    }
    let cov = inside as f64 / total as f64;
    assert!((0.7..=0.9).contains(&cov), "coverage {cov}");
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
    let o = a.end().expect("end");
    let fa = SeasonalNaive
        .forecast(SeriesKind::Nodes, &a, o, 4)
        .expect("fa");
    let fb = SeasonalNaive
        .forecast(SeriesKind::Nodes, &series(vec![10.0, 20.0, 30.0]), o, 4)
        .expect("fb");
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
