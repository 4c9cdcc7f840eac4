//! Keeping score: the rows a forecast leaves in the ledger, and what the
//! Accuracy pane shows from the scored ones (MAPE, bias and p10-p90 coverage
//! by lead time and window, the 24-h-ahead forecast against what happened,
//! and how each serving member did). Pure: rows and `now` in, figures out.

use super::horizon::STEP;
use super::nodes::{NodesNeeded, PerUnit};
use crate::domain::{Forecast, ForecastPoint, SeriesKind};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// Lead times (hours ahead) the pane scores.
pub const LEADS: [u32; 5] = [1, 6, 12, 24, 48];
/// Windows (days back from now, by target hour) the pane scores over.
pub const WINDOWS: [(&str, i64); 3] = [("24h", 1), ("7d", 7), ("30d", 30)];
/// The chart's lead time and how many days back it reaches.
pub const CHART_LEAD: u32 = 24;
pub const CHART_DAYS: i64 = 14;
/// Fewer scored forecasts than this in a cell is "not enough yet".
pub const MIN_SCORED: usize = 3;
/// The lead time and window (an index of [`WINDOWS`]) of each node group's
/// line: its nodes needed 6 h ahead over the last 7 days.
pub const GROUP_LEAD: u32 = 6;
pub const GROUP_WINDOW: usize = 1;

/// One forecast hour as the ledger keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerRow {
    pub series: SeriesKind,
    pub model: String,
    /// The heaviest member of the blend at this lead time.
    pub member: String,
    pub issued_at: DateTime<Utc>,
    pub target: DateTime<Utc>,
    /// Hours ahead: 1 for the hour starting at the issue time.
    pub lead: u32,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    /// The hour's mean, once it is in.
    pub actual: Option<f64>,
    /// The node group whose nodes needed the row forecasts (series
    /// [`SeriesKind::Nodes`], whole nodes); empty for the cluster's series.
    pub node_group: String,
}

/// A node group's forecast hour of nodes needed, with what turned the
/// cluster's requests into its nodes when it was issued: its actual is the
/// whole nodes the cluster's actual requests of that hour need at the same
/// share.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRow {
    pub row: LedgerRow,
    pub per: PerUnit,
}

/// The node groups' rows of `fc`, a forecast of the cluster of `snapshot`
/// (none without its CPU and memory request forecasts).
pub fn groups_of(
    snapshot: &crate::snapshot::ClusterSnapshot,
    fc: &crate::domain::ClusterForecast,
    headroom: f64,
) -> Vec<GroupRow> {
    let (Some(cpu), Some(mem)) = (
        fc.get(&SeriesKind::CpuRequests),
        fc.get(&SeriesKind::MemRequests),
    ) else {
        return Vec::new();
    };
    group_rows(
        &super::nodes::nodes_needed(snapshot, cpu, mem, headroom),
        cpu,
        headroom,
    )
}

/// The ledger rows of each node group's nodes needed (`needs`, made from
/// `cpu` and the memory forecast with `headroom`), lead by lead; the model
/// and serving member are the CPU forecast's.
pub fn group_rows(needs: &[NodesNeeded], cpu: &Forecast, headroom: f64) -> Vec<GroupRow> {
    needs
        .iter()
        .flat_map(|n| {
            let per = n.per_unit(headroom);
            n.hours.iter().enumerate().map(move |(i, h)| {
                let lead = i as u32 + 1;
                GroupRow {
                    row: LedgerRow {
                        series: SeriesKind::Nodes,
                        model: cpu.model.clone(),
                        member: serving_member(cpu, lead),
                        issued_at: cpu.issued_at,
                        target: h.ts,
                        lead,
                        p10: h.p10 as f64,
                        p50: h.p50 as f64,
                        p90: h.p90 as f64,
                        actual: None,
                        node_group: n.node_group.clone(),
                    },
                    per,
                }
            })
        })
        .collect()
}

/// The member serving `lead`: the heaviest of the mix at the nearest mixed
/// horizon at or below it (the forecast names its members at a few
/// horizons only), or the model's name when it has no mix.
pub fn serving_member(f: &Forecast, lead: u32) -> String {
    f.mix
        .iter()
        .filter(|m| m.horizon as u32 <= lead)
        .max_by_key(|m| m.horizon)
        .or(f.mix.first())
        .and_then(|m| m.members.first())
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| f.model.clone())
}

/// The ledger rows of one forecast, one per hour ahead.
pub fn rows_of(f: &Forecast) -> Vec<LedgerRow> {
    f.points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let lead = i as u32 + 1;
            LedgerRow {
                series: f.series,
                model: f.model.clone(),
                member: serving_member(f, lead),
                issued_at: f.issued_at,
                target: p.ts,
                lead,
                p10: p.p10,
                p50: p.p50,
                p90: p.p90,
                actual: None,
                node_group: String::new(),
            }
        })
        .collect()
}

