//! The hourly backtest protocol of PROTOCOL.md: origins, scoring, JSON report.
//! Pure: series in, scores out.

use super::horizon::{HORIZON_HOURS as H, OriginForecast, STEP, origins};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct HorizonScore {
    pub mape: Option<f64>,
    pub smape: Option<f64>,
    pub mase: Option<f64>,
    pub coverage80: Option<f64>,
    pub n: usize,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// MASE scale: mean `|y[t] - y[t-24]|` over hours before the first origin.
pub fn mase_scale(y: &[Option<f64>], first_origin: usize) -> Option<f64> {
    let d: Vec<f64> = (24..first_origin.min(y.len()))
        .filter_map(|t| Some((y[t]? - y[t - 24]?).abs()))
        .collect();
    mean(&d).filter(|s| *s > 0.0)
}

/// Scores forecasts made at `origins` (same order) against `y` at the
/// scored horizons; a forecast shorter than a horizon is not scored there.
pub fn score(
    y: &[Option<f64>],
    origins: &[usize],
    forecasts: &[OriginForecast],
    with_band: bool,
) -> BTreeMap<String, HorizonScore> {
    let scale = origins.first().and_then(|o| mase_scale(y, *o));
    let mut out = BTreeMap::new();
    for h in 1..=H {
        let (mut ape, mut sape, mut ae, mut cov) = (vec![], vec![], vec![], vec![]);
        for (o, f) in origins.iter().zip(forecasts) {
            let Some(a) = y.get(o + h - 1).copied().flatten() else {
                continue;
            };
            let Some(&p) = f.p50.get(h - 1) else {
                continue;
            };
            ae.push((a - p).abs());
            if a != 0.0 {
                ape.push((a - p).abs() / a.abs() * 100.0);
            }
            if a.abs() + p.abs() > 0.0 {
                sape.push(200.0 * (a - p).abs() / (a.abs() + p.abs()));
            }
            if with_band {
                cov.push((f.p10[h - 1] <= a && a <= f.p90[h - 1]) as u8 as f64);
            }
        }
        out.insert(
            h.to_string(),
            HorizonScore {
                mape: mean(&ape),
                smape: mean(&sape),
                mase: mean(&ae).zip(scale).map(|(m, s)| m / s),
                coverage80: mean(&cov),
                n: ae.len(),
            },
        );
    }
    out
}

/// `nodecast backtest --json`: the keys of baselines-dev.json.
#[derive(Clone, Debug, Serialize)]
pub struct BacktestReport {
    pub series: String,
    pub hours: usize,
    pub origins: usize,
    pub first_origin: usize,
    pub seconds: f64,
    pub models: BTreeMap<String, BTreeMap<String, HorizonScore>>,
}

use super::ensemble::{Ensemble, MIN_TRAIN, MemberCache, VALIDATION_ORIGINS};
use super::prepared::Prepared;
use crate::domain::HourlySeries;
use anyhow::{Result, bail};

/// Every member's point forecasts at every origin a backtest used (the test
/// origins and every validation origin behind them), with the series they
/// were made from: what `scripts/recombine.py` recombines offline to measure
/// other ways of weighing the members without refitting them.
#[derive(Clone, Debug, Serialize)]
pub struct MemberDump {
    pub series: String,
    /// Unix hour of `y[0]`.
    pub start_hour: i64,
    /// The gap-filled hourly series, and which hours were observed.
    pub y: Vec<f64>,
    pub observed: Vec<bool>,
    /// The test origins.
    pub origins: Vec<usize>,
    pub members: Vec<String>,
    /// Which members track the level (the ones that hold the fixed share).
    pub tracks_level: Vec<bool>,
    /// Which members serve the first hours (the only ones weighed at 1-3 h).
    pub first_hours: Vec<bool>,
    /// Which members join the first hours on merit (naive, the global LSTM, seasonal naive of a day).
    pub on_merit: Vec<bool>,
    /// Which member serves the hours past the first ones alone after a
    /// burst at the origin (the level median).
    pub after_a_burst: Vec<bool>,
    /// At each test origin, the hours of the run in progress far from both
    /// seasonal expectations (`robust::run_in_progress`; a burst where 1 to
    /// `selection::BURST_HOURS`).
    pub runs_in_progress: Vec<usize>,
    /// (origin, each member's forecast of the 48 hours from it, if any).
    pub points: Vec<(usize, Vec<Option<Vec<f64>>>)>,
}

/// The whole series, gap-filled; an error naming it when it has no data.
fn prepared(series_name: &str, hourly: &HourlySeries) -> Result<Prepared> {
    match Prepared::before(hourly, None) {
        Some(p) => Ok(p),
        None => bail!("{series_name}: no data"),
    }
}

/// Each member's forecasts at the origins where it made one.
type PerMember = Vec<(Vec<usize>, Vec<OriginForecast>)>;

/// Files the member forecasts of one origin under each member.
fn file_members(per_member: &mut PerMember, origin: usize, members: Vec<Option<OriginForecast>>) {
    for (j, m) in members.into_iter().enumerate() {
        if let Some(m) = m {
            per_member[j].0.push(origin);
            per_member[j].1.push(m);
        }
    }
}

/// The protocol's origins and scores with each forecast made from only the
/// `history` hours before its origin: how a cluster forecasts in its first
/// days (cold start). No validation origins fit in under about 100 hours,
/// so there the ensemble's cold-start rule serves.
pub fn run_cold_start(
    series_name: &str,
    hourly: &HourlySeries,
    ensemble: &Ensemble,
    horizons: &[usize],
    history: usize,
) -> Result<BacktestReport> {
    let t0 = std::time::Instant::now();
    let n = hourly.values.len();
    let Prepared {
        y,
        observed,
        start_hour,
    } = prepared(series_name, hourly)?;
    let os: Vec<usize> = origins(n).into_iter().filter(|o| *o >= history).collect();
    let mut ens = Vec::new();
    let mut per_member: PerMember = vec![(Vec::new(), Vec::new()); ensemble.members.len()];
    let mut scored = Vec::new();
    for &o in &os {
        let from = o - history;
        let mut cache = MemberCache::default();
        let Some(f) = ensemble.forecast(
            &y[from..],
            &observed[from..],
            None,
            start_hour + from as i64,
            history,
            &mut cache,
            None,
        ) else {
            continue;
        };
        file_members(&mut per_member, o, f.members);
        scored.push(o);
        ens.push(f.combined);
    }
    if scored.is_empty() {
        bail!("{series_name}: no origin with {history} hours of history before it");
    }
    Ok(report_of(
        series_name,
        hourly,
        ensemble,
        horizons,
        (&scored, &ens),
        &per_member,
        t0,
    ))
}

/// Runs the protocol over an hourly series with the given ensemble. Scores
/// the ensemble and every member; `horizons` picks the scored horizons.
pub fn run(
    series_name: &str,
    hourly: &HourlySeries,
    ensemble: &Ensemble,
    horizons: &[usize],
) -> Result<BacktestReport> {
    Ok(run_dumping(series_name, hourly, ensemble, horizons, false)?.0)
}

/// [`run`], and with `dump` the members' forecasts it rests on.
pub fn run_dumping(
    series_name: &str,
    hourly: &HourlySeries,
    ensemble: &Ensemble,
    horizons: &[usize],
    dump: bool,
) -> Result<(BacktestReport, Option<MemberDump>)> {
    let t0 = std::time::Instant::now();
    let n = hourly.values.len();
    if hourly.hours_present() < 48 || n < 2 * H {
        bail!(
            "{series_name}: {} hours of data; the backtest needs at least 96 hours (48 to train, 48 to score)",
            hourly.hours_present()
        );
    }
    let Prepared {
        y,
        observed,
        start_hour,
    } = prepared(series_name, hourly)?;
    let os = origins(n);
    let mut cache = MemberCache::default();
    let mut ens = Vec::new();
    // Each member's forecasts, at the origins where it made one, as long
    // as it made them (the LSTM: 6 hours).
    let mut per_member: PerMember = vec![(Vec::new(), Vec::new()); ensemble.members.len()];
    for &o in &os {
        let Some(f) = ensemble.forecast(&y, &observed, None, start_hour, o, &mut cache, None)
        else {
            bail!("{series_name}: no model could forecast at origin {o}");
        };
        file_members(&mut per_member, o, f.members);
        ens.push(f.combined);
    }
    let dump = dump.then(|| {
        // The origins the ensemble read: the test origins and the absolute
        // 6-hour grid from the earliest validation origin of the first test
        // origin's earliest validation origin (the band reads the weights
        // chosen there), or the first hour a member may forecast.
        let last = os.last().copied().unwrap_or(0);
        let first = os.first().copied().unwrap_or(0);
        let earliest = first
            .saturating_sub(2 * (H + STEP * (VALIDATION_ORIGINS + 1)))
            .max(MIN_TRAIN);
        let points = (earliest..=last)
            .filter(|v| (start_hour + *v as i64).rem_euclid(STEP as i64) == 0 || os.contains(v))
            .map(|v| {
                (
                    v,
                    ensemble
                        .member_points(&y, None, start_hour, v, &mut cache, None)
                        .clone(),
                )
            })
            .collect();
        MemberDump {
            series: series_name.to_string(),
            start_hour,
            y: y.clone(),
            observed: observed.clone(),
            origins: os.clone(),
            members: ensemble
                .members
                .iter()
                .map(|m| m.name().to_string())
                .collect(),
            tracks_level: ensemble.members.iter().map(|m| m.tracks_level()).collect(),
            first_hours: ensemble
                .members
                .iter()
                .map(|m| m.serves_first_hours())
                .collect(),
            on_merit: ensemble
                .members
                .iter()
                .map(|m| m.first_hours_margin().is_some())
                .collect(),
            after_a_burst: ensemble
                .members
                .iter()
                .map(|m| m.serves_after_a_burst())
                .collect(),
            runs_in_progress: os
                .iter()
                .map(|o| super::robust::run_in_progress(&y[..*o]))
                .collect(),
            points,
        }
    });
    let report = report_of(
        series_name,
        hourly,
        ensemble,
        horizons,
        (&os, &ens),
        &per_member,
        t0,
    );
    Ok((report, dump))
}

/// The report of the ensemble's forecasts `ens` at origins `os` and each
/// member's at the origins where it made one.
fn report_of(
    series_name: &str,
    hourly: &HourlySeries,
    ensemble: &Ensemble,
    horizons: &[usize],
    (os, ens): (&[usize], &[OriginForecast]),
    per_member: &PerMember,
    t0: std::time::Instant,
) -> BacktestReport {
    let keep = |mut s: BTreeMap<String, HorizonScore>| {
        s.retain(|h, _| horizons.iter().any(|x| x.to_string() == *h));
        s
    };
    let mut models = BTreeMap::new();
    models.insert(
        "ensemble".to_string(),
        keep(score(&hourly.values, os, ens, true)),
    );
    // A member is reported only at the horizons it forecast (scored at
    // least once), from the origins where it forecast; the MASE scale is
    // the protocol's (hours before the first origin).
    let scale = os.first().and_then(|o| mase_scale(&hourly.values, *o));
    for (j, m) in ensemble.members.iter().enumerate() {
        let (origins, forecasts) = &per_member[j];
        let mut s = keep(score(&hourly.values, origins, forecasts, true));
        s.retain(|_, v| v.n > 0);
        for v in s.values_mut() {
            let own = origins.first().and_then(|o| mase_scale(&hourly.values, *o));
            v.mase = v
                .mase
                .zip(own)
                .zip(scale)
                .map(|((m, own), sc)| m * own / sc);
        }
        models.insert(m.name().to_string(), s);
    }
    BacktestReport {
        series: series_name.to_string(),
        hours: hourly.values.len(),
        origins: os.len(),
        first_origin: os.first().copied().unwrap_or(0),
        seconds: (t0.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        models,
    }
}
