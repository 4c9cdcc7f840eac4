//! The day-type season (working days and days off), the daily season, and
//! the members built on them.

use crate::fixture::{mape, noise};
use chrono::{NaiveDate, TimeZone, Utc};
use nodecast::forecast::ensemble::{Ensemble, MemberCache};
use nodecast::forecast::features::Calendar;
use nodecast::forecast::members::{Member, Naive, Theta, ThetaDayType};
use nodecast::forecast::season::{DayTypeSeason, day_off};
use nodecast::forecast::selection::SHORT_HORIZONS;

/// Unix hour of Monday 2026-01-05 00:00 UTC.
fn monday() -> i64 {
    Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .expect("date")
        .timestamp()
        / 3600
}

/// Business demand: working days 8 in the night half and 12 in the day half
/// (mean 10), days off a flat 5. `h` counts hours from a Monday midnight.
fn business(h: usize) -> f64 {
    if (h / 24) % 7 >= 5 {
        5.0
    } else if h % 24 < 12 {
        8.0
    } else {
        12.0
    }
}

#[test]
fn day_type_season_matches_hand_computation() {
    let cal = Calendar::default();
    let y: Vec<f64> = (0..7 * 24).map(business).collect();
    let season = DayTypeSeason::fit(&y, monday(), &cal).expect("season");
    // Days off at half the working days' level: working 7 / (5 + 2 x 0.5) =
    // 7/6, off 7/12; the working profile 0.8 / 1.2, the days-off profile 1.
    // Every hour deseasonalized is the week's mean, 60/7.
    for v in season.deseasonalize(&y, monday()) {
        assert!((v - 60.0 / 7.0).abs() < 1e-9, "{v}");
    }
    // Put back on the next week's hours (from a Saturday, two days ahead).
    let next = season.reseasonalize(&[60.0 / 7.0; 72], monday() + 5 * 24);
    let want: Vec<f64> = (5 * 24..8 * 24).map(business).collect();
    for (a, b) in next.iter().zip(&want) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    // A series that starts mid-day: its partial first day is left out.
    let late = DayTypeSeason::fit(&y[5..], monday() + 5, &cal).expect("season");
    let de = late.deseasonalize(&y[5..], monday() + 5);
    assert!(de.iter().all(|v| (v - 60.0 / 7.0).abs() < 1e-9));
}

#[test]
fn day_type_season_needs_two_of_each_day_type_and_positive_values() {
    let cal = Calendar::default();
    let y: Vec<f64> = (0..7 * 24).map(business).collect();
    // Monday to Saturday: one day off only.
    assert!(DayTypeSeason::fit(&y[..6 * 24], monday(), &cal).is_none());
    // Wednesday to Sunday: three working days and two days off.
    assert!(DayTypeSeason::fit(&y[2 * 24..], monday() + 48, &cal).is_some());
    let mut zero = y.clone();
    zero[30] = 0.0;
    assert!(DayTypeSeason::fit(&zero, monday(), &cal).is_none());
}

#[test]
fn weekends_and_calendar_holidays_are_days_off() {
    let wednesday = NaiveDate::from_ymd_opt(2026, 1, 7).expect("date");
    let cal = Calendar {
        holidays: vec![wednesday],
        events: Vec::new(),
    };
    let hour = |day: i64, h: i64| monday() + day * 24 + h;
    assert!(!day_off(&cal, hour(1, 23)), "Tuesday");
    assert!(
        day_off(&cal, hour(2, 0)) && day_off(&cal, hour(2, 23)),
        "the holiday"
    );
    assert!(
        !day_off(&Calendar::default(), hour(2, 12)),
        "Wednesday without it"
    );
    assert!(
        day_off(&cal, hour(5, 3)) && day_off(&cal, hour(6, 20)),
        "Saturday, Sunday"
    );
    assert!(!day_off(&cal, hour(7, 0)), "Monday");
}

