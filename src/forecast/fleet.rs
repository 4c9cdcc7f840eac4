//! Fleet totals: the clusters' histories and forecasts summed. Pure.

use crate::domain::{Forecast, ForecastWarning, HourlySeries};

/// Sum of hourly series; an hour is present only where every series has it.
pub fn sum_series(series: &[&HourlySeries]) -> HourlySeries {
    let mut acc: std::collections::BTreeMap<i64, (f64, usize)> = std::collections::BTreeMap::new();
    for s in series {
        for (ts, v) in s.points() {
            let e = acc.entry(ts.timestamp() / 3600).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }
    let full: std::collections::BTreeMap<i64, (f64, u32)> = acc
        .into_iter()
        .filter(|(_, (_, n))| *n == series.len())
        .map(|(h, (v, _))| (h, (v, 1)))
        .collect();
    crate::series_csv::hourly_from_sums(&full)
}

/// Fleet total of forecasts issued at the same hour. Quantiles are added,
/// which bounds the total's band from outside (exact if demand moves together).
pub fn sum_forecasts(fs: &[&Forecast]) -> Option<Forecast> {
    let first = fs.first()?;
    if fs
        .iter()
        .any(|f| f.issued_at != first.issued_at || f.points.len() != first.points.len())
    {
        return None;
    }
    let points = (0..first.points.len())
        .map(|i| {
            let mut p = first.points[i];
            for f in &fs[1..] {
                p.p10 += f.points[i].p10;
                p.p50 += f.points[i].p50;
                p.p90 += f.points[i].p90;
            }
            p
        })
        .collect();
    // The fleet says which warnings some of its clusters carry.
    let any = |is: fn(&ForecastWarning) -> bool| fs.iter().any(|f| f.warnings.iter().any(is));
    let warnings = [
        any(|w| matches!(w, ForecastWarning::ShortHistory { .. }))
            .then_some(ForecastWarning::SomeShortHistory),
        any(|w| matches!(w, ForecastWarning::Burst { .. })).then_some(ForecastWarning::SomeBurst),
    ]
    .into_iter()
    .flatten()
    .collect();
    Some(Forecast {
        series: first.series,
        issued_at: first.issued_at,
        model: first
            .model
            .split(" (")
            .next()
            .unwrap_or(&first.model)
            .to_string(),
        points,
        history_hours: fs.iter().map(|f| f.history_hours).min().unwrap_or(0),
        warnings,
        confidence: fs.iter().map(|f| f.confidence).min().unwrap_or(0),
        mix: Vec::new(),
    })
}
