//! Ensemble members: each turns the hours before an origin into point
//! forecasts of the next hours. Pure and deterministic.

use super::features::{Calendar, ClusterContext};
use super::persist::Pin;
use super::robust::{level_ratio, median};
use super::season::{DayTypeSeason, deseasonalize, has_cycle};
use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_ets::trend::AutoETSTrendModel;
use augurs_mstl::MSTLModel;

/// The horizons a member serves in a cluster's first days, before any
/// validation origin: the first hours (those the ensemble weighs only the
/// level trackers at later on), or the ones after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColdStart {
    FirstHours,
    LaterHours,
}

/// At the first hours (up to [`super::selection::SHORT_HORIZONS`]) a member
/// that joins them on merit ([`Member::first_hours_margin`]: naive, the
/// global LSTM) competes with the level trackers where its
/// candidates' validation error is at most this share of the best level
/// tracker's: after a level shift the trackers' seasons stay wrong for
/// days while the last hour is right.
pub const FIRST_HOURS_MARGIN: f64 = 0.8;
/// The same for seasonal naive of a day: where the hour repeats
/// yesterday's (a VM's cron jobs), it competes whenever it validates at
/// least as well as the best tracker. Chosen across series: both folds of
/// the corpus pick 1.0 among 0.05-1.5 and gain on the other fold
/// (docs/forecasting.md, "How the rule was chosen").
pub const SEASONAL_FIRST_HOURS_MARGIN: f64 = 1.0;

/// A point forecaster over a gap-free hourly history.
pub trait Member: Send + Sync {
    fn name(&self) -> &'static str;
    /// Forecast of up to `h` hours after `y` (`y[0]` is the unix hour
    /// `start_hour`); a member may cover only the first hours.
    fn point(&self, y: &[f64], start_hour: i64, h: usize) -> Option<Vec<f64>>;
    /// The forecast with the cluster's other series at hand (`ctx` aligned
    /// with `y`; members that read only `y` ignore it).
    fn point_in(
        &self,
        y: &[f64],
        _ctx: Option<&ClusterContext>,
        start_hour: i64,
        h: usize,
    ) -> Option<Vec<f64>> {
        self.point(y, start_hour, h)
    }
    /// Whether the member follows the series' level hour by hour (by
    /// default, the members that serve the first hours).
    fn tracks_level(&self) -> bool {
        false
    }
    /// Whether the ensemble weighs the member at the first hours (the only
    /// members it does there): the level trackers whose next hours continue
    /// the last one.
    fn serves_first_hours(&self) -> bool {
        self.tracks_level()
    }
    /// Where the member also competes at the first hours: where its
    /// candidates' validation error there is at most this share of the best
    /// level tracker's. Naive ([`FIRST_HOURS_MARGIN`]),
    /// after a level shift or a burst that left the trackers' seasons wrong
    /// for days; the global LSTM (the same), where it has learned the
    /// series' kind; seasonal naive of a day
    /// ([`SEASONAL_FIRST_HOURS_MARGIN`]), where the hour
    /// repeats yesterday's exactly (a VM's cron jobs), and the daily
    /// median (the same) where it repeats the days before.
    fn first_hours_margin(&self) -> Option<f64> {
        None
    }
    /// Whether the member serves every horizon past the first hours alone
    /// after a burst at the origin ([`super::selection::BURST_HOURS`]):
    /// the level median, which the burst does not move.
    fn serves_after_a_burst(&self) -> bool {
        false
    }
    /// What the member serves (with the others that do) while the history
    /// is too short for validation: naive the first hours, the global
    /// models the rest ([`super::ensemble`], cold start).
    fn cold_start(&self) -> Option<ColdStart> {
        None
    }
    /// Whether the member fits the history with its ended incidents replaced
    /// by their seasonal expectation ([`super::robust`]): the statistical
    /// members, whose level, trend and seasons an outage would poison. Naive
    /// reads the raw last hour, and the learned members their raw history
    /// (their models are keyed by the history they were trained on, which
    /// must not change from one origin to the next).
    fn fits_cleaned_history(&self) -> bool {
        false
    }
    /// The model file that serves a forecast after `y` (learned members that
    /// save their models), for the manifest's validation scores.
    fn model_file(
        &self,
        _y: &[f64],
        _ctx: Option<&ClusterContext>,
        _start_hour: i64,
    ) -> Option<String> {
        None
    }
    /// The forecast served by a model version's models where the version
    /// serves it (from its training end on, for the members it has a model
    /// of), else [`Member::point_in`].
    fn point_pinned(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        h: usize,
        pin: &Pin,
    ) -> Option<Vec<f64>> {
        match pin.serving(self.name(), start_hour, y.len()) {
            Some((key, trained)) => self.point_keyed(y, ctx, start_hour, h, key, trained),
            None => self.point_in(y, ctx, start_hour, h),
        }
    }
    /// The forecast by the member's model `key`, trained on `y[..trained]`
    /// (learned members; the others have no models).
    fn point_keyed(
        &self,
        y: &[f64],
        ctx: Option<&ClusterContext>,
        start_hour: i64,
        h: usize,
        _key: u64,
        _trained: usize,
    ) -> Option<Vec<f64>> {
        self.point_in(y, ctx, start_hour, h)
    }
    /// Trains (or loads) the member's model on all of `y` and returns its
    /// key: a new model version's part (learned members only).
    fn train(&self, _y: &[f64], _ctx: Option<&ClusterContext>, _start_hour: i64) -> Option<u64> {
        None
    }
    /// The file name of the member's model `key`.
    fn file_for(&self, _key: u64) -> Option<String> {
        None
    }
}