#[test]
fn theta_daytype_learns_the_weekend_dip_theta_cannot_and_not_noise() {
    let demand = |h: usize| business(h) * (1.0 + 0.02 * noise(h));
    // Twelve days (two weekends) from a Monday; forecast the third weekend.
    let y: Vec<f64> = (0..12 * 24).map(demand).collect();
    let truth: Vec<f64> = (12 * 24..14 * 24).map(demand).collect();
    let member = ThetaDayType {
        calendar: Calendar::default(),
    };
    let f = member.point(&y, monday(), 48).expect("theta_daytype");
    assert!(mape(&truth, &f) < 4.0, "theta_daytype {}", mape(&truth, &f));
    let t = Theta.point(&y, monday(), 48).expect("theta");
    assert!(mape(&truth, &t) > 30.0, "theta {}", mape(&truth, &t));
    // The same values shuffled in time: no week to learn.
    let mut idx: Vec<usize> = (0..14 * 24).collect();
    idx.sort_by(|a, b| noise(*a * 7919).total_cmp(&noise(*b * 7919)));
    let shuffled: Vec<f64> = idx.iter().map(|h| demand(*h)).collect();
    let f = member
        .point(&shuffled[..12 * 24], monday(), 48)
        .expect("theta_daytype");
    assert!(
        mape(&shuffled[12 * 24..], &f) > 20.0,
        "{}",
        mape(&shuffled[12 * 24..], &f)
    );
}

#[test]
fn theta_daytype_tracks_the_level_but_sits_out_the_first_hours() {
    let member = ThetaDayType {
        calendar: Calendar::default(),
    };
    assert!(member.tracks_level() && !member.serves_first_hours());
    assert!(Theta.serves_first_hours());
    let y: Vec<f64> = (0..21 * 24)
        .map(|h| business(h) * (1.0 + 0.02 * noise(h)))
        .collect();
    let observed = vec![true; y.len()];
    let f = Ensemble::new(vec![Box::new(Theta), Box::new(member), Box::new(Naive)])
        .forecast(
            &y,
            &observed,
            None,
            monday(),
            y.len(),
            &mut MemberCache::default(),
            None,
        )
        .expect("forecast");
    for h in 1..=SHORT_HORIZONS {
        assert_eq!(f.weights[h - 1][1], 0.0, "h{h}: {:?}", f.weights[h - 1]);
    }
    // From 4 h on it competes, and on a weekly cycle it wins the weights.
    let later = &f.weights[23];
    assert!(later[1] > later[0], "24 h weights {later:?}");
    assert_eq!(f.combined.p50.len(), 48);
}

#[test]
fn a_weeks_seasonal_naive_forecasts_only_where_the_history_repeats_weekly() {
    use nodecast::forecast::members::SeasonalNaive;
    use nodecast::forecast::season::has_cycle;
    // Four weeks of business demand (weekends at half) with 5 % noise.
    let week: Vec<f64> = (0..4 * 168)
        .map(|h| business(h) * (1.0 + 0.05 * noise(h)))
        .collect();
    assert!(has_cycle(&week, 168));
    let f = SeasonalNaive::weekly()
        .point(&week, monday(), 48)
        .expect("weekly");
    assert_eq!(f[..24], week[3 * 168..3 * 168 + 24]);
    // The same level and noise with no weekly (or daily) pattern: last
    // week's hours are noise, so the member stays out, but for the test's
    // false alarms (one in ten at 1.645 standard errors, two-sided).
    let flat = |k: usize| -> Vec<f64> {
        (0..4 * 168)
            .map(|h| 10.0 * (1.0 + 0.05 * noise(h + 10_000 * k)))
            .collect()
    };
    let alarms = (0..40)
        .filter(|k| {
            SeasonalNaive::weekly()
                .point(&flat(*k), monday(), 48)
                .is_some()
        })
        .count();
    assert!(alarms <= 8, "{alarms} of 40 noise series called weekly");
    // Every business week is, whatever its noise.
    for k in 0..40 {
        let y: Vec<f64> = (0..4 * 168)
            .map(|h| business(h) * (1.0 + 0.05 * noise(h + 10_000 * k)))
            .collect();
        assert!(has_cycle(&y, 168), "business week {k}");
    }
    // Under two weeks there is no test and no forecast; the day's seasonal
    // naive never asks for one.
    assert!(
        SeasonalNaive::weekly()
            .point(&week[..300], monday(), 48)
            .is_none()
    );
    assert!(
        SeasonalNaive::daily()
            .point(&flat(0), monday(), 48)
            .is_some()
    );
}

