//! Trained models saved under the models folder with a manifest, loaded
//! instead of retrained, copied in from a read-only (pretrained) folder, and
//! refitted when a file is unreadable.

use nodecast::forecast::features::Calendar;
use nodecast::forecast::learned::{Kind, TreeMember};
use nodecast::forecast::lstm::LstmMember;
use nodecast::forecast::members::Member;
use nodecast::forecast::persist::{MANIFEST, file_name};
use nodecast::store::models::{ModelDir, read_manifest};
use std::sync::Arc;

fn cycles(hours: usize) -> Vec<f64> {
    (0..hours)
        .map(|h| {
            let day = (h % 24) as f64 / 24.0 * std::f64::consts::TAU;
            100.0 + 30.0 * day.sin() + if (h / 24) % 7 >= 5 { -20.0 } else { 0.0 }
        })
        .collect()
}

fn dir(path: &std::path::Path, read_only: Vec<std::path::PathBuf>) -> Arc<ModelDir> {
    Arc::new(ModelDir::open(path, read_only).expect("models dir"))
}

#[test]
fn tree_models_save_with_a_manifest_and_load_without_refitting() {
    let tmp = tempfile::tempdir().expect("tmp");
    let y = cycles(15 * 24);
    for kind in [Kind::Forest, Kind::Boost] {
        let models = dir(tmp.path(), vec![]);
        let first = TreeMember::new(kind, Calendar::default()).saving(Some(models.clone()));
        let f1 = first.point(&y, 0, 48).expect("forecast");
        let name = first.model_file(&y, None, 0).expect("file");
        let key = u64::from_str_radix(
            name.trim_start_matches(first.name())
                .trim_start_matches('-')
                .trim_end_matches(".json"),
            16,
        )
        .expect("hex key");
        assert!(tmp.path().join(&name).exists(), "{name} written");
        let entry = read_manifest(tmp.path()).expect("manifest").models[&name].clone();
        assert_eq!(entry.member, first.name());
        assert_eq!(entry.data_hash, format!("{key:016x}"));
        assert_eq!(entry.history_hours, 14 * 24);
        assert_eq!(entry.horizons, [1, 48]);
        assert_eq!(name, file_name(first.name(), key, "json"));
        // The cluster's series are part of the key: another context, another model.
        let ctx = nodecast::forecast::features::ClusterContext {
            pods: Some(vec![10.0; y.len()]),
            ..Default::default()
        };
        assert_ne!(first.model_file(&y, Some(&ctx), 0), Some(name.clone()));
        // A new process: the model comes from the file, the forecast is the same
        // and the manifest keeps the first training time.
        let second =
            TreeMember::new(kind, Calendar::default()).saving(Some(dir(tmp.path(), vec![])));
        assert_eq!(second.point(&y, 0, 48).expect("forecast"), f1);
        let again = read_manifest(tmp.path()).expect("manifest").models[&name].clone();
        assert_eq!(again.trained_at, entry.trained_at);
        // A damaged file is refitted (same seeds, same forecast), never a panic.
        std::fs::write(tmp.path().join(&name), b"{\"Forest\": [").expect("damage");
        let third =
            TreeMember::new(kind, Calendar::default()).saving(Some(dir(tmp.path(), vec![])));
        assert_eq!(third.point(&y, 0, 48).expect("forecast"), f1);
        let refit = read_manifest(tmp.path()).expect("manifest").models[&name].clone();
        assert!(refit.trained_at > entry.trained_at);
    }
}

#[test]
fn a_tree_file_reading_a_missing_feature_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let y = cycles(15 * 24);
    let name = TreeMember::new(Kind::Boost, Calendar::default())
        .saving(Some(dir(tmp.path(), vec![])))
        .model_file(&y, None, 0)
        .expect("file");
    let bad = r#"{"Boost":{"base":0.0,"learning_rate":0.1,"trees":[{"feature":[999,-1,-1],"value":[0.5,1.0,2.0],"left":[1,0,0],"right":[2,0,0]}]}}"#;
    std::fs::write(tmp.path().join(&name), bad).expect("write");
    let m = TreeMember::new(Kind::Boost, Calendar::default()).saving(Some(dir(tmp.path(), vec![])));
    let f = m.point(&y, 0, 48).expect("refitted instead");
    assert!(f.iter().all(|v| v.is_finite() && *v > 30.0));
    let text = std::fs::read_to_string(tmp.path().join(&name)).expect("read");
    assert_ne!(text, bad, "replaced by a fitted model");
    assert!(!text.contains("[999,"), "no split on feature 999");
}

