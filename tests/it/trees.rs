//! The regression trees, forest and boosting, and the learned members' features.

use chrono::{DateTime, TimeZone, Utc};
use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use ndarray::{Array1, Array2};
use nodecast::forecast::features::{Calendar, ClusterContext, FEATURE_NAMES, features, level};
use nodecast::forecast::learned::{Kind, TreeMember, training_set};
use nodecast::forecast::members::Member;
use nodecast::forecast::trees::{
    BoostParams, ForestParams, GradientBoosting, RandomForest, Rng, TreeParams,
};

/// y = 3 x0 + step(x1 > 0.5) * 10 + noise; x2 is pure noise.
fn data(n: usize, seed: u64, shuffle_targets: bool) -> (Array2<f64>, Array1<f64>) {
    let mut r = Rng::new(seed);
    let mut u = || (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let mut x = Array2::zeros((n, 3));
    let mut y = Array1::zeros(n);
    for i in 0..n {
        let (a, b, c) = (u(), u(), u());
        x[[i, 0]] = a;
        x[[i, 1]] = b;
        x[[i, 2]] = c;
        y[i] = 3.0 * a + if b > 0.5 { 10.0 } else { 0.0 } + 0.1 * (u() - 0.5);
    }
    if shuffle_targets {
        let mut r = Rng::new(seed ^ 99);
        for i in (1..n).rev() {
            let j = r.below(i + 1);
            y.swap(i, j);
        }
    }
    (x, y)
}

fn rmse(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    ((a - b).mapv(|v| v * v).sum() / a.len() as f64).sqrt()
}

#[test]
fn forest_and_boosting_learn_a_known_function_and_not_shuffled_targets() {
    let (x, y) = data(2000, 1, false);
    let (xt, yt) = data(500, 2, false);
    let train = DatasetBase::new(x, y);
    let tree = TreeParams {
        max_depth: 8,
        min_samples_leaf: 5,
        max_features: None,
        seed: 3,
    };
    let forest: RandomForest = ForestParams {
        trees: 20,
        tree: tree.clone(),
        seed: 4,
    }
    .fit(&train)
    .expect("forest");
    let boost: GradientBoosting = BoostParams {
        rounds: 80,
        learning_rate: 0.1,
        subsample: 0.8,
        tree: TreeParams {
            max_depth: 3,
            ..tree.clone()
        },
        seed: 5,
    }
    .fit(&train)
    .expect("boost");
    let single = tree.fit(&train).expect("tree");
    let sd = yt.std(0.0);
    for (name, p) in [
        ("forest", forest.predict(&xt)),
        ("boost", boost.predict(&xt)),
        ("tree", single.predict(&xt)),
    ] {
        assert!(
            rmse(&p, &yt) < 0.1 * sd,
            "{name}: rmse {} vs sd {sd}",
            rmse(&p, &yt)
        );
    }
    // With the targets shuffled there is nothing to learn: errors stay near the spread.
    let (xs, ys) = data(2000, 1, true);
    let shuffled: RandomForest = ForestParams {
        trees: 20,
        tree,
        seed: 4,
    }
    .fit(&DatasetBase::new(xs, ys))
    .expect("forest");
    assert!(rmse(&shuffled.predict(&xt), &yt) > 0.8 * sd);
    // Same seed, same model; the JSON round trip keeps it.
    let again: RandomForest = ForestParams {
        trees: 20,
        tree: TreeParams {
            max_depth: 8,
            min_samples_leaf: 5,
            max_features: None,
            seed: 3,
        },
        seed: 4,
    }
    .fit(&train)
    .expect("forest");
    assert_eq!(again, forest);
    let json = serde_json::to_string(&boost).expect("json");
    let back: GradientBoosting = serde_json::from_str(&json).expect("parse");
    assert_eq!(back.predict(&xt), boost.predict(&xt));
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("valid time")
}

#[test]
fn features_are_hand_checkable() {
    // 8 days of y = hour of day + 1; origin 8 days after Monday 2026-01-05: Tuesday 2026-01-13 00:00.
    let start = utc(2026, 1, 5, 0).timestamp() / 3600;
    let y: Vec<f64> = (0..8 * 24).map(|h| (h % 24) as f64 + 1.0).collect();
    let t = y.len();
    let mut cal = Calendar::builtin(2026..=2026);
    cal.events
        .push(nodecast::forecast::features::BusinessEvent {
            name: "sale".into(),
            start: utc(2026, 1, 13, 5),
            end: utc(2026, 1, 13, 7),
            uplift: 0.5,
        });
    let lv = level(&y, t);
    assert_eq!(lv, 12.5, "mean of 1..=24");
    let f = features(&y, t, 6, start, &cal, None);
    let get = |name: &str| f[FEATURE_NAMES.iter().position(|n| *n == name).expect("name")];
    // Without the cluster's series its features are neutral.
    assert_eq!(get("nodes_vs_day"), 1.0);
    assert_eq!(get("pending_share"), 0.0);
    assert_eq!(get("cpu_utilization"), -1.0);
    assert_eq!(get("batch_share"), -1.0);
    assert_eq!(get("horizon"), 6.0);
    assert_eq!(get("hour"), 5.0, "target hour 05:00");
    assert_eq!(get("day_of_week"), 1.0, "Tuesday");
    assert_eq!(get("weekend"), 0.0);
    assert_eq!(get("event_uplift"), 0.5);
    assert_eq!(get("lag1"), 24.0 / lv);
    assert_eq!(get("same_hour_1d"), 6.0 / lv);
    assert_eq!(get("same_hour_7d"), 6.0 / lv);
    assert_eq!(get("trend_24h"), 0.0);
    assert_eq!(get("max_24h"), 24.0 / lv);
    // New Year's Day is a built-in holiday.
    let ny = utc(2026, 1, 1, 0).timestamp() / 3600;
    let f = features(&y[..48], 24, 1, ny - 24, &cal, None);
    assert_eq!(
        f[FEATURE_NAMES
            .iter()
            .position(|n| *n == "holiday")
            .expect("h")],
        1.0
    );
    // The cluster's series at the origin's last hour (t - 1 = hour 191):
    // nodes 12 against a day's mean of 11.5, 40 pods of which 4 pending,
    // 10 batch and 2 DaemonSet pods, 30 cores used of 60 requested.
    let n = y.len();
    let nodes: Vec<f64> = (0..n)
        .map(|h| if h % 2 == 0 { 11.0 } else { 12.0 })
        .collect();
    let ctx = ClusterContext {
        nodes: Some(nodes),
        pods: Some(vec![40.0; n]),
        pending: Some(vec![4.0; n]),
        cpu_usage: Some(vec![30.0; n]),
        cpu_requests: Some(vec![60.0; n]),
        batch: Some(vec![10.0; n]),
        background: Some(vec![2.0; n]),
    };
    let f = features(&y, t, 6, start, &cal, Some(&ctx));
    let get = |name: &str| f[FEATURE_NAMES.iter().position(|n| *n == name).expect("name")];
    assert_eq!(get("nodes_vs_day"), 12.0 / 11.5);
    assert_eq!(get("pods_vs_day"), 1.0);
    assert_eq!(get("pending_share"), 0.1);
    assert_eq!(get("cpu_utilization"), 0.5);
    assert_eq!(get("batch_share"), 0.25);
    assert_eq!(get("background_share"), 0.05);
    // Only hours before the origin are read: changing hour t changes nothing.
    let mut later = ctx.clone();
    if let Some(p) = later.pending.as_mut() {
        p.push(1000.0);
    }
    assert_eq!(features(&y, t, 6, start, &cal, Some(&later)), f);
}

#[test]
fn trees_learn_from_the_clusters_series_what_the_series_alone_cannot_tell() {
    // Batch waves: pods queue (pending) in a wave's first hour and demand is
    // up 50 % for the day after. From the series alone a wave's first hours
    // cannot be foreseen; with the pending share at the origin they can.
    let n = 35 * 24;
    let mut rng = nodecast::forecast::trees::Rng::new(9);
    // A wave starts with odds 1 in 3 each hour once the last one is over.
    let mut starts = vec![false; n];
    let mut free_from = 0;
    for (h, s) in starts.iter_mut().enumerate() {
        if h >= free_from && rng.below(3) == 0 {
            *s = true;
            free_from = h + 26;
        }
    }
    let pending: Vec<f64> = starts.iter().map(|s| if *s { 30.0 } else { 0.0 }).collect();
    let y: Vec<f64> = (0..n)
        .map(|h| {
            let wave = (1..=24).any(|k| h >= k && starts[h - k]);
            100.0 + if wave { 50.0 } else { 0.0 }
        })
        .collect();
    let ctx = |pending: Vec<f64>| ClusterContext {
        pods: Some(vec![100.0; n]),
        pending: Some(pending),
        ..Default::default()
    };
    // The same pending pods at hours that have nothing to do with demand.
    let mut shuffled = pending.clone();
    for i in (1..n).rev() {
        shuffled.swap(i, rng.below(i + 1));
    }
    let (real, noise) = (ctx(pending), ctx(shuffled));
    // Origins right after a wave's first hour, in the last two weeks.
    let origins: Vec<usize> = (21 * 24..n - 6).filter(|o| starts[o - 1]).collect();
    assert!(origins.len() >= 8, "{} origins", origins.len());
    for kind in [Kind::Forest, Kind::Boost] {
        let mape = |c: Option<&ClusterContext>| -> f64 {
            let m = TreeMember::new(kind, Calendar::default());
            let mut total = 0.0;
            for &o in &origins {
                let f = m.point_in(&y[..o], c, 0, 3).expect("forecast");
                total += (0..3)
                    .map(|i| (f[i] - y[o + i]).abs() / y[o + i])
                    .sum::<f64>()
                    / 3.0;
            }
            total / origins.len() as f64 * 100.0
        };
        let (with, alone, with_noise) = (mape(Some(&real)), mape(None), mape(Some(&noise)));
        assert!(
            with < 0.85 * alone,
            "{kind:?}: with the cluster's series {with}, alone {alone}"
        );
        assert!(
            with_noise > 0.95 * alone,
            "{kind:?}: unrelated pending pods {with_noise}, alone {alone}"
        );
    }
}

#[test]
fn training_set_uses_only_known_targets_and_tree_members_forecast_cycles() {
    let y: Vec<f64> = (0..21 * 24)
        .map(|h| 100.0 + 30.0 * ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin())
        .collect();
    let (x, t) = training_set(&y, 0, &Calendar::default(), 168, None);
    assert_eq!(x.ncols(), FEATURE_NAMES.len());
    assert_eq!(x.nrows(), t.len());
    assert!(t.len() > 1000 && t.len() <= 6000);
    for kind in [Kind::Forest, Kind::Boost] {
        let m = TreeMember::new(kind, Calendar::default());
        let f = m.point(&y, 0, 48).expect("forecast");
        let truth: Vec<f64> = (21 * 24..21 * 24 + 48)
            .map(|h| 100.0 + 30.0 * ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin())
            .collect();
        let mape = f
            .iter()
            .zip(&truth)
            .map(|(a, b)| (a - b).abs() / b)
            .sum::<f64>()
            / 48.0
            * 100.0;
        assert!(mape < 5.0, "{kind:?}: {mape}");
        assert!(
            m.point(&y[..100], 0, 48).is_none(),
            "needs a week of history"
        );
    }
}