#[test]
fn the_daily_season_holds_through_a_burst_and_a_level_shift() {
    use nodecast::forecast::season::deseasonalize;
    // Three weeks of a daily cycle (±30 %, 1 % noise) at level 750, then
    // 220 from day 10 on (nab-ec2-netin-257a54's shift), with a one-hour
    // burst of 20x the level on day 4 at 16:00 (its burst).
    let level = |h: usize| if h < 10 * 24 { 750.0 } else { 220.0 };
    let cycle = |h: usize| 1.0 + 0.3 * (std::f64::consts::TAU * (h % 24) as f64 / 24.0).sin();
    let burst = 4 * 24 + 16;
    let y: Vec<f64> = (0..21 * 24)
        .map(|h| {
            let v = level(h) * cycle(h) * (1.0 + 0.01 * noise(h));
            if h == burst { 20.0 * v } else { v }
        })
        .collect();
    // Without its season, every other hour is its level: the burst's hour
    // of the day and the hours around the shift keep their own index (a
    // mean of the ratios put the burst into 16:00's index, 2x too high, and
    // the shift into every hour's).
    let (de, _) = deseasonalize(&y);
    for (h, v) in de.iter().enumerate().filter(|(h, _)| *h != burst) {
        let off = v / level(h) - 1.0;
        assert!(off.abs() < 0.03, "hour {h}: {v:.1} against {}", level(h));
    }
}

/// Asserts that `median` forecasts `truth` after `y` within 3 %, where
/// `seasonal` errs over `seasonal_over` % (it repeats the odd season).
fn the_median_holds_where_seasonal_naive_repeats(
    median: &nodecast::forecast::members::SeasonMedian,
    seasonal: &nodecast::forecast::members::SeasonalNaive,
    y: &[f64],
    truth: &[f64],
    seasonal_over: f64,
) {
    let m = median.point(y, monday(), 48).expect("median");
    let s = seasonal.point(y, monday(), 48).expect("seasonal");
    assert!(mape(truth, &m) < 3.0, "median {:.2}", mape(truth, &m));
    assert!(
        mape(truth, &s) > seasonal_over,
        "seasonal {:.2}",
        mape(truth, &s)
    );
}

#[test]
fn the_daily_median_ignores_an_odd_day_and_follows_a_shift_of_the_whole_day() {
    use nodecast::forecast::members::{SeasonMedian, SeasonalNaive};
    // Twelve days of a daily cycle (±30 %, 2 % noise) at level 100, the
    // last day's evening hours (17:00-22:00) a burst at 5x.
    let cycle =
        |h: usize| 100.0 * (1.0 + 0.3 * (std::f64::consts::TAU * (h % 24) as f64 / 24.0).sin());
    let days = 12;
    let burst = |h: usize| h / 24 == days - 1 && (17..23).contains(&(h % 24));
    let y: Vec<f64> = (0..days * 24)
        .map(|h| cycle(h) * (1.0 + 0.02 * noise(h)) * if burst(h) { 5.0 } else { 1.0 })
        .collect();
    let truth: Vec<f64> = (days * 24..days * 24 + 48).map(cycle).collect();
    // Yesterday's burst is one day of twelve, and 6 of the last 24 hours
    // that set the level: the median forecasts the cycle, where yesterday's
    // seasonal naive repeats the burst.
    the_median_holds_where_seasonal_naive_repeats(
        &SeasonMedian::daily(),
        &SeasonalNaive::daily(),
        &y,
        &truth,
        30.0,
    );
    // The whole day steps to 60 % two days before the origin: most days
    // are at the old level, and the last day's level carries the new one.
    let shifted: Vec<f64> = (0..days * 24)
        .map(|h| cycle(h) * (1.0 + 0.02 * noise(h)) * if h >= (days - 2) * 24 { 0.6 } else { 1.0 })
        .collect();
    let truth: Vec<f64> = truth.iter().map(|v| 0.6 * v).collect();
    let median = SeasonMedian::daily()
        .point(&shifted, monday(), 48)
        .expect("median");
    assert!(
        mape(&truth, &median) < 3.0,
        "median after the shift {:.2}",
        mape(&truth, &median)
    );
    // Under two days of history there is no median to take; at two, the
    // mean of the two days' same hour (no hour before the origin has two
    // days before it to set a level by).
    assert!(SeasonMedian::daily().point(&y[..47], monday(), 1).is_none());
    assert_eq!(
        SeasonMedian::daily().point(&y[..48], monday(), 1),
        Some(vec![0.5 * (y[0] + y[24])])
    );
}