/// The value one season earlier (repeated for horizons past a season).
pub struct SeasonalNaive {
    pub season: usize,
    pub name: &'static str,
    /// Forecast only where the history shows the season
    /// ([`has_cycle`]): a week's seasonal naive, which elsewhere repeats
    /// last week's noise and won validation by chance (docs/forecasting.md,
    /// "Seasonal naive of a week only where the week repeats").
    pub needs_cycle: bool,
}

impl SeasonalNaive {
    /// Yesterday's same hour.
    pub fn daily() -> Self {
        SeasonalNaive {
            season: 24,
            name: "seasonal24",
            needs_cycle: false,
        }
    }
    /// Last week's same hour, where the history repeats weekly.
    pub fn weekly() -> Self {
        SeasonalNaive {
            season: 168,
            name: "seasonal168",
            needs_cycle: true,
        }
    }
}

impl Member for SeasonalNaive {
    fn name(&self) -> &'static str {
        self.name
    }
    fn first_hours_margin(&self) -> Option<f64> {
        (self.season == 24).then_some(SEASONAL_FIRST_HOURS_MARGIN)
    }
    fn fits_cleaned_history(&self) -> bool {
        true
    }
    fn point(&self, y: &[f64], _: i64, h: usize) -> Option<Vec<f64>> {
        let (n, s) = (y.len(), self.season);
        if n < s || (self.needs_cycle && !has_cycle(y, s)) {
            return None;
        }
        Some((0..h).map(|i| y[n - s + i % s]).collect())
    }
}

/// Days whose same hour the daily median takes the median of. Chosen
/// across series with [`DAILY_MEDIAN_LEVEL_HOURS`] among 5-28 days and
/// 12-48 hours (docs/forecasting.md, "The daily median").
pub const DAILY_MEDIAN_DAYS: usize = 21;
/// Hours before the origin whose ratio to their own daily median sets the
/// level the daily median forecasts at.
pub const DAILY_MEDIAN_LEVEL_HOURS: usize = 24;
/// Weeks whose same hour of the week the weekly median takes the median of
/// (docs/forecasting.md, "The weekly median").
pub const WEEKLY_MEDIAN_WEEKS: usize = 4;
/// Hours before the origin whose ratio to their own weekly median sets the
/// level the weekly median forecasts at: the last week.
pub const WEEKLY_MEDIAN_LEVEL_HOURS: usize = 168;

