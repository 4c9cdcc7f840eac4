//! The ensemble as the dashboard's [`Forecaster`]: history before the origin
//! in, banded forecast out, with the members serving each horizon named.

use super::ensemble::{Ensemble, EnsembleForecast, MemberCache};
use super::features::Calendar;
use super::persist::{ModelStore, Pin};
use super::registry::{all_members, members_saving, members_with};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Horizons whose validation sMAPE the manifest keeps.
pub const VALIDATION_HORIZONS: [usize; 5] = [1, 6, 12, 24, 48];
use super::features::ClusterContext;
use super::features::cluster_context;
use super::forecaster::{Forecaster, burst_warning, confidence, history_warning};
use super::prepared::Prepared;
use crate::domain::{Forecast, ForecastPoint, HorizonMix, HourlySeries, SeriesKind};
use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

/// Member forecasts at past origins do not change when the hour advances, so
/// the forecaster keeps them (keyed by the history they came from) between
/// refreshes: once trained, a refresh fits only the members at the new origin.
pub struct EnsembleForecaster {
    ensemble: Ensemble,
    cache: Mutex<MemberCache>,
    models: Option<Arc<dyn ModelStore>>,
}

impl Default for EnsembleForecaster {
    fn default() -> Self {
        EnsembleForecaster {
            ensemble: Ensemble::new(all_members()),
            cache: Mutex::new(MemberCache::default()),
            models: None,
        }
    }
}

impl EnsembleForecaster {
    /// The forecaster with holidays and business events from the config.
    pub fn with_calendar(cal: &Calendar) -> Self {
        EnsembleForecaster {
            ensemble: Ensemble::new(members_with(cal)),
            cache: Mutex::new(MemberCache::default()),
            models: None,
        }
    }

    /// The forecaster whose learned members load and save their models in
    /// `models`, with each member's validation scores in its manifest.
    pub fn with_models(cal: &Calendar, models: Arc<dyn ModelStore>) -> Self {
        EnsembleForecaster {
            ensemble: Ensemble::new(members_saving(cal, Some(models.clone()))),
            cache: Mutex::new(MemberCache::default()),
            models: Some(models),
        }
    }

    /// Writes each saving member's validation sMAPE at the scored horizons
    /// against the model file that served this forecast.
    fn record_validation(
        &self,
        f: &EnsembleForecast,
        p: &Prepared,
        ctx: Option<&ClusterContext>,
        pin: Option<&Pin>,
    ) {
        let Some(dir) = &self.models else { return };
        for (j, m) in self.ensemble.members.iter().enumerate() {
            let pinned = pin
                .filter(|pin| pin.serves(p.start_hour, p.y.len()))
                .and_then(|pin| m.file_for(*pin.keys.get(m.name())?));
            let Some(file) = pinned.or_else(|| m.model_file(&p.y, ctx, p.start_hour)) else {
                continue;
            };
            let smape: BTreeMap<String, f64> = VALIDATION_HORIZONS
                .iter()
                .filter_map(|h| {
                    let v = f.member_smape[j].get(h - 1).copied().flatten()?;
                    Some((h.to_string(), (v * 1000.0).round() / 1000.0))
                })
                .collect();
            if let Err(e) = dir.record_validation(&file, smape) {
                tracing::warn!(error = %e, "cannot update the model manifest");
            }
        }
    }

    /// The members' names, in ensemble order.
    pub fn member_names(&self) -> Vec<&'static str> {
        self.ensemble.members.iter().map(|m| m.name()).collect()
    }

    /// Forgets the member forecasts at `origin` for this cluster series, so
    /// the next forecast refits the members there as an hourly refresh would.
    pub fn forget_origin(
        &self,
        series: SeriesKind,
        cluster: &BTreeMap<SeriesKind, HourlySeries>,
        origin: DateTime<Utc>,
    ) {
        let Some(p) = cluster
            .get(&series)
            .and_then(|h| Prepared::before(h, Some(origin)))
        else {
            return;
        };
        let ctx = cluster_context(&p, cluster, origin);
        if let Ok(mut c) = self.cache.lock() {
            c.forget(&p.y, Some(&ctx), p.start_hour);
        }
    }

    /// The forecast from prepared history and, for a cluster, its other series.
    fn forecast_prepared(
        &self,
        series: SeriesKind,
        p: &Prepared,
        ctx: Option<&ClusterContext>,
        origin: DateTime<Utc>,
        hours: usize,
        pin: Option<&Pin>,
    ) -> Option<Forecast> {
        let history_hours = p.hours_observed();
        if history_hours == 0 {
            return None;
        }
        let mut cache = self.cache.lock().ok()?;
        let (y, observed, start) = (&p.y, &p.observed, p.start_hour);
        let f = self
            .ensemble
            .forecast(y, observed, ctx, start, y.len(), &mut cache, pin)?;
        drop(cache);
        self.record_validation(&f, p, ctx, pin);
        Some(self.presented(series, &f, history_hours, origin, hours))
    }
}