/// Scores of a set of forecast hours.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Score {
    /// Mean absolute percentage error, in percent (hours with an actual of 0 left out).
    pub mape: Option<f64>,
    /// Mean signed error of p50 over the actual, in percent: positive is
    /// forecasting too high.
    pub bias: Option<f64>,
    /// Share of actuals inside p10..p90 (0-1); 0.80 is a calibrated band.
    pub coverage: Option<f64>,
    pub n: usize,
}

impl Score {
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a LedgerRow>) -> Score {
        let (mut ape, mut signed, mut inside, mut n, mut nz) = (0.0, 0.0, 0usize, 0usize, 0usize);
        for r in rows {
            let Some(a) = r.actual else { continue };
            n += 1;
            if r.p10 <= a && a <= r.p90 {
                inside += 1;
            }
            if a.abs() > 1e-9 {
                nz += 1;
                ape += (r.p50 - a).abs() / a.abs() * 100.0;
                signed += (r.p50 - a) / a.abs() * 100.0;
            }
        }
        Score {
            mape: (nz > 0).then(|| ape / nz as f64),
            bias: (nz > 0).then(|| signed / nz as f64),
            coverage: (n > 0).then(|| inside as f64 / n as f64),
            n,
        }
    }

    /// Enough scored hours to show.
    pub fn enough(&self) -> bool {
        self.n >= MIN_SCORED
    }

    /// Pools scores of disjoint row sets (weighted by their counts).
    pub fn of_scores<'a>(scores: impl IntoIterator<Item = &'a Score>) -> Score {
        let (mut n, mut cov, mut mape, mut bias, mut nm) = (0usize, 0.0, 0.0, 0.0, 0usize);
        for s in scores {
            n += s.n;
            cov += s.coverage.unwrap_or(0.0) * s.n as f64;
            if let (Some(m), Some(b)) = (s.mape, s.bias) {
                mape += m * s.n as f64;
                bias += b * s.n as f64;
                nm += s.n;
            }
        }
        Score {
            mape: (nm > 0).then(|| mape / nm as f64),
            bias: (nm > 0).then(|| bias / nm as f64),
            coverage: (n > 0).then(|| cov / n as f64),
            n,
        }
    }
}

/// How a member did over the last 30 days, when it served (led the blend).
#[derive(Clone, Debug, PartialEq)]
pub struct MemberRecord {
    pub member: String,
    /// Share of the scored forecast hours it served (0-1).
    pub served: f64,
    pub score: Score,
}

/// A series' record: scores by lead and window, the chart, the members.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesAccuracy {
    /// `by_lead[i][w]`: lead `LEADS[i]` over window `WINDOWS[w]`.
    pub by_lead: Vec<Vec<Score>>,
    /// The chart: per target hour of the last [`CHART_DAYS`] days, the
    /// latest forecast issued at least [`CHART_LEAD`] h before it (at most
    /// [`STEP`] - 1 h more), and what happened.
    pub chart_forecast: Vec<ForecastPoint>,
    pub chart_actual: Vec<(DateTime<Utc>, f64)>,
    /// Heaviest served first.
    pub members: Vec<MemberRecord>,
    /// Every scored forecast hour of the last 30 days, all leads.
    pub scored: usize,
    /// Forecast hours waiting for their actual.
    pub waiting: usize,
    /// Each node group's nodes needed at [`GROUP_LEAD`] over
    /// [`GROUP_WINDOW`] (on the nodes series only).
    pub groups: Vec<GroupRecord>,
}

/// How a node group's nodes-needed forecasts did.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRecord {
    pub node_group: String,
    pub score: Score,
}

impl SeriesAccuracy {
    /// The score at `lead` over window `w` (an index of [`WINDOWS`]).
    pub fn at(&self, lead: u32, w: usize) -> Option<&Score> {
        let i = LEADS.iter().position(|l| *l == lead)?;
        self.by_lead.get(i)?.get(w)
    }
}

/// A cluster's record, by series.
pub type ClusterAccuracy = BTreeMap<SeriesKind, SeriesAccuracy>;

