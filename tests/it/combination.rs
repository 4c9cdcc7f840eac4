//! How the chosen members' forecasts are combined at each hour: the
//! weighted mean, the weighted median past 6 h, and members far from the
//! others left out (`selection::combine`).

use crate::forecast::{forecast_walk, slow_random_walk};
use crate::selection::Scaled;

#[test]
fn the_combination_leans_toward_the_weighted_median_past_six_hours() {
    use nodecast::forecast::selection::{MEDIAN_AFTER, MEDIAN_FULL_FROM, MEDIAN_SHARE, combine};
    // Three members, one above the others (but within twice their median)
    // from hour to hour; the third member's forecast ends at 24 h.
    let pts = vec![
        Some(vec![10.0; 48]),
        Some(vec![11.0; 48]),
        Some(vec![20.0; 24]),
    ];
    let weights = vec![vec![1.0, 1.0, 1.0]; 48];
    let mean = 41.0 / 3.0;
    let at = |horizon: usize| {
        combine(&weights, &pts, horizon - 1).expect("a weighted member forecasts the hour")
    };
    // The first hours: the weighted mean.
    assert!((at(1) - mean).abs() < 1e-9);
    assert!((at(MEDIAN_AFTER) - mean).abs() < 1e-9);
    // The median's share rises to half at 12 h.
    assert_eq!((MEDIAN_AFTER, MEDIAN_FULL_FROM, MEDIAN_SHARE), (6, 12, 0.5));
    assert!((at(9) - (0.75 * mean + 0.25 * 11.0)).abs() < 1e-9);
    assert!((at(12) - (mean + 11.0) / 2.0).abs() < 1e-9);
    assert!((at(24) - (mean + 11.0) / 2.0).abs() < 1e-9);
    // Past the third member's last hour two remain: the median of two
    // equal weights is their mean.
    assert!((at(25) - 10.5).abs() < 1e-9);
    // Weights count: the heavy member is the median.
    let heavy = vec![vec![1.0, 1.0, 3.0]; 48];
    let m = (10.0 + 11.0 + 3.0 * 20.0) / 5.0;
    assert!(
        (combine(&heavy, &pts, 23).expect("a weighted member forecasts the hour")
            - (m + 20.0) / 2.0)
            .abs()
            < 1e-9
    );
    // No weighted member forecasts the hour: no forecast.
    let none = vec![vec![0.0, 0.0, 1.0]; 48];
    assert_eq!(combine(&none, &pts, 30), None);
}

#[test]
fn a_member_far_from_the_others_is_left_out_of_the_hour() {
    use nodecast::forecast::selection::{FAR_FROM_MEDIAN, combine, serving_weights};
    assert_eq!(FAR_FROM_MEDIAN, 1.0);
    // The weighted median of 10, 11 and 40 is 11: 40 lies 29 from it, more
    // than 11, so the first hours average 10 and 11 alone; a member below
    // zero is as far. Past 6 h the median is of the two left, 10.5.
    let pts = vec![
        Some(vec![10.0; 48]),
        Some(vec![11.0; 48]),
        Some(vec![40.0; 48]),
    ];
    let even = vec![vec![1.0, 1.0, 1.0]; 48];
    let at = |w: &[Vec<f64>], p: &[Option<Vec<f64>>], horizon: usize| {
        combine(w, p, horizon - 1).expect("a weighted member forecasts the hour")
    };
    assert!((at(&even, &pts, 1) - 10.5).abs() < 1e-9);
    assert!((at(&even, &pts, 24) - 10.5).abs() < 1e-9);
    // What the pane shows as the hour's mix: the member left out has none.
    assert_eq!(serving_weights(&even, &pts, 0), vec![0.5, 0.5, 0.0]);
    let below = vec![
        Some(vec![10.0; 48]),
        Some(vec![11.0; 48]),
        Some(vec![-1.0; 48]),
    ];
    assert!((at(&even, &below, 1) - 10.5).abs() < 1e-9);
    // Twice the median exactly is near enough: 22 stays.
    let twice = vec![
        Some(vec![10.0; 48]),
        Some(vec![11.0; 48]),
        Some(vec![22.0; 48]),
    ];
    assert!((at(&even, &twice, 1) - 43.0 / 3.0).abs() < 1e-9);
    // Weights decide the median: with 40 the heaviest it is the median,
    // and 10 and 11 lie within 40 of it.
    let heavy = vec![vec![1.0, 1.0, 3.0]; 48];
    assert!((at(&heavy, &pts, 1) - (10.0 + 11.0 + 120.0) / 5.0).abs() < 1e-9);
    assert_eq!(serving_weights(&heavy, &pts, 0), vec![0.2, 0.2, 0.6]);
    // Two members, each far from their median of zero: both stay.
    let apart = vec![Some(vec![-5.0; 48]), Some(vec![5.0; 48])];
    let two = vec![vec![1.0, 1.0]; 48];
    assert!(at(&two, &apart, 1).abs() < 1e-9);
}

#[test]
fn a_member_that_runs_away_at_the_origin_neither_moves_the_forecast_nor_shows_in_the_mix() {
    use nodecast::forecast::live::serving;
    // Three level trackers, exact at every validation origin of the walk;
    // at the origin itself (240 h) the third forecasts three times the
    // last value. The choice weighs all three alike, as their errors are
    // the same; the third lies 2x the median from it and is left out of
    // every hour, and of the mix the pane shows.
    let exact = |name| Scaled {
        name,
        before: 1.0,
        after: 1.0,
        from: 0,
    };
    let f = forecast_walk(vec![
        Box::new(exact("a")),
        Box::new(exact("b")),
        Box::new(Scaled {
            name: "runaway",
            before: 1.0,
            after: 3.0,
            from: 240,
        }),
    ]);
    let last = *slow_random_walk().last().expect("walk");
    for h in [1, 6, 24, 48] {
        let w = &f.weights[h - 1];
        assert!(w[2] > 0.0, "h{h}: chosen {w:?}");
        assert_eq!(f.serving[h - 1][2], 0.0, "h{h}: {:?}", f.serving[h - 1]);
        assert!((f.combined.p50[h - 1] - last).abs() < 1e-9, "h{h}");
        let mix = serving(&f, &["a", "b", "runaway"], h);
        assert!(mix.members.iter().all(|(n, _)| *n != "runaway"), "{mix:?}");
        let total: f64 = mix.members.iter().map(|(_, w)| w).sum();
        assert!((total - 1.0).abs() < 1e-9, "{mix:?}");
    }
}
