//! The ensemble's p10-p90 band: from the forecasts made at the validation
//! origins, at a residual quantile that falls with the horizon, and its
//! coverage on noisy cycles.

use crate::fixture::noise;
use crate::forecast::{cycled, series, slow_random_walk};
use crate::selection::Scaled;
use nodecast::forecast::backtest;
use nodecast::forecast::ensemble::Ensemble;
use nodecast::forecast::registry::all_members;

#[test]
fn ensemble_band_covers_about_80_percent_on_noisy_cycles() {
    let y: Vec<f64> = (0..40 * 24)
        .map(|h| cycled(h) * (1.0 + 0.05 * noise(h)))
        .collect();
    let s = series(y);
    let r = backtest::run(
        "synthetic",
        &s,
        &Ensemble::new(all_members()),
        &[1, 6, 12, 24, 48],
    )
    .expect("run");
    let (mut inside, mut n) = (0.0, 0);
    for h in ["1", "6", "12", "24", "48"] {
        let e = &r.models["ensemble"][h];
        inside += e.coverage80.expect("coverage") * e.n as f64;
        n += e.n;
        // The ensemble is close to the best member at every horizon (of
        // the members that forecast it, the LSTM only 1-6 h, and at 1 h
        // of those that serve the first hours).
        let first: Vec<&str> = all_members()
            .iter()
            .filter(|m| m.serves_first_hours())
            .map(|m| m.name())
            .collect();
        let best = r
            .models
            .iter()
            .filter(|(m, _)| *m != "ensemble" && (h != "1" || first.contains(&m.as_str())))
            .filter_map(|(_, s)| s.get(h)?.mape)
            .fold(f64::MAX, f64::min);
        assert!(
            e.mape.expect("mape") <= 1.3 * best,
            "h{h}: {:?} vs best member {best}",
            e.mape
        );
    }
    let cov = inside / n as f64;
    assert!((0.7..=0.95).contains(&cov), "pooled coverage {cov}");
}

#[test]
fn the_band_widens_with_the_horizon() {
    use nodecast::forecast::ensemble::{BAND_Q, BAND_Q_48, band_q, banded};
    assert_eq!(band_q(1), BAND_Q);
    assert_eq!(band_q(48), BAND_Q_48);
    // Linear in between, falling: the band takes a wider share further out.
    assert!((band_q(24) - (BAND_Q + (BAND_Q_48 - BAND_Q) * 23.0 / 47.0)).abs() < 1e-12);
    assert!((1..48).all(|h| band_q(h + 1) < band_q(h)));
    // The same 201 relative residuals, -50 % to +50 %, at every horizon:
    // the band is the residual quantiles around a point of 100.
    let res: Vec<Vec<f64>> = (0..48)
        .map(|_| (0..=200).map(|k| -0.5 + k as f64 / 200.0).collect())
        .collect();
    let b = banded(&[100.0; 48], &res);
    let near = |got: f64, want: f64| (got - want).abs() < 0.6;
    for (h, q) in [(1, BAND_Q), (24, band_q(24)), (48, BAND_Q_48)] {
        assert!(
            near(b.p10[h - 1], 100.0 * (0.5 + q)),
            "{h} h: {}",
            b.p10[h - 1]
        );
        assert!(
            near(b.p90[h - 1], 100.0 * (1.5 - q)),
            "{h} h: {}",
            b.p90[h - 1]
        );
    }
    assert!(b.p90[47] > b.p90[23] && b.p10[47] < b.p10[23]);
}

#[test]
fn the_band_rests_on_the_forecasts_made_at_the_validation_origins() {
    use nodecast::forecast::ensemble::{MemberCache, banded, validation_origins};
    // "early" forecasts 20 % high from histories under 150 hours and
    // exactly the last value after; "steady" 5 % high throughout. The
    // weights chosen now differ from those chosen at the early validation
    // origins, and the band must come from what the ensemble forecast then,
    // each with its own weights (not from today's weights on those origins,
    // which were picked because they fit them).
    let y = slow_random_walk();
    let observed = vec![true; y.len()];
    let ensemble = Ensemble::new(vec![
        Box::new(Scaled {
            name: "early",
            before: 1.2,
            after: 1.0,
            from: 150,
        }),
        Box::new(Scaled {
            name: "steady",
            before: 1.05,
            after: 1.05,
            from: 0,
        }),
    ]);
    let mut cache = MemberCache::default();
    let origin = y.len();
    let now = ensemble
        .forecast(&y, &observed, None, 0, origin, &mut cache, None)
        .expect("forecast");
    let mut res = vec![Vec::new(); 48];
    let mut other_weights = 0;
    for v in validation_origins(0, origin) {
        let then = ensemble
            .forecast(&y, &observed, None, 0, v, &mut MemberCache::default(), None)
            .expect("forecast then");
        other_weights += usize::from(then.weights != now.weights);
        for (h, r) in res.iter_mut().enumerate() {
            r.push(y[v + h] / then.combined.p50[h] - 1.0);
        }
    }
    assert!(other_weights > 0, "the weights never changed");
    let want = banded(&now.combined.p50, &res);
    for h in 0..48 {
        assert!((now.combined.p10[h] - want.p10[h]).abs() < 1e-9, "p10 {h}");
        assert!((now.combined.p90[h] - want.p90[h]).abs() < 1e-9, "p90 {h}");
    }
}