/// The record of `rows` (a cluster's ledger of the last 30 days) at `now`.
pub fn summarize(rows: &[LedgerRow], now: DateTime<Utc>) -> ClusterAccuracy {
    let mut by_series: BTreeMap<SeriesKind, Vec<&LedgerRow>> = BTreeMap::new();
    let mut by_group: BTreeMap<&str, Vec<&LedgerRow>> = BTreeMap::new();
    for r in rows {
        if r.node_group.is_empty() {
            by_series.entry(r.series).or_default().push(r);
        } else {
            by_group.entry(&r.node_group).or_default().push(r);
        }
    }
    let mut acc: ClusterAccuracy = by_series
        .into_iter()
        .map(|(k, rows)| (k, series_record(&rows, now)))
        .collect();
    if !by_group.is_empty() {
        let days = WINDOWS[GROUP_WINDOW].1;
        let groups = by_group
            .into_iter()
            .map(|(g, rows)| GroupRecord {
                node_group: g.to_string(),
                score: Score::of(
                    rows.into_iter()
                        .filter(|r| r.lead == GROUP_LEAD && within(r, now, days)),
                ),
            })
            .collect();
        acc.entry(SeriesKind::Nodes)
            .or_insert_with(|| series_record(&[], now))
            .groups = groups;
    }
    acc
}

/// Whether `r`'s target hour lies in the `days` before `now`.
fn within(r: &LedgerRow, now: DateTime<Utc>, days: i64) -> bool {
    r.target >= now - Duration::days(days) && r.target <= now
}

fn series_record(rows: &[&LedgerRow], now: DateTime<Utc>) -> SeriesAccuracy {
    let within = |r: &LedgerRow, days: i64| within(r, now, days);
    let scored: Vec<&LedgerRow> = rows
        .iter()
        .copied()
        .filter(|r| r.actual.is_some() && within(r, 30))
        .collect();
    let by_lead = LEADS
        .iter()
        .map(|lead| {
            WINDOWS
                .iter()
                .map(|(_, days)| {
                    Score::of(
                        scored
                            .iter()
                            .copied()
                            .filter(|r| r.lead == *lead && within(r, *days)),
                    )
                })
                .collect()
        })
        .collect();
    let mut chart: BTreeMap<DateTime<Utc>, &LedgerRow> = BTreeMap::new();
    for r in scored.iter().filter(|r| {
        (CHART_LEAD..CHART_LEAD + STEP as u32).contains(&r.lead) && within(r, CHART_DAYS)
    }) {
        let e = chart.entry(r.target).or_insert(r);
        if r.lead < e.lead {
            *e = r;
        }
    }
    let chart_forecast = chart
        .values()
        .map(|r| ForecastPoint {
            ts: r.target,
            p10: r.p10,
            p50: r.p50,
            p90: r.p90,
        })
        .collect();
    let chart_actual = chart
        .values()
        .filter_map(|r| Some((r.target, r.actual?)))
        .collect();
    let mut by_member: BTreeMap<&str, Vec<&LedgerRow>> = BTreeMap::new();
    for r in &scored {
        by_member.entry(r.member.as_str()).or_default().push(r);
    }
    let mut members: Vec<MemberRecord> = by_member
        .into_iter()
        .map(|(m, rs)| MemberRecord {
            member: m.to_string(),
            served: rs.len() as f64 / scored.len().max(1) as f64,
            score: Score::of(rs.iter().copied()),
        })
        .collect();
    members.sort_by(|a, b| b.served.total_cmp(&a.served).then(a.member.cmp(&b.member)));
    SeriesAccuracy {
        by_lead,
        chart_forecast,
        chart_actual,
        members,
        scored: scored.len(),
        waiting: rows.iter().filter(|r| r.actual.is_none()).count(),
        groups: Vec::new(),
    }
}

/// The fleet tab's line for a cluster: nodes' MAPE at 1, 6, 24 and 48 h and
/// band coverage over 7 days.
pub fn fleet_line(acc: Option<&ClusterAccuracy>) -> String {
    let Some(nodes) = acc.and_then(|a| a.get(&SeriesKind::Nodes)) else {
        return "no forecasts scored yet".into();
    };
    if nodes.scored == 0 {
        return format!(
            "not enough scored forecasts yet ({} waiting)",
            nodes.waiting
        );
    }
    let week = 1;
    let cells: Vec<String> = [1, 6, 24, 48]
        .iter()
        .filter_map(|lead| {
            let s = nodes.at(*lead, week)?;
            Some(match (s.enough(), s.mape) {
                (true, Some(m)) => format!("{lead}h {m:.1}%"),
                _ => format!("{lead}h –"),
            })
        })
        .collect();
    let pooled = Score::of_scores(nodes.by_lead.iter().filter_map(|w| w.get(week)));
    let band = match pooled.coverage {
        Some(c) if pooled.enough() => format!("band {:.0}%", c * 100.0),
        _ => "band –".into(),
    };
    format!("{} · {band} · n {}", cells.join("  "), pooled.n)
}
