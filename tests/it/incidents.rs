//! Incidents in the history: an outage must not poison the forecast after it.

use crate::fixture::noise;
use nodecast::forecast::ensemble::{Ensemble, MemberCache};
use nodecast::forecast::registry::all_members;
use nodecast::forecast::robust::{cleaned, incidents};

/// Daily and weekly cycles with 3 % noise.
fn demand(h: usize) -> f64 {
    let day = ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin();
    let weekend = if (h / 24) % 7 >= 5 { -15.0 } else { 0.0 };
    (100.0 + 20.0 * day + weekend) * (1.0 + 0.03 * noise(h))
}

/// Day 24 from 10:00: eight hours at 2 % of demand.
const OUTAGE: std::ops::Range<usize> = 24 * 24 + 10..24 * 24 + 18;

fn with_outage(hours: usize) -> Vec<f64> {
    (0..hours)
        .map(|h| {
            if OUTAGE.contains(&h) {
                0.02 * demand(h)
            } else {
                demand(h)
            }
        })
        .collect()
}

#[test]
fn an_ended_outage_is_marked_and_replaced_but_one_going_on_is_kept() {
    let y = with_outage(28 * 24);
    let marked = incidents(&y);
    let hours: Vec<usize> = (0..y.len()).filter(|t| marked[*t]).collect();
    assert_eq!(hours, OUTAGE.collect::<Vec<_>>());
    let c = cleaned(&y);
    for t in OUTAGE {
        assert!(
            (c[t] / demand(t) - 1.0).abs() < 0.1,
            "{t}: {} vs {}",
            c[t],
            demand(t)
        );
    }
    for t in (0..y.len()).filter(|t| !OUTAGE.contains(t)) {
        assert_eq!(c[t], y[t]);
    }
    // The history ends four hours into the outage: that is the present.
    let now = &y[..OUTAGE.start + 4];
    assert!(!incidents(now).contains(&true));
    // A drop that lasts past MAX_RUN is a new level, not an incident.
    let shifted: Vec<f64> = (0..28 * 24)
        .map(|h| {
            if (OUTAGE.start..OUTAGE.start + 80).contains(&h) {
                0.3 * demand(h)
            } else {
                demand(h)
            }
        })
        .collect();
    assert!(!incidents(&shifted).contains(&true));
    // Noise alone marks nothing, and neither do weekends at 40 % of the
    // weekdays around them (far from the same hour of the days around, not
    // from the same hour of the weeks around).
    let calm: Vec<f64> = (0..28 * 24).map(demand).collect();
    assert!(!incidents(&calm).contains(&true));
    let business: Vec<f64> = (0..28 * 24)
        .map(|h| {
            if (h / 24) % 7 >= 5 {
                0.4 * demand(h)
            } else {
                demand(h)
            }
        })
        .collect();
    assert!(!incidents(&business).contains(&true));
}

#[test]
fn after_an_outage_the_forecast_stays_within_1_2x_of_naive() {
    // From every hour of the two days after the outage ends, the ensemble
    // (every member) against naive, at 1, 6 and 24 h ahead.
    let y = with_outage(28 * 24);
    let observed = vec![true; y.len()];
    let ensemble = Ensemble::new(all_members());
    let mut cache = MemberCache::default();
    let mut err = [[0.0f64; 2]; 3];
    let leads = [1usize, 6, 24];
    for origin in OUTAGE.end..OUTAGE.end + 48 {
        let f = ensemble
            .forecast(&y, &observed, None, 0, origin, &mut cache, None)
            .expect("forecast");
        for (i, lead) in leads.iter().enumerate() {
            let t = origin + lead - 1;
            if t >= y.len() {
                continue;
            }
            err[i][0] += (f.combined.p50[lead - 1] - y[t]).abs() / y[t];
            err[i][1] += (y[origin - 1] - y[t]).abs() / y[t];
        }
    }
    for (i, lead) in leads.iter().enumerate() {
        let ratio = err[i][0] / err[i][1];
        eprintln!("{lead} h ahead: {ratio:.2}x naive's error");
        assert!(ratio <= 1.2, "{lead} h ahead: {ratio:.2}x naive's error");
    }
}

#[test]
fn an_incident_after_a_level_shift_is_put_back_at_the_new_level() {
    // Demand steps down to 80 % from day 14 (the weeks before are at the
    // old level), and on the last day a burst of four hours at 10x ends
    // four hours before the history does.
    let burst = 27 * 24 + 16..27 * 24 + 20;
    let level = |h: usize| if h >= 14 * 24 { 0.8 } else { 1.0 };
    let y: Vec<f64> = (0..28 * 24)
        .map(|h| {
            let v = level(h) * demand(h);
            if burst.contains(&h) { 10.0 * v } else { v }
        })
        .collect();
    let marked = incidents(&y);
    assert!(burst.clone().all(|t| marked[t]), "the burst is an incident");
    let c = cleaned(&y);
    for t in burst {
        // The weekly expectation alone is the old level's, 25 % too high.
        let now = level(t) * demand(t);
        assert!(
            (c[t] / now - 1.0).abs() < 0.1,
            "{t}: put back at {:.1}, demand at the new level {now:.1} (the old {:.1})",
            c[t],
            demand(t)
        );
    }
}