#[test]
fn the_weekly_median_ignores_an_odd_week_and_forecasts_only_where_the_week_repeats() {
    use nodecast::forecast::members::{SeasonMedian, SeasonalNaive};
    // Five weeks of business demand (weekends at half, 2 % noise); last
    // week's Monday day half a launch at 2x. The origin is a Monday.
    let weeks = 5;
    let launch = |h: usize| h / 168 == weeks - 1 && (12..24).contains(&(h % 168));
    let y: Vec<f64> = (0..weeks * 168)
        .map(|h| business(h) * (1.0 + 0.02 * noise(h)) * if launch(h) { 2.0 } else { 1.0 })
        .collect();
    let truth: Vec<f64> = (weeks * 168..weeks * 168 + 48).map(business).collect();
    // The launch is one week of the four the median takes: it forecasts
    // the business week, where last week's seasonal naive repeats the
    // launch.
    the_median_holds_where_seasonal_naive_repeats(
        &SeasonMedian::weekly(),
        &SeasonalNaive::weekly(),
        &y,
        &truth,
        20.0,
    );
    // It forecasts only where the week repeats, by the same test as last
    // week's seasonal naive: on noise it stays out as that member does
    // (but for the test's false alarms, one in ten).
    let mut alarms = 0;
    for k in 0..40 {
        let flat: Vec<f64> = (0..4 * 168)
            .map(|h| 10.0 * (1.0 + 0.05 * noise(h + 10_000 * k)))
            .collect();
        let forecast = SeasonMedian::weekly().point(&flat, monday(), 48).is_some();
        assert_eq!(
            forecast,
            SeasonalNaive::weekly().point(&flat, monday(), 48).is_some(),
            "noise series {k}"
        );
        alarms += usize::from(forecast);
    }
    assert!(alarms <= 8, "{alarms} of 40 noise series called weekly");
    // Under two weeks there is no test and no forecast.
    assert!(
        SeasonMedian::weekly()
            .point(&y[..2 * 168 - 1], monday(), 48)
            .is_none()
    );
}

#[test]
fn the_level_median_holds_the_level_through_a_spike_at_the_origin() {
    use nodecast::forecast::members::{LEVEL_MEDIAN_HOURS, LevelMedian};
    // Two weeks of a noisy VM's CPU around 6 % (±30 % noise), the last
    // hour a spike to 65 (azure-v1-vmcpu-943893 at one of its origins).
    let mut y: Vec<f64> = (0..14 * 24).map(|h| 6.0 * (1.0 + 0.3 * noise(h))).collect();
    *y.last_mut().expect("hours") = 65.0;
    let truth = vec![6.0; 48];
    let median = LevelMedian.point(&y, monday(), 48).expect("median");
    let naive = Naive.point(&y, monday(), 48).expect("naive");
    // Flat at the week's median, which one hour of 168 does not move;
    // naive forecasts the spike for two days.
    assert!(median.iter().all(|v| *v == median[0]));
    let mut week = y[y.len() - LEVEL_MEDIAN_HOURS..].to_vec();
    week.sort_by(f64::total_cmp);
    assert_eq!(median[0], 0.5 * (week[83] + week[84]));
    assert!(
        mape(&truth, &median) < 10.0,
        "median {:.2}",
        mape(&truth, &median)
    );
    assert!(mape(&truth, &naive) > 900.0);
    // With less than a week it takes what there is; with nothing, nothing.
    assert_eq!(LevelMedian.point(&y[..3], monday(), 2), {
        let mut v = y[..3].to_vec();
        v.sort_by(f64::total_cmp);
        Some(vec![v[1]; 2])
    });
    assert!(LevelMedian.point(&[], monday(), 2).is_none());
}
