//! Model versions in the models folder's manifest: each challenger trained,
//! the contest that judged it, which version is each series' champion, and
//! the operator's promotions and rollbacks.

use super::error::{Result, StoreError};
use super::models::ModelDir;
use crate::domain::SeriesKind;
use crate::forecast::champion::{ClusterModels, Contest, SeriesModels, Trigger};
use crate::forecast::persist::Pin;
use crate::forecast::persist::{Manifest, ModelVersion, VersionStatus};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// A change of champion: the version that served before (if any) and the
/// one that serves now.
#[derive(Clone, Debug, PartialEq)]
pub struct Promotion {
    pub from: Option<u32>,
    pub to: ModelVersion,
}

fn champion_of<'m>(m: &'m Manifest, cluster: &str, series: &str) -> Option<&'m ModelVersion> {
    m.versions
        .iter()
        .rev()
        .find(|v| v.cluster == cluster && v.series == series && v.status == VersionStatus::Champion)
}

/// Makes `version` (an index in `m.versions`) its series' champion at `at`;
/// the champion before it gets `old_status`. Returns the old champion.
fn crown(m: &mut Manifest, i: usize, old_status: VersionStatus, at: DateTime<Utc>) -> Option<u32> {
    let (cluster, series) = (m.versions[i].cluster.clone(), m.versions[i].series.clone());
    let mut from = None;
    for v in m.versions.iter_mut() {
        if v.cluster == cluster && v.series == series && v.status == VersionStatus::Champion {
            v.status = old_status;
            from = Some(v.version);
        }
    }
    let v = &mut m.versions[i];
    v.status = VersionStatus::Champion;
    v.promoted_at = Some(at);
    from
}

impl ModelDir {
    /// The version serving `series` of `cluster`, if one was ever promoted.
    pub fn champion(&self, cluster: &str, series: &str) -> Option<ModelVersion> {
        self.reading(|m| champion_of(m, cluster, series).cloned())
    }

    /// The champion model version of each forecast series of `cluster`.
    pub fn pins(&self, cluster: &str) -> BTreeMap<SeriesKind, Pin> {
        self.reading(|m| {
            SeriesKind::FORECAST
                .into_iter()
                .filter_map(|k| Some((k, champion_of(m, cluster, k.key())?.pin.clone())))
                .collect()
        })
    }

    /// Each forecast series' champion and latest challenger in `cluster`.
    pub fn serving(&self, cluster: &str) -> ClusterModels {
        self.reading(|m| {
            SeriesKind::FORECAST
                .into_iter()
                .filter_map(|k| {
                    let latest = m
                        .versions
                        .iter()
                        .rev()
                        .find(|v| v.cluster == cluster && v.series == k.key())?;
                    let models = SeriesModels {
                        champion: champion_of(m, cluster, k.key()).cloned(),
                        latest: Some(latest.clone()),
                    };
                    Some((k, models))
                })
                .collect()
        })
    }

    /// When `series` of `cluster` last had a challenger.
    pub fn last_contest(&self, cluster: &str, series: &str) -> Option<DateTime<Utc>> {
        self.reading(|m| {
            m.versions
                .iter()
                .filter(|v| v.cluster == cluster && v.series == series)
                .map(|v| v.created_at)
                .max()
        })
    }

    /// Records a contest's challenger as a new version, the champion when
    /// it won. Returns the version and, when promoted, the promotion.
    pub fn record_contest(
        &self,
        cluster: &str,
        series: &str,
        contest: &Contest,
        trigger: &Trigger,
        at: DateTime<Utc>,
    ) -> Result<(ModelVersion, Option<Promotion>)> {
        let mut m = self.manifest_mut()?;
        let against = champion_of(&m, cluster, series).map(|v| v.version);
        let version = m.versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
        let start =
            DateTime::from_timestamp(contest.challenger.through * 3600, 0).unwrap_or(contest.from);
        let trained_hours = m
            .models
            .values()
            .filter(|e| {
                contest
                    .challenger
                    .keys
                    .values()
                    .any(|k| e.data_hash == format!("{k:016x}"))
            })
            .map(|e| e.history_hours)
            .max()
            .unwrap_or(0);
        m.versions.push(ModelVersion {
            version,
            cluster: cluster.to_string(),
            series: series.to_string(),
            trained_through: start,
            trained_hours,
            pin: contest.challenger.clone(),
            trigger: trigger.describe(),
            held_back: [contest.from, contest.to],
            against,
            champion_mape: contest.champion_mape,
            challenger_mape: contest.challenger_mape,
            scored: contest.scored,
            weights: contest.weights.clone(),
            created_at: at,
            promoted_at: None,
            status: VersionStatus::Rejected,
        });
        let i = m.versions.len() - 1;
        let promotion = contest.promote().then(|| {
            let from = crown(&mut m, i, VersionStatus::Retired, at);
            Promotion {
                from,
                to: m.versions[i].clone(),
            }
        });
        let v = m.versions[i].clone();
        self.flush(&m)?;
        Ok((v, promotion))
    }

    /// Makes `version` its series' champion (an operator's promotion).
    pub fn promote(&self, version: u32, at: DateTime<Utc>) -> Result<Promotion> {
        let mut m = self.manifest_mut()?;
        let Some(i) = m.versions.iter().position(|v| v.version == version) else {
            return Err(StoreError::Version(format!(
                "no model version {version} in {}: `nodecast models list` shows them",
                self.path().display()
            )));
        };
        if m.versions[i].status == VersionStatus::Champion {
            return Err(StoreError::Version(format!(
                "model version {version} already serves {} of {}",
                m.versions[i].series, m.versions[i].cluster
            )));
        }
        let from = crown(&mut m, i, VersionStatus::Retired, at);
        let to = m.versions[i].clone();
        self.flush(&m)?;
        Ok(Promotion { from, to })
    }

    /// Puts back the champion before the latest promotion (of `cluster`'s
    /// `series` where given): the version it replaced serves again and the
    /// rolled-back one is marked so.
    pub fn rollback(
        &self,
        cluster: Option<&str>,
        series: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Promotion> {
        let mut m = self.manifest_mut()?;
        let matches = |v: &ModelVersion| {
            cluster.is_none_or(|c| v.cluster == c) && series.is_none_or(|s| v.series == s)
        };
        let Some(latest) = m
            .versions
            .iter()
            .filter(|v| matches(v) && v.status == VersionStatus::Champion)
            .max_by_key(|v| (v.promoted_at, v.version))
            .cloned()
        else {
            return Err(StoreError::Version(
                "no promoted model version to roll back".into(),
            ));
        };
        let Some(i) = m
            .versions
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                v.cluster == latest.cluster
                    && v.series == latest.series
                    && v.status == VersionStatus::Retired
            })
            .max_by_key(|(_, v)| (v.promoted_at, v.version))
            .map(|(i, _)| i)
        else {
            return Err(StoreError::Version(format!(
                "model version {} of {} on {} replaced no earlier version (the weekly models served before it); promote another version instead",
                latest.version, latest.series, latest.cluster
            )));
        };
        let from = crown(&mut m, i, VersionStatus::RolledBack, at);
        let to = m.versions[i].clone();
        self.flush(&m)?;
        Ok(Promotion { from, to })
    }
}