#[test]
fn after_a_burst_at_the_origin_the_hours_past_the_first_return_to_the_level() {
    use nodecast::forecast::robust::run_in_progress;
    use nodecast::forecast::selection::{BURST_HOURS, SHORT_HORIZONS};
    let calm: Vec<f64> = (0..28 * 24).map(demand).collect();
    assert_eq!(run_in_progress(&calm), 0);
    let ensemble = Ensemble::new(all_members());
    let level = ensemble
        .members
        .iter()
        .position(|m| m.serves_after_a_burst())
        .expect("a member serves after a burst");
    assert_eq!(ensemble.members[level].name(), "level_median");
    let forecast = |y: &[f64]| {
        ensemble
            .forecast(
                y,
                &vec![true; y.len()],
                None,
                0,
                y.len(),
                &mut MemberCache::default(),
                None,
            )
            .expect("forecast")
    };
    // An hour of burst: the trackers, naive and the trees would carry it
    // for two days. From the fourth hour on the level median serves alone,
    // near the level the burst left; the first hours are chosen as always.
    let y = ending_in_a_burst(1);
    assert_eq!(run_in_progress(&y), 1);
    let f = forecast(&y);
    assert_eq!(f.after_a_burst, Some(1));
    for h in SHORT_HORIZONS + 1..=48 {
        let w = &f.weights[h - 1];
        assert_eq!(w[level], 1.0, "h{h}: {w:?}");
        let t = y.len() + h - 1;
        let p = f.combined.p50[h - 1];
        assert!(
            p < 1.5 * demand(t),
            "h{h}: {p:.1} against demand {:.1}",
            demand(t)
        );
    }
    assert!(f.weights[0][level] < 1.0, "1 h: {:?}", f.weights[0]);
    // A run longer than BURST_HOURS may be a new level: the choice follows
    // it as before.
    let y = ending_in_a_burst(BURST_HOURS + 1);
    assert_eq!(run_in_progress(&y), BURST_HOURS + 1);
    let f = forecast(&y);
    assert_eq!(f.after_a_burst, None);
    assert!(f.weights[23][level] < 1.0, "24 h: {:?}", f.weights[23]);
    assert_eq!(forecast(&calm).after_a_burst, None);
}

/// Four weeks of demand whose last `hours` hours are a burst at 10x.
fn ending_in_a_burst(hours: usize) -> Vec<f64> {
    let n = 28 * 24;
    (0..n)
        .map(|h| demand(h) * if h + hours >= n { 10.0 } else { 1.0 })
        .collect()
}

#[test]
fn the_forecast_pane_says_when_a_burst_sends_the_forecast_back_to_the_level() {
    use nodecast::domain::{ForecastWarning, SeriesKind};
    use nodecast::forecast::forecaster::burst_warning;
    use nodecast::forecast::live::EnsembleForecaster;
    use nodecast::forecast::{Forecaster, sum_forecasts};
    use nodecast::ui::panes::forecast::ForecastPane;
    use nodecast::ui::theme::Theme;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::widgets::Widget;
    let f = EnsembleForecaster::default();
    let burst = crate::forecast::series(ending_in_a_burst(2));
    let calm = crate::forecast::series((0..28 * 24).map(demand).collect());
    let origin = burst.end().expect("end");
    let at_burst = f
        .forecast(SeriesKind::CpuRequests, &burst, origin, 48)
        .expect("forecast");
    let at_calm = f
        .forecast(SeriesKind::CpuRequests, &calm, origin, 48)
        .expect("forecast");
    assert_eq!(at_burst.warnings, vec![burst_warning(2)]);
    assert!(at_calm.warnings.is_empty(), "{:?}", at_calm.warnings);
    // The fleet tab sums the clusters: one with a burst says so there.
    let fleet = sum_forecasts(&[&at_calm, &at_burst]).expect("sum");
    assert_eq!(fleet.warnings, vec![ForecastWarning::SomeBurst]);
    assert_eq!(
        fleet.warnings[0].to_string(),
        "some clusters have a burst in progress"
    );
    let fleet = sum_forecasts(&[&at_calm, &at_calm]).expect("sum");
    assert!(fleet.warnings.is_empty(), "{:?}", fleet.warnings);
    // A cluster on short history besides: the fleet says both, and a
    // burst is not counted as short history.
    let young = nodecast::domain::Forecast {
        warnings: nodecast::forecast::history_warning(60)
            .into_iter()
            .collect(),
        ..at_calm.clone()
    };
    let fleet = sum_forecasts(&[&young, &at_burst]).expect("sum");
    assert_eq!(
        fleet.warnings,
        vec![
            ForecastWarning::SomeShortHistory,
            ForecastWarning::SomeBurst
        ]
    );
    assert_eq!(
        young.warnings[0].to_string(),
        "2.5 days of history: weekly pattern not learnt (needs 14 days)"
    );
    // What the operator reads under the chart.
    let theme = Theme::plain();
    let area = Rect::new(0, 0, 120, 24);
    let mut buf = Buffer::empty(area);
    ForecastPane {
        series: SeriesKind::CpuRequests,
        history: Some(&burst),
        forecast: Some(&at_burst),
        note: "",
        events: &[],
        theme: &theme,
        now: origin,
    }
    .render(area, &mut buf);
    let lines: Vec<String> = (0..area.height)
        .map(|y| (0..area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect();
    let warned = format!("│ ⚠ {}", burst_warning(2));
    assert!(
        lines.iter().any(|l| l.starts_with(&warned)),
        "{}",
        lines.join("\n")
    );
    assert!(
        lines.iter().any(|l| l.contains(" 6 h level_median 1.00")),
        "{}",
        lines.join("\n")
    );
}