/// The median of the same hour over the last few seasons: a seasonal naive
/// that one odd day or week (a burst, a cron job that ran late) does not
/// move. Reads the raw history: a median needs no cleaning.
pub struct SeasonMedian {
    pub name: &'static str,
    /// Hours in a season (24: the same hour of the day; 168: of the week).
    pub season: usize,
    /// Seasons the median is taken over (the latest before the origin).
    pub seasons: usize,
    /// Hours before the origin whose ratio to their own median sets the
    /// level the forecast is scaled to (the median ratio); 0: unscaled.
    pub level_hours: usize,
    /// Forecast only where the history shows the season ([`has_cycle`]).
    pub needs_cycle: bool,
}

impl SeasonMedian {
    /// The same hour over the last [`DAILY_MEDIAN_DAYS`] days, at the
    /// level of the last [`DAILY_MEDIAN_LEVEL_HOURS`] hours: a shift of the
    /// whole day carries in once more than half of them are at the new
    /// level.
    pub fn daily() -> Self {
        SeasonMedian {
            name: "daily_median",
            season: 24,
            seasons: DAILY_MEDIAN_DAYS,
            level_hours: DAILY_MEDIAN_LEVEL_HOURS,
            needs_cycle: false,
        }
    }
    /// The same hour of the week over the last [`WEEKLY_MEDIAN_WEEKS`]
    /// weeks, at the level of the last [`WEEKLY_MEDIAN_LEVEL_HOURS`] hours,
    /// where the history repeats weekly (as [`SeasonalNaive::weekly`]).
    pub fn weekly() -> Self {
        SeasonMedian {
            name: "weekly_median",
            season: 168,
            seasons: WEEKLY_MEDIAN_WEEKS,
            level_hours: WEEKLY_MEDIAN_LEVEL_HOURS,
            needs_cycle: true,
        }
    }

    /// The median of hour `t`'s same hour on the latest seasons before
    /// hour `before` (`t >= before`) within `y`; none under two.
    fn same_hour_median(
        &self,
        y: &[f64],
        t: usize,
        before: usize,
        buf: &mut Vec<f64>,
    ) -> Option<f64> {
        let s = self.season;
        let first = (t + 1 - before).div_ceil(s);
        buf.clear();
        buf.extend(
            (first..first + self.seasons)
                .map_while(|k| t.checked_sub(s * k))
                .map(|u| y[u]),
        );
        (buf.len() >= 2).then(|| median(buf))
    }
}

impl Member for SeasonMedian {
    fn name(&self) -> &'static str {
        self.name
    }
    /// The daily median joins the first hours on seasonal naive's margin:
    /// where the hour repeats the days before it, and yesterday's was odd
    /// (docs/forecasting.md, "The daily median").
    fn first_hours_margin(&self) -> Option<f64> {
        (self.season == 24).then_some(SEASONAL_FIRST_HOURS_MARGIN)
    }
    fn point(&self, y: &[f64], _: i64, h: usize) -> Option<Vec<f64>> {
        let n = y.len();
        if self.needs_cycle && !has_cycle(y, self.season) {
            return None;
        }
        let mut buf = Vec::with_capacity(self.seasons);
        let mut out = (n..n + h)
            .map(|t| self.same_hour_median(y, t, n, &mut buf))
            .collect::<Option<Vec<f64>>>()?;
        if self.level_hours > 0 {
            let level = level_ratio(
                (n.saturating_sub(self.level_hours)..n)
                    .filter_map(|u| Some((y[u], self.same_hour_median(y, u, u, &mut buf)?))),
            );
            out.iter_mut().for_each(|v| *v *= level);
        }
        finite(out)
    }
}

/// Hours before the origin whose median the level median forecasts: a
/// week, so every day of the week counts alike. Chosen across series among
/// 6-672 hours (docs/forecasting.md, "The level median").
pub const LEVEL_MEDIAN_HOURS: usize = 168;

