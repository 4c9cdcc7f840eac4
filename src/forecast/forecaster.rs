//! The `Forecaster` the dashboard, the CLI and the tests share: a series'
//! hourly history and an origin in, a banded forecast out. Pure: no I/O and
//! no clock reads (the origin is an argument).

use super::horizon::HORIZON_HOURS;
use super::persist::Pin;
use crate::domain::{ClusterForecast, Forecast, ForecastWarning, HourlySeries, SeriesKind};
use crate::snapshot::ClusterView;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Turns a series' hourly history into a forecast of the hours from `origin` on.
/// Pure: no I/O, no clock reads.
pub trait Forecaster: Send + Sync {
    /// Model name as shown on screen.
    fn name(&self) -> &str;
    /// Forecast of hours `origin .. origin + hours`, from the history before `origin`.
    fn forecast(
        &self,
        series: SeriesKind,
        history: &HourlySeries,
        origin: DateTime<Utc>,
        hours: usize,
    ) -> Option<Forecast>;
    /// The same forecast with the cluster's other series at hand
    /// (`cluster` holds every series of the cluster, `series` among them).
    fn forecast_in(
        &self,
        series: SeriesKind,
        cluster: &BTreeMap<SeriesKind, HourlySeries>,
        origin: DateTime<Utc>,
        hours: usize,
    ) -> Option<Forecast> {
        self.forecast(series, cluster.get(&series)?, origin, hours)
    }
    /// The forecast served by the model version `pin` (`None`: the weekly
    /// models). Forecasters without trained models ignore the pin.
    fn forecast_pinned(
        &self,
        series: SeriesKind,
        cluster: &BTreeMap<SeriesKind, HourlySeries>,
        origin: DateTime<Utc>,
        hours: usize,
        _pin: Option<&Pin>,
    ) -> Option<Forecast> {
        self.forecast_in(series, cluster, origin, hours)
    }
    /// Trains a model version on the hours of `series` before `through`
    /// (`None` for forecasters without trained models, or too little history).
    fn train_through(
        &self,
        _series: SeriesKind,
        _cluster: &BTreeMap<SeriesKind, HourlySeries>,
        _through: DateTime<Utc>,
    ) -> Option<Pin> {
        None
    }
}

/// Forecasts of every forecast series of one cluster from `origin`, 48 h
/// ahead: what the dashboard's forecast job and `nodecast forecast` issue.
pub fn forecast_cluster(
    f: &dyn Forecaster,
    view: &ClusterView,
    origin: DateTime<Utc>,
) -> ClusterForecast {
    forecast_cluster_pinned(f, view, origin, &BTreeMap::new())
}

/// [`forecast_cluster`] with each series served by its champion model
/// version in `pins` (the weekly models where it has none).
pub fn forecast_cluster_pinned(
    f: &dyn Forecaster,
    view: &ClusterView,
    origin: DateTime<Utc>,
    pins: &BTreeMap<SeriesKind, Pin>,
) -> ClusterForecast {
    SeriesKind::FORECAST
        .into_iter()
        .filter_map(|k| {
            let fc = f.forecast_pinned(k, &view.history, origin, HORIZON_HOURS, pins.get(&k))?;
            Some((k, fc))
        })
        .collect()
}

/// The warning about the amount of history, at AWS predictive scaling's
/// thresholds (24 h, 14 days), if any.
pub fn history_warning(hours: usize) -> Option<ForecastWarning> {
    (hours < 14 * 24).then_some(ForecastWarning::ShortHistory { hours })
}

/// What the operator reads when the rule after a burst serves: the latest
/// `hours` are far from the same hour of the days and weeks before, and
/// past the first hours the forecast is the median of the last week.
pub fn burst_warning(hours: usize) -> ForecastWarning {
    ForecastWarning::Burst {
        hours,
        from_horizon: super::selection::SHORT_HORIZONS + 1,
    }
}

/// Confidence 0-100 from the band's mean relative half-width `r` (sharpness
/// `1 / (1 + 5r)`) and the evidence behind it (validation origins out of 28,
/// history out of 14 days): `100 * sharpness * (0.5 + 0.5 * evidence)`.
pub fn confidence(
    points: &[crate::domain::ForecastPoint],
    validation_origins: usize,
    history_hours: usize,
) -> u8 {
    if points.is_empty() {
        return 0;
    }
    let r = points
        .iter()
        .map(|p| {
            if p.p50 > 1e-9 {
                (p.p90 - p.p10) / (2.0 * p.p50)
            } else {
                1.0
            }
        })
        .sum::<f64>()
        / points.len() as f64;
    let sharpness = 1.0 / (1.0 + 5.0 * r.max(0.0));
    let evidence = (validation_origins as f64 / 28.0).min(1.0)
        * (history_hours as f64 / 336.0).min(1.0).sqrt();
    (100.0 * sharpness * (0.5 + 0.5 * evidence))
        .round()
        .clamp(0.0, 100.0) as u8
}
