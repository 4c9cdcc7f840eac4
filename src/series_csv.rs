//! `timestamp,value` CSV series (the format of the demo traces and of
//! `backtest --input`), and resampling to hourly means.

use crate::domain::{HourlySeries, Sample};
use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use std::collections::BTreeMap;

/// Parses an RFC 3339 timestamp; one without a zone ("2014-02-14 14:30:00") is UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    None
}

/// Parses `timestamp,value` rows. Errors name the file and line.
pub fn parse_series(text: &str, file: &str) -> Result<Vec<Sample>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if lineno == 1 && line.to_ascii_lowercase().starts_with("timestamp") {
            continue;
        }
        let (ts, value) = line.split_once(',').ok_or_else(|| {
            anyhow!("{file} line {lineno}: expected `timestamp,value`, got {line:?}")
        })?;
        let ts = parse_timestamp(ts)
            .ok_or_else(|| anyhow!("{file} line {lineno}: bad timestamp {:?}", ts.trim()))?;
        let value: f64 = value.trim().parse().map_err(|_| {
            anyhow!(
                "{file} line {lineno}: value {:?} is not a number",
                value.trim()
            )
        })?;
        if !value.is_finite() {
            bail!("{file} line {lineno}: value {value} is not finite");
        }
        out.push(Sample { ts, value });
    }
    if out.is_empty() {
        bail!("{file}: no data rows");
    }
    Ok(out)
}

/// Hour `[t, t+1h)` gets the mean of its samples, labelled by its start; an
/// hour with no samples is missing. Input may be unsorted.
pub fn resample_hourly(samples: &[Sample]) -> HourlySeries {
    let mut acc: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
    for s in samples {
        let hour = s.ts.timestamp().div_euclid(3600);
        let e = acc.entry(hour).or_insert((0.0, 0));
        e.0 += s.value;
        e.1 += 1;
    }
    hourly_from_sums(&acc)
}

/// Builds an hourly series from per-hour (sum, count), hours keyed by unix hour.
pub fn hourly_from_sums(acc: &BTreeMap<i64, (f64, u32)>) -> HourlySeries {
    let (Some((&first, _)), Some((&last, _))) = (acc.first_key_value(), acc.last_key_value())
    else {
        return HourlySeries::default();
    };
    let mut values = vec![None; (last - first + 1) as usize];
    for (&h, &(sum, n)) in acc {
        if n > 0 {
            values[(h - first) as usize] = Some(sum / n as f64);
        }
    }
    HourlySeries {
        start: Utc.timestamp_opt(first * 3600, 0).single(),
        values,
    }
}