/// The median of the last [`LEVEL_MEDIAN_HOURS`] hours, flat: the level a
/// noisy series returns to, which a burst or a dip at the origin does not
/// move (naive follows it, a smoothed level leans toward it). Reads the raw
/// history: a median needs no cleaning.
pub struct LevelMedian;

impl Member for LevelMedian {
    fn name(&self) -> &'static str {
        "level_median"
    }
    /// At 1-3 h it joins the level trackers on merit, as naive does: where
    /// the last hour is a spike the level returns from (docs/forecasting.md,
    /// "The level median").
    fn first_hours_margin(&self) -> Option<f64> {
        Some(FIRST_HOURS_MARGIN)
    }
    /// After a burst of an hour or two, the hours past the first ones
    /// return to the level (docs/forecasting.md, "After a burst").
    fn serves_after_a_burst(&self) -> bool {
        true
    }
    fn point(&self, y: &[f64], _: i64, h: usize) -> Option<Vec<f64>> {
        let mut last = y[y.len().saturating_sub(LEVEL_MEDIAN_HOURS)..].to_vec();
        if last.is_empty() {
            return None;
        }
        finite(vec![median(&mut last); h])
    }
}

/// The last value (what a reactive autoscaler assumes).
pub struct Naive;

impl Member for Naive {
    fn name(&self) -> &'static str {
        "naive"
    }
    fn cold_start(&self) -> Option<ColdStart> {
        Some(ColdStart::FirstHours)
    }
    fn first_hours_margin(&self) -> Option<f64> {
        Some(FIRST_HOURS_MARGIN)
    }
    fn point(&self, y: &[f64], _: i64, h: usize) -> Option<Vec<f64>> {
        y.last().map(|v| vec![*v; h])
    }
}

/// AutoETS (augurs) on the raw series: level and trend only, no season.
pub struct EtsLevel;

impl Member for EtsLevel {
    fn name(&self) -> &'static str {
        "ets_level"
    }
    fn fits_cleaned_history(&self) -> bool {
        true
    }
    fn point(&self, y: &[f64], _: i64, h: usize) -> Option<Vec<f64>> {
        let tail = &y[y.len().saturating_sub(672)..];
        if tail.len() < 24 {
            return None;
        }
        let fitted = AutoETS::non_seasonal().fit(tail).ok()?;
        finite(fitted.predict(h, None).ok()?.point)
    }
}

/// MSTL (daily and, with two weeks of data, weekly seasons) with an AutoETS
/// trend, from Grafana's augurs; multiplicative (on the logarithm) for a
/// positive series.
pub struct Mstl;

impl Member for Mstl {
    fn name(&self) -> &'static str {
        "mstl"
    }
    fn fits_cleaned_history(&self) -> bool {
        true
    }
    fn tracks_level(&self) -> bool {
        true
    }
    fn point(&self, y: &[f64], _: i64, h: usize) -> Option<Vec<f64>> {
        let periods = if y.len() >= 336 {
            vec![24, 168]
        } else if y.len() >= 48 {
            vec![24]
        } else {
            return None;
        };
        let trend = AutoETSTrendModel::from(AutoETS::non_seasonal());
        // Demand's daily and weekly swings grow with its level: decompose the
        // logarithm (multiplicative seasons) when every value is positive, so
        // that a forecast never swings below zero after a surge.
        let log = y.iter().all(|v| *v > 0.0);
        let input: Vec<f64> = if log {
            y.iter().map(|v| v.ln()).collect()
        } else {
            y.to_vec()
        };
        let fitted = MSTLModel::new(periods, trend).fit(&input).ok()?;
        let f = fitted.predict(h, None).ok()?.point;
        finite(if log {
            f.iter().map(|v| v.exp()).collect()
        } else {
            f
        })
    }
}

/// AutoETS (augurs; error, trend and damping chosen by AICc) on the series
/// with its daily season taken out by classical decomposition, then put back.
/// augurs' ETS has no seasonal component of its own.
pub struct Ets;

