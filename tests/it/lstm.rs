//! The Candle LSTM member.

use crate::fixture::{mape, noise};
use nodecast::forecast::lstm::{LstmMember, LstmNet, OUT};
use nodecast::forecast::members::Member;

fn daily(h: usize) -> f64 {
    100.0 + 30.0 * ((h % 24) as f64 / 24.0 * std::f64::consts::TAU).sin()
}

#[test]
fn lstm_learns_a_daily_cycle_but_not_noise_and_round_trips_through_safetensors() {
    let y: Vec<f64> = (0..14 * 24).map(daily).collect();
    let net = LstmNet::new(42).expect("net");
    let before = net.predict(&y, 0).expect("predict");
    let loss = net.train(&y, 0).expect("train");
    assert!(loss.is_finite());
    let truth: Vec<f64> = (14 * 24..14 * 24 + OUT).map(daily).collect();
    let after = net.predict(&y, 0).expect("predict");
    assert!(
        mape(&truth, &after) < mape(&truth, &before),
        "training helps"
    );
    assert!(
        mape(&truth, &after) < 6.0,
        "cycle learnt: {}",
        mape(&truth, &after)
    );
    // Noise: the next hours cannot be known; the error stays near the noise level.
    let z: Vec<f64> = (0..14 * 24 + OUT)
        .map(|h| 100.0 + 30.0 * noise(h))
        .collect();
    let nz = LstmNet::new(42).expect("net");
    nz.train(&z[..14 * 24], 0).expect("train");
    let fz = nz.predict(&z[..14 * 24], 0).expect("predict");
    assert!(mape(&z[14 * 24..], &fz) > 8.0);
    // Save and load (safetensors bytes): the same forecast; a cut file is refused.
    let bytes = net.to_bytes().expect("save");
    let back = LstmNet::from_bytes(&bytes).expect("load");
    assert_eq!(back.predict(&y, 0).expect("predict"), after);
    assert!(LstmNet::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    // A net of another width loads as that width (the global net's may differ).
    let wide = LstmNet::with_hidden(7, 24).expect("net");
    let wide_back = LstmNet::from_bytes(&wide.to_bytes().expect("save")).expect("load");
    assert_eq!(
        wide_back.predict(&y, 0).expect("predict"),
        wide.predict(&y, 0).expect("predict")
    );
    assert_ne!(wide.predict(&y, 0).expect("predict"), before);
    // Deterministic: the same seed and data give the same model.
    let again = LstmNet::new(42).expect("net");
    again.train(&y, 0).expect("train");
    assert_eq!(again.predict(&y, 0).expect("predict"), after);
}

#[test]
fn lstm_member_serves_six_hours_and_needs_five_days() {
    let m = LstmMember::default();
    let y: Vec<f64> = (0..10 * 24).map(daily).collect();
    assert_eq!(m.point(&y, 0, 48).expect("forecast").len(), OUT);
    assert!(m.point(&y[..4 * 24], 0, 48).is_none());
}