#[test]
fn lstm_nets_come_from_a_read_only_pretrained_folder_and_are_copied_in() {
    let pretrained = tempfile::tempdir().expect("pretrained");
    let user = tempfile::tempdir().expect("user");
    let y = cycles(8 * 24);
    let trainer = LstmMember::new(Some(dir(pretrained.path(), vec![])));
    let f1 = trainer.point(&y, 0, 6).expect("forecast");
    let name = trainer.model_file(&y, None, 0).expect("file");
    assert!(name.ends_with(".safetensors"));
    let entry = read_manifest(pretrained.path()).expect("manifest").models[&name].clone();
    assert_eq!(entry.horizons, [1, 6]);
    assert!(entry.training_loss.is_some_and(|l| l.is_finite()));
    // The user's folder starts empty; the pretrained net is found, copied in
    // with its manifest entry, and forecasts exactly as the trainer did.
    let user_dir = dir(user.path(), vec![pretrained.path().to_path_buf()]);
    let served = LstmMember::new(Some(user_dir));
    assert_eq!(served.point(&y, 0, 6).expect("forecast"), f1);
    assert!(user.path().join(&name).exists());
    let copied = read_manifest(user.path()).expect("manifest").models[&name].clone();
    assert_eq!(copied, entry);
}

#[test]
fn the_dashboard_forecaster_records_member_validation_in_the_manifest() {
    use chrono::{Duration, TimeZone, Utc};
    use nodecast::domain::{HourlySeries, SeriesKind};
    use nodecast::forecast::Forecaster;
    use nodecast::forecast::live::EnsembleForecaster;
    let tmp = tempfile::tempdir().expect("tmp");
    let t0 = Utc
        .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
        .single()
        .expect("t0");
    let y = cycles(16 * 24);
    let history = HourlySeries {
        start: Some(t0),
        values: y.iter().map(|v| Some(*v)).collect(),
    };
    let f = EnsembleForecaster::with_models(&Calendar::default(), dir(tmp.path(), vec![]));
    let origin = t0 + Duration::hours(y.len() as i64);
    f.forecast(SeriesKind::Nodes, &history, origin, 48)
        .expect("forecast");
    let m = read_manifest(tmp.path()).expect("manifest");
    let members: std::collections::BTreeSet<&str> =
        m.models.values().map(|e| e.member.as_str()).collect();
    assert_eq!(members, ["boost", "forest", "lstm"].into_iter().collect());
    // The models serving this origin carry the members' validation sMAPE.
    let scored: Vec<_> = m
        .models
        .values()
        .filter(|e| !e.validation_smape.is_empty())
        .collect();
    assert_eq!(scored.len(), 3, "{scored:?}");
    for e in scored {
        assert!(e.validation_smape.contains_key("1"), "{e:?}");
        assert!(
            e.validation_smape
                .values()
                .all(|v| v.is_finite() && *v >= 0.0)
        );
    }
    assert!(tmp.path().join(MANIFEST).exists());
}

#[test]
fn the_shipped_demo_models_serve_the_demo_without_training() {
    // Every model the demo's first forecasts use is one of the shipped
    // pretrained ones, copied in unchanged: none was trained. (A change to
    // the features, members or demo makes this fail: rerun
    // `cargo run --release -- train --models-dir models/demo`.)
    let built = crate::fixture::built();
    let shipped = read_manifest(&crate::fixture::shipped_models()).expect("shipped manifest");
    assert!(!built.manifest.models.is_empty());
    for (name, entry) in &built.manifest.models {
        let s = shipped.models.get(name);
        assert!(s.is_some(), "{name} was trained, not shipped");
        assert_eq!(s.map(|s| &s.data_hash), Some(&entry.data_hash));
    }
}

#[test]
fn the_models_folder_keeps_the_newest_models_only() {
    let tmp = tempfile::tempdir().expect("tmp");
    let models = Arc::new(ModelDir::open(tmp.path(), vec![]).expect("dir").keeping(2));
    let member = TreeMember::new(Kind::Boost, Calendar::default()).saving(Some(models.clone()));
    // Three weeks of history past the first: three models, one a week.
    let y = cycles(10 * 7 * 24);
    let mut names = Vec::new();
    for weeks in [2, 3, 4] {
        let h = &y[..weeks * 7 * 24 + 5];
        member.point(h, 0, 6).expect("forecast");
        names.push(member.model_file(h, None, 0).expect("file"));
    }
    let m = read_manifest(tmp.path()).expect("manifest");
    assert_eq!(m.models.len(), 2);
    assert!(!m.models.contains_key(&names[0]) && !tmp.path().join(&names[0]).exists());
    for n in &names[1..] {
        assert!(
            m.models.contains_key(n) && tmp.path().join(n).exists(),
            "{n}"
        );
    }
}
