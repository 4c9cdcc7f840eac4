//! EC2 instance types with their EKS allocatable, from data/instance_types_eks.csv
//! (built from Karpenter's instance-type reference and price table; see docs/data.md).

pub mod live;

use crate::domain::{InstanceType, Resources, SpotOffer};
use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

const CATALOG_CSV: &str = include_str!("../../data/instance_types_eks.csv");
pub const CATALOG_FILE: &str = "data/instance_types_eks.csv";

/// Parses a Kubernetes CPU quantity ("940m", "2", "1.5", metrics.k8s.io's
/// "123456789n" nanocores) into cores.
pub fn parse_cpu(q: &str) -> Result<f64> {
    let q = q.trim();
    let scaled = [("n", 1e-9), ("u", 1e-6), ("m", 1e-3), ("k", 1e3)]
        .into_iter()
        .find_map(|(s, mult)| q.strip_suffix(s).map(|n| (n, mult)));
    let (n, mult) = scaled.unwrap_or((q, 1.0));
    n.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(|v| v * mult)
        .ok_or_else(|| anyhow!("bad CPU quantity {q:?}"))
}

/// Parses a Kubernetes memory quantity ("1392Mi", "17Gi", "1024Ki", "1000000") into GiB.
pub fn parse_mem_gib(q: &str) -> Result<f64> {
    let q = q.trim();
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let units: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", GIB),
        ("Ti", GIB * 1024.0),
        ("Pi", GIB * 1024.0 * 1024.0),
        ("Ei", GIB * 1024.0 * 1024.0 * 1024.0),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (n, mult) = units
        .into_iter()
        .find_map(|(suffix, mult)| q.strip_suffix(suffix).map(|n| (n, mult)))
        .unwrap_or((q, 1.0));
    n.parse::<f64>()
        .ok()
        .map(|v| v * mult / GIB)
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| anyhow!("bad memory quantity {q:?}"))
}

/// Regions whose spot columns the shipped catalog carries.
pub const SPOT_REGIONS: [&str; 5] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
];

/// A catalog price as usable in a total: finite and above zero, else `None`
/// (a missing, NaN or negative price never enters a total).
pub fn usable_price(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p > 0.0)
}

/// Parses the catalog CSV; errors name the line and column.
pub fn parse_catalog(text: &str, file: &str) -> Result<HashMap<String, InstanceType>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| anyhow!("{file}: empty"))?
        .split(',')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| anyhow!("{file}: no column {name:?}"))
    };
    let (c_name, c_vcpu, c_mem, c_acpu, c_amem, c_apods, c_price) = (
        col("instance_type")?,
        col("vcpu")?,
        col("memory_mib")?,
        col("alloc_cpu")?,
        col("alloc_memory")?,
        col("alloc_pods")?,
        col("od_usd_per_hour_us_east_1")?,
    );
    let optional = |name: &str| header.iter().position(|h| *h == name);
    let (c_family, c_category, c_gen, c_arch) = (
        optional("family"),
        optional("category"),
        optional("generation"),
        optional("arch"),
    );
    let spot_cols: Vec<(&str, usize, usize)> = SPOT_REGIONS
        .iter()
        .filter_map(|r| {
            let key = r.replace('-', "_");
            Some((
                *r,
                optional(&format!("spot_savings_pct_{key}"))?,
                optional(&format!("spot_interruption_{key}"))?,
            ))
        })
        .collect();
    let mut out = HashMap::new();
    for (i, line) in lines.enumerate() {
        let lineno = i + 2;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < header.len() {
            bail!(
                "{file} line {lineno}: {} fields, expected {}",
                f.len(),
                header.len()
            );
        }
        let ctx = |column: &str| format!("{file} line {lineno}, column {column}");
        let text = |c: Option<usize>| c.map(|c| f[c].trim().to_string()).unwrap_or_default();
        let name = f[c_name].to_string();
        let family = match text(c_family) {
            s if s.is_empty() => name.split('.').next().unwrap_or_default().to_string(),
            s => s,
        };
        let mut spot = BTreeMap::new();
        for (region, c_save, c_band) in &spot_cols {
            let band = f[*c_band].trim();
            if let (Some(savings), false) = (f[*c_save].trim().parse::<f64>().ok(), band.is_empty())
                && savings.is_finite()
                && (0.0..100.0).contains(&savings)
            {
                spot.insert(
                    region.to_string(),
                    SpotOffer {
                        savings_pct: savings,
                        interruption: band.to_string(),
                    },
                );
            }
        }
        let t = InstanceType {
            vcpu: f[c_vcpu].parse().with_context(|| ctx("vcpu"))?,
            memory_gib: f[c_mem].parse::<f64>().with_context(|| ctx("memory_mib"))? / 1024.0,
            allocatable: Resources::new(
                parse_cpu(f[c_acpu]).with_context(|| ctx("alloc_cpu"))?,
                parse_mem_gib(f[c_amem]).with_context(|| ctx("alloc_memory"))?,
            ),
            max_pods: f[c_apods].parse().with_context(|| ctx("alloc_pods"))?,
            od_usd_per_hour: usable_price(f[c_price]),
            regional_od: BTreeMap::new(),
            category: text(c_category),
            generation: text(c_gen).parse().unwrap_or(0),
            arch: text(c_arch),
            family,
            spot,
            name,
        };
        out.insert(t.name.clone(), t);
    }
    Ok(out)
}

/// The shipped catalog, parsed once.
pub fn builtin() -> &'static HashMap<String, InstanceType> {
    static CATALOG: OnceLock<HashMap<String, InstanceType>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The shipped file is checked by tests; an error here is a build defect.
        parse_catalog(CATALOG_CSV, CATALOG_FILE).unwrap_or_default()
    })
}

