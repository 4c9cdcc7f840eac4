//! The `Forecaster` the dashboard, the CLI and the tests share: a series'
//! hourly history and an origin in, a banded forecast out. Pure: no I/O and
//! no clock reads (the origin is an argument).

use super::horizon::HORIZON_HOURS;
use super::persist::Pin;
use crate::domain::{ClusterForecast, Forecast, HourlySeries, SeriesKind};
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

/// Warnings about the amount of history, at AWS predictive scaling's thresholds.
pub fn history_warnings(hours: usize) -> Vec<String> {
    if hours < 24 {
        vec![format!(
            "only {hours} h of history: forecast unreliable (needs 24 h)"
        )]
    } else if hours < 14 * 24 {
        vec![format!(
            "{:.1} days of history: weekly pattern not learnt (needs 14 days)",
            hours as f64 / 24.0
        )]
    } else {
        Vec::new()
    }
}

/// What the operator reads when the rule after a burst serves: the latest
/// `hours` are far from the same hour of the days and weeks before, and
/// past the first hours the forecast is the median of the last week.
pub fn burst_warning(hours: usize) -> String {
    format!(
        "{BURST} ({hours} h off the usual pattern): from {} h on, the forecast is the last week's median",
        super::selection::SHORT_HORIZONS + 1
    )
}

/// How [`burst_warning`] begins.
pub const BURST: &str = "burst in progress";

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
