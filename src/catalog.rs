//! EC2 instance types with their EKS allocatable, from data/instance_types_eks.csv
//! (built from Karpenter's instance-type reference and price table; see README).

use crate::domain::{InstanceType, Resources};
use anyhow::{Context, Result, anyhow, bail};
use std::collections::HashMap;
use std::sync::OnceLock;

const CATALOG_CSV: &str = include_str!("../data/instance_types_eks.csv");
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
        .filter(|v| v.is_finite())
        .map(|v| v * mult)
        .ok_or_else(|| anyhow!("bad CPU quantity {q:?}"))
}

/// Parses a Kubernetes memory quantity ("1392Mi", "17Gi", "1024Ki", "1000000") into GiB.
pub fn parse_mem_gib(q: &str) -> Result<f64> {
    let q = q.trim();
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let units: [(&str, f64); 8] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", GIB),
        ("Ti", GIB * 1024.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    for (suffix, mult) in units {
        if let Some(n) = q.strip_suffix(suffix) {
            let v: f64 = n
                .parse()
                .map_err(|_| anyhow!("bad memory quantity {q:?}"))?;
            return Ok(v * mult / GIB);
        }
    }
    let v: f64 = q
        .parse()
        .map_err(|_| anyhow!("bad memory quantity {q:?}"))?;
    Ok(v / GIB)
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
        let ctx = || format!("{file} line {lineno}");
        let price = f[c_price].trim();
        let price = if price.is_empty() {
            None
        } else {
            price
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p > 0.0)
        };
        let t = InstanceType {
            name: f[c_name].to_string(),
            vcpu: f[c_vcpu].parse().with_context(ctx)?,
            memory_gib: f[c_mem].parse::<f64>().with_context(ctx)? / 1024.0,
            allocatable: Resources::new(
                parse_cpu(f[c_acpu]).with_context(ctx)?,
                parse_mem_gib(f[c_amem]).with_context(ctx)?,
            ),
            max_pods: f[c_apods].parse().with_context(ctx)?,
            od_usd_per_hour: price,
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