pub fn lookup(name: &str) -> Option<&'static InstanceType> {
    builtin().get(name)
}

/// Month the shipped shapes and on-demand prices were generated (Karpenter's
/// price table, 2026-07-20) and the Spot Instance Advisor feed's date.
pub const PRICES_DATE: &str = "2026-07-20";
pub const SPOT_DATE: &str = "2025-06-28";
/// Older than this, the catalog's date shows as a warning.
pub const STALE_AFTER_DAYS: i64 = 30;

/// A warning when the shipped prices are over 30 days old at `today`.
pub fn staleness(today: chrono::NaiveDate) -> Option<String> {
    let date = chrono::NaiveDate::parse_from_str(PRICES_DATE, "%Y-%m-%d").ok()?;
    let age = (today - date).num_days();
    (age > STALE_AFTER_DAYS).then(|| {
        format!("prices from {PRICES_DATE} ({age} days old; spot data {SPOT_DATE}): check current AWS prices")
    })
}

/// On-demand price multipliers against us-east-1 (Linux), from the SkyPilot
/// catalog excerpt in the shared data (identical for m6a and m7g there).
pub const REGION_MULTIPLIERS: [(&str, f64); 13] = [
    ("us-east-1", 1.0),
    ("us-east-2", 1.0),
    ("us-west-2", 1.0),
    ("us-west-1", 1.167),
    ("ca-central-1", 1.115),
    ("eu-west-1", 1.115),
    ("eu-west-2", 1.156),
    ("eu-west-3", 1.167),
    ("eu-central-1", 1.198),
    ("ap-northeast-1", 1.292),
    ("ap-southeast-1", 1.25),
    ("ap-southeast-2", 1.25),
    // The excerpt ranges 0.643-0.715 there; the upper end, so costs are not understated.
    ("ap-south-1", 0.715),
];

/// On-demand USD/h of `t` in `region`: the live price where a refresh
/// brought one, else the shipped us-east-1 price times the region's
/// multiplier; an error names what is missing.
pub fn on_demand_price(t: &InstanceType, region: &str) -> Result<f64> {
    if let Some(p) = t.regional_od.get(region) {
        return Ok(*p);
    }
    let base = t
        .od_usd_per_hour
        .ok_or_else(|| anyhow!("{CATALOG_FILE}: no usable on-demand price for {}", t.name))?;
    let (_, k) = REGION_MULTIPLIERS
        .iter()
        .find(|(r, _)| *r == region)
        .ok_or_else(|| {
            anyhow!(
                "no price multiplier for region {region:?}; known: {}",
                REGION_MULTIPLIERS.map(|(r, _)| r).join(", ")
            )
        })?;
    Ok(base * k)
}

/// Estimated spot USD/h of `t` in `region`: on-demand x (1 - savings), with
/// the interruption band. `None` where the advisor has no data.
pub fn spot_price<'t>(t: &'t InstanceType, region: &str) -> Option<(f64, &'t str)> {
    let offer = t.spot.get(region)?;
    let od = on_demand_price(t, region).ok()?;
    Some((
        od * (1.0 - offer.savings_pct / 100.0),
        offer.interruption.as_str(),
    ))
}

/// When and what a live refresh of one region brought.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveStamp {
    pub fetched: DateTime<Utc>,
    /// Types DescribeInstanceTypes listed, and how many were new to the catalog.
    pub types: usize,
    pub added: usize,
    /// Types given a live on-demand price and live spot savings.
    pub on_demand: usize,
    pub spot: usize,
    /// Parts of the refresh that failed, with their reasons.
    pub problems: Vec<String>,
}

/// The instance catalog the planner prices with: the shipped one, with live
/// refreshes laid over it per region.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Catalog {
    pub types: HashMap<String, InstanceType>,
    pub live: BTreeMap<String, LiveStamp>,
}

impl Catalog {
    /// The catalog shipped in the binary.
    pub fn shipped() -> Catalog {
        Catalog {
            types: builtin().clone(),
            live: BTreeMap::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&InstanceType> {
        self.types.get(name)
    }

    /// Where `region`'s prices come from, for the Cost pane.
    pub fn prices_note(&self, region: &str) -> String {
        match self.live.get(region) {
            Some(s) if s.on_demand > 0 => format!(
                "live {} UTC ({} on-demand, {} spot)",
                s.fetched.format("%Y-%m-%d %H:%M"),
                s.on_demand,
                s.spot
            ),
            _ => format!("shipped {PRICES_DATE}, regional multiplier applied"),
        }
    }

    /// This catalog after a refresh of `region` failed with `reason`: prices
    /// from an earlier refresh stay (with their time), the reason shows.
    pub fn with_refresh_error(&self, region: &str, at: DateTime<Utc>, reason: &str) -> Catalog {
        let mut out = self.clone();
        let stamp = out.live.entry(region.to_string()).or_insert(LiveStamp {
            fetched: at,
            types: 0,
            added: 0,
            on_demand: 0,
            spot: 0,
            problems: Vec::new(),
        });
        stamp.problems = vec![format!("failed at {} UTC: {reason}", at.format("%H:%M"))];
        out
    }

    /// The age warning for `region`: none once live on-demand prices for it
    /// arrived, else the shipped catalog's (see [`staleness`]).
    pub fn staleness(&self, region: &str, today: chrono::NaiveDate) -> Option<String> {
        match self.live.get(region) {
            Some(s) if s.on_demand > 0 => None,
            _ => staleness(today),
        }
    }
}
