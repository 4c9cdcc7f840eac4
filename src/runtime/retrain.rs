//! Retraining in the live loop (the forecast job and `nodecast replay`):
//! which model version serves each series, and when a challenger is
//! trained, judged and recorded. The contest itself is
//! `forecast::champion`; the versions live in the models folder's manifest.

use crate::domain::{HourlySeries, SeriesKind};
use crate::forecast::Forecaster;
use crate::forecast::accuracy::SeriesAccuracy;
use crate::forecast::champion::{
    ClusterModels, DRIFT_FACTOR, RETRAIN_HOURS, contest, drift_levels, due,
};
use crate::forecast::persist::{ModelVersion, Pin};
use crate::store::models::ModelDir;
use crate::store::versions::Promotion;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// When challengers are trained, and where versions are kept.
#[derive(Clone)]
pub struct Retrainer {
    pub models: Arc<ModelDir>,
    /// Hours between scheduled challengers.
    pub every_hours: i64,
    /// Recent error over the 30-day level that counts as drift.
    pub drift_factor: f64,
    /// Where the schedule counts from for a series that never had a
    /// challenger (the dashboard's start; `None`: at once).
    pub since: Option<DateTime<Utc>>,
}

/// A challenger trained and judged: its version and, when it won, the
/// promotion.
#[derive(Clone, Debug)]
pub struct Retrained {
    pub cluster: String,
    pub series: SeriesKind,
    pub version: ModelVersion,
    pub promotion: Option<Promotion>,
}

impl Retrained {
    /// One line for logs and the replay's listing.
    pub fn describe(&self) -> String {
        let v = &self.version;
        let pct = |m: Option<f64>| m.map_or("-".into(), |m| format!("{m:.2} %"));
        let against = v
            .against
            .map_or("weekly models".into(), |a| format!("v{a}"));
        format!(
            "{} {}: v{} ({}) {} {} on {}..{}: challenger MAPE {} vs {}",
            self.cluster,
            self.series.key(),
            v.version,
            v.trigger,
            if self.promotion.is_some() {
                "promoted over"
            } else {
                "rejected against"
            },
            against,
            v.held_back[0].format("%m-%d %H:%M"),
            v.held_back[1].format("%m-%d %H:%M"),
            pct(v.challenger_mape),
            pct(v.champion_mape),
        )
    }
}

impl Retrainer {
    /// The defaults: daily challengers, drift at 1.5x the 30-day error.
    pub fn new(models: Arc<ModelDir>) -> Self {
        Retrainer {
            models,
            every_hours: RETRAIN_HOURS,
            drift_factor: DRIFT_FACTOR,
            since: None,
        }
    }

    /// Each series' champion and latest challenger in `cluster`.
    pub fn serving(&self, cluster: &str) -> ClusterModels {
        self.models.serving(cluster)
    }

    /// The champion model version of each series of `cluster`.
    pub fn pins(&self, cluster: &str) -> BTreeMap<SeriesKind, Pin> {
        self.models.pins(cluster)
    }

    /// Trains and judges a challenger for `series` of `cluster` when one is
    /// due at `now` (schedule, or drift in `acc`), and records it.
    pub fn retrain(
        &self,
        f: &dyn Forecaster,
        cluster: &str,
        series: SeriesKind,
        history: &BTreeMap<SeriesKind, HourlySeries>,
        acc: Option<&SeriesAccuracy>,
        now: DateTime<Utc>,
    ) -> Option<Retrained> {
        let last = self
            .models
            .last_contest(cluster, series.key())
            .or(self.since);
        let levels = acc.and_then(drift_levels);
        let trigger = due(last, now, self.every_hours, levels, self.drift_factor)?;
        let champion = self.models.champion(cluster, series.key());
        let c = contest(f, series, history, champion.as_ref().map(|v| &v.pin), now)?;
        match self
            .models
            .record_contest(cluster, series.key(), &c, &trigger, now)
        {
            Ok((version, promotion)) => Some(Retrained {
                cluster: cluster.to_string(),
                series,
                version,
                promotion,
            }),
            Err(e) => {
                tracing::warn!(
                    cluster,
                    series = series.key(),
                    "cannot record a model version: {e}"
                );
                None
            }
        }
    }
}