impl Member for Ets {
    fn name(&self) -> &'static str {
        "ets"
    }
    fn fits_cleaned_history(&self) -> bool {
        true
    }
    fn tracks_level(&self) -> bool {
        true
    }
    fn point(&self, y: &[f64], _: i64, h: usize) -> Option<Vec<f64>> {
        // The last four weeks at most: the recent level matters more than the distant past.
        let off = y.len().saturating_sub(672);
        let tail = &y[off..];
        if tail.len() < 48 {
            return None;
        }
        let (de, season) = deseasonalize(tail);
        let fitted = AutoETS::non_seasonal().fit(&de).ok()?;
        let f = fitted.predict(h, None).ok()?.point;
        finite(season.reseasonalize(&f, tail.len()))
    }
}

/// The Theta method: deseasonalize (daily, classical decomposition), simple
/// exponential smoothing plus half the linear trend, reseasonalize.
pub struct Theta;

fn ses(y: &[f64], alpha: f64) -> (f64, f64) {
    let mut level = y[0];
    let mut sse = 0.0;
    for &v in &y[1..] {
        let e = v - level;
        sse += e * e;
        level += alpha * e;
    }
    (level, sse)
}

/// The Theta line after a deseasonalized series: simple exponential
/// smoothing (alpha by least squares on a 0.01 grid) plus half the slope of
/// the least-squares line.
fn theta_line(de: &[f64], h: usize) -> Vec<f64> {
    let n = de.len();
    let tm = (n as f64 - 1.0) / 2.0;
    let ym = de.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (t, v) in de.iter().enumerate() {
        sxy += (t as f64 - tm) * (v - ym);
        sxx += (t as f64 - tm).powi(2);
    }
    let slope = sxy / sxx;
    let (mut best, mut best_sse) = (0.5, f64::MAX);
    for k in 1..100 {
        let a = k as f64 / 100.0;
        let (_, sse) = ses(de, a);
        if sse < best_sse {
            (best, best_sse) = (a, sse);
        }
    }
    let (level, _) = ses(de, best);
    let drift = 0.5 * slope;
    (0..h)
        .map(|i| level + drift * ((i + 1) as f64 + (1.0 - best) / best))
        .collect()
}

impl Member for Theta {
    fn name(&self) -> &'static str {
        "theta"
    }
    fn fits_cleaned_history(&self) -> bool {
        true
    }
    fn tracks_level(&self) -> bool {
        true
    }
    fn point(&self, y: &[f64], _: i64, h: usize) -> Option<Vec<f64>> {
        let n = y.len();
        if n < 48 {
            return None;
        }
        let (de, season) = deseasonalize(y);
        finite(season.reseasonalize(&theta_line(&de, h), n))
    }
}

/// The Theta method on the series with its day-type season taken out
/// (working days and days off, weekends and the calendar's holidays, each
/// with a level and hourly profile of their own): the weekly cycle of
/// business demand from the first week of history on. No forecast without
/// two whole working days and two whole days off in the last four weeks.
pub struct ThetaDayType {
    pub calendar: Calendar,
}

impl Member for ThetaDayType {
    fn name(&self) -> &'static str {
        "theta_daytype"
    }
    fn fits_cleaned_history(&self) -> bool {
        true
    }
    fn tracks_level(&self) -> bool {
        true
    }
    /// Its season steps at midnight where the day type changes, and demand
    /// does not (the first hours of a Monday are still Sunday night's): at
    /// one hour ahead it was 1.26-1.47x the best baseline on three series.
    fn serves_first_hours(&self) -> bool {
        false
    }
    fn point(&self, y: &[f64], start_hour: i64, h: usize) -> Option<Vec<f64>> {
        let n = y.len();
        if n < 48 {
            return None;
        }
        let season = DayTypeSeason::fit(y, start_hour, &self.calendar)?;
        let de = season.deseasonalize(y, start_hour);
        finite(season.reseasonalize(&theta_line(&de, h), start_hour + n as i64))
    }
}

fn finite(v: Vec<f64>) -> Option<Vec<f64>> {
    v.iter().all(|x| x.is_finite()).then_some(v)
}
