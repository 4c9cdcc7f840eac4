//! Champion and challenger: when a series' learned models are retrained,
//! and whether the new ones serve. Pure over a [`Forecaster`] (which may
//! train and save models in its model store; no clock reads).
//!
//! A challenger is trained on the series' hours before the held-back
//! window (the last [`HELD_BACK_HOURS`]). The champion (the promoted model
//! version, or the weekly models before any) and the challenger each
//! forecast from origins every [`CONTEST_STEP`] hours in that window, the
//! hours up to its end; neither was trained on them. The challenger is
//! promoted only when its MAPE over those hours is lower.

use super::accuracy::{Score, SeriesAccuracy, WINDOWS};
use super::forecaster::Forecaster;
use super::horizon::HORIZON_HOURS;
use super::horizon::origin_for;
use super::persist::{ModelVersion, Pin};
use crate::domain::{HorizonMix, HourlySeries, SeriesKind};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The held-back window a challenger is judged on, in hours.
pub const HELD_BACK_HOURS: i64 = 48;
/// Hours between the contest's forecast origins.
pub const CONTEST_STEP: i64 = 6;
/// Hours between scheduled challengers by default (daily).
pub const RETRAIN_HOURS: i64 = 24;
/// A series drifts when its last 24 h of scored forecasts err this many
/// times its own 30-day level (MAPE pooled over the scored lead times).
pub const DRIFT_FACTOR: f64 = 1.5;
/// Hours of history before a first challenger (two weeks: the weekly
/// pattern learnt, as the forecast's own warning asks).
pub const MIN_HISTORY_HOURS: usize = 14 * 24;

/// Why a challenger is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Trigger {
    /// The schedule: no contest for `every_hours`.
    Schedule { every_hours: i64 },
    /// The ledger's recent error over its 30-day level.
    Drift { recent_mape: f64, level_mape: f64 },
}

impl Trigger {
    pub fn describe(&self) -> String {
        match self {
            Trigger::Schedule { every_hours } => format!("schedule (every {every_hours} h)"),
            Trigger::Drift {
                recent_mape,
                level_mape,
            } => format!("drift: last 24 h MAPE {recent_mape:.1} % vs 30-day {level_mape:.1} %"),
        }
    }
}

/// The recent (24 h) and 30-day MAPE of a series' scored forecasts, pooled
/// over the lead times, when both rest on enough scored hours.
pub fn drift_levels(acc: &SeriesAccuracy) -> Option<(f64, f64)> {
    let pooled = |w: usize| {
        let s = Score::of_scores(acc.by_lead.iter().filter_map(|l| l.get(w)));
        s.enough().then_some(s.mape).flatten()
    };
    Some((pooled(0)?, pooled(WINDOWS.len() - 1)?))
}

/// Whether a challenger is due at `now`, and why: drift first, else the
/// schedule (`last`: the series' last contest).
pub fn due(
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    every_hours: i64,
    levels: Option<(f64, f64)>,
    factor: f64,
) -> Option<Trigger> {
    let recent = last.is_some_and(|t| now - t < Duration::hours(CONTEST_STEP));
    if let Some((r, l)) = levels
        && r > factor * l
        && !recent
    {
        return Some(Trigger::Drift {
            recent_mape: r,
            level_mape: l,
        });
    }
    last.is_none_or(|t| now - t >= Duration::hours(every_hours))
        .then_some(Trigger::Schedule { every_hours })
}

/// A challenger against the champion on the held-back window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Contest {
    pub challenger: Pin,
    /// The held-back window `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub champion_mape: Option<f64>,
    pub challenger_mape: Option<f64>,
    /// Scored (origin, hour) pairs behind each MAPE.
    pub scored: usize,
    /// The ensemble's member weights at the window's end with the
    /// challenger's models (what it would serve with then; the weights are
    /// recomputed every refresh from the rolling validation).
    pub weights: Vec<HorizonMix>,
}

impl Contest {
    /// The challenger serves only when it scored, and better than the
    /// champion (which keeps serving when it has no score either).
    pub fn promote(&self) -> bool {
        match (self.champion_mape, self.challenger_mape) {
            (Some(c), Some(n)) => n < c,
            (None, Some(_)) => true,
            _ => false,
        }
    }
}

/// MAPE (%) of the forecasts `pin` serves from origins every
/// [`CONTEST_STEP`] hours in `[from, to)`, over their hours before `to`,
/// and the number of (origin, hour) pairs scored.
pub fn held_back_mape(
    f: &dyn Forecaster,
    series: SeriesKind,
    cluster: &BTreeMap<SeriesKind, HourlySeries>,
    pin: Option<&Pin>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Option<f64>, usize) {
    let Some(history) = cluster.get(&series) else {
        return (None, 0);
    };
    let (mut sum, mut n) = (0.0, 0usize);
    let mut origin = from;
    while origin < to {
        let hours = (to - origin).num_hours() as usize;
        if let Some(fc) = f.forecast_pinned(series, cluster, origin, hours, pin) {
            for p in &fc.points {
                if let Some(a) = history.at(p.ts).filter(|a| *a != 0.0) {
                    sum += (a - p.p50).abs() / a.abs() * 100.0;
                    n += 1;
                }
            }
        }
        origin += Duration::hours(CONTEST_STEP);
    }
    ((n > 0).then(|| sum / n as f64), n)
}

/// Trains a challenger on the hours before the held-back window ending at
/// `now` and scores it and the `champion` on that window. `None` when
/// there is too little history or the forecaster trains no models.
pub fn contest(
    f: &dyn Forecaster,
    series: SeriesKind,
    cluster: &BTreeMap<SeriesKind, HourlySeries>,
    champion: Option<&Pin>,
    now: DateTime<Utc>,
) -> Option<Contest> {
    let history = cluster.get(&series)?;
    // Whole hours only: the hour in progress is not an actual yet.
    let to = origin_for(history.end()?.min(now));
    let from = to - Duration::hours(HELD_BACK_HOURS);
    if (from - history.start?).num_hours() < MIN_HISTORY_HOURS as i64 {
        return None;
    }
    let challenger = f.train_through(series, cluster, from)?;
    let (champion_mape, scored) = held_back_mape(f, series, cluster, champion, from, to);
    let (challenger_mape, _) = held_back_mape(f, series, cluster, Some(&challenger), from, to);
    let weights = f
        .forecast_pinned(series, cluster, to, HORIZON_HOURS, Some(&challenger))
        .map(|fc| fc.mix)
        .unwrap_or_default();
    Some(Contest {
        challenger,
        from,
        to,
        champion_mape: champion_mape.map(round3),
        challenger_mape: challenger_mape.map(round3),
        scored,
        weights,
    })
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// A series' model versions as the Accuracy pane shows them: the one that
/// serves and the latest challenger.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesModels {
    pub champion: Option<ModelVersion>,
    pub latest: Option<ModelVersion>,
}

/// Each series' model versions of one cluster.
pub type ClusterModels = BTreeMap<SeriesKind, SeriesModels>;