/// Horizons whose model mix the forecast pane shows.
pub const MIX_HORIZONS: [usize; 4] = [1, 6, 24, 48];

/// The members with weight in the combined forecast at horizon `h`
/// (1-based), heaviest first.
pub fn serving(f: &EnsembleForecast, names: &[&str], h: usize) -> HorizonMix {
    let w = &f.serving[h - 1];
    let mut idx: Vec<usize> = (0..w.len()).filter(|j| w[*j] > 0.0).collect();
    idx.sort_by(|a, b| w[*b].total_cmp(&w[*a]).then(a.cmp(b)));
    HorizonMix {
        horizon: h,
        members: idx.iter().map(|j| (names[*j].to_string(), w[*j])).collect(),
        median_share: super::selection::median_share(h - 1),
    }
}

impl Forecaster for EnsembleForecaster {
    fn name(&self) -> &str {
        "ensemble"
    }

    fn forecast(
        &self,
        series: SeriesKind,
        history: &HourlySeries,
        origin: DateTime<Utc>,
        hours: usize,
    ) -> Option<Forecast> {
        let p = Prepared::before(history, Some(origin))?;
        self.forecast_prepared(series, &p, None, origin, hours, None)
    }

    fn forecast_in(
        &self,
        series: SeriesKind,
        cluster: &BTreeMap<SeriesKind, HourlySeries>,
        origin: DateTime<Utc>,
        hours: usize,
    ) -> Option<Forecast> {
        self.forecast_pinned(series, cluster, origin, hours, None)
    }

    fn forecast_pinned(
        &self,
        series: SeriesKind,
        cluster: &BTreeMap<SeriesKind, HourlySeries>,
        origin: DateTime<Utc>,
        hours: usize,
        pin: Option<&Pin>,
    ) -> Option<Forecast> {
        let p = Prepared::before(cluster.get(&series)?, Some(origin))?;
        let ctx = cluster_context(&p, cluster, origin);
        self.forecast_prepared(series, &p, Some(&ctx), origin, hours, pin)
    }

    fn train_through(
        &self,
        series: SeriesKind,
        cluster: &BTreeMap<SeriesKind, HourlySeries>,
        through: DateTime<Utc>,
    ) -> Option<Pin> {
        let p = Prepared::before(cluster.get(&series)?, Some(through))?;
        let ctx = cluster_context(&p, cluster, through);
        let keys: BTreeMap<String, u64> = self
            .ensemble
            .members
            .iter()
            .filter_map(|m| {
                Some((
                    m.name().to_string(),
                    m.train(&p.y, Some(&ctx), p.start_hour)?,
                ))
            })
            .collect();
        (!keys.is_empty()).then(|| Pin {
            through: p.start_hour + p.y.len() as i64,
            keys,
        })
    }
}

impl EnsembleForecaster {
    /// The forecast shown on screen from the ensemble's forecast.
    fn presented(
        &self,
        series: SeriesKind,
        f: &EnsembleForecast,
        history_hours: usize,
        origin: DateTime<Utc>,
        hours: usize,
    ) -> Forecast {
        let names: Vec<&str> = self.ensemble.members.iter().map(|m| m.name()).collect();
        let model = if f.validation_origins == 0 {
            format!(
                "ensemble of {} members, cold start: naive, then the global models (no validation window yet)",
                names.len()
            )
        } else {
            format!(
                "ensemble of {} members, weights from {} validation origins",
                names.len(),
                f.validation_origins
            )
        };
        let mix = MIX_HORIZONS
            .iter()
            .filter(|h| **h <= hours)
            .map(|h| serving(f, &names, *h))
            .collect();
        let points: Vec<ForecastPoint> = (0..hours.min(f.combined.p50.len()))
            .map(|i| ForecastPoint {
                ts: origin + Duration::hours(i as i64),
                p10: f.combined.p10[i],
                p50: f.combined.p50[i],
                p90: f.combined.p90[i],
            })
            .collect();
        let confidence = confidence(&points, f.validation_origins, history_hours);
        Forecast {
            series,
            issued_at: origin,
            model,
            points,
            history_hours,
            warnings: history_warning(history_hours)
                .into_iter()
                .chain(f.after_a_burst.map(burst_warning))
                .collect(),
            confidence,
            mix,
        }
    }
}
