//! Live catalog data: what EC2 DescribeInstanceTypes, DescribeSpotPriceHistory
//! and Pricing GetProducts answer, parsed, and merged over the shipped
//! catalog. Pure: response text in, values out (the calls themselves are in
//! `sources::aws_prices`).

use super::{Catalog, LiveStamp};
use crate::domain::{InstanceType, Resources, SpotOffer};
use anyhow::{Context, Result, anyhow, bail};
use aws_smithy_xml::decode::{Document, ScopedDecoder, try_data};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One instance type as DescribeInstanceTypes describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Ec2Shape {
    pub name: String,
    pub vcpu: u32,
    pub memory_mib: u64,
    /// "amd64" or "arm64" (EC2's x86_64 is Kubernetes' amd64).
    pub arch: String,
    /// ENIs on the default network card, and IPv4 addresses per ENI.
    pub max_enis: u32,
    pub ipv4_per_eni: u32,
    pub bare_metal: bool,
    pub current_generation: bool,
    /// Usage classes: "on-demand", "spot".
    pub usage_classes: Vec<String>,
}

/// Pods the VPC CNI can address without prefix delegation:
/// ENIs x (IPv4 per ENI - 1) + 2 (EKS's max-pods formula).
pub fn eks_max_pods(max_enis: u32, ipv4_per_eni: u32) -> u32 {
    max_enis * ipv4_per_eni.saturating_sub(1) + 2
}

/// CPU the kubelet leaves to pods, in cores: EKS reserves 6 % of the first
/// core, 1 % of the second, 0.5 % of the next two and 0.25 % of the rest.
pub fn eks_allocatable_cpu(vcpu: u32) -> f64 {
    let n = vcpu as f64;
    let reserved_m = 60.0 * n.min(1.0)
        + 10.0 * (n - 1.0).clamp(0.0, 1.0)
        + 5.0 * (n - 2.0).clamp(0.0, 2.0)
        + 2.5 * (n - 4.0).max(0.0);
    (n * 1000.0 - reserved_m).floor() / 1000.0
}

/// Memory the kubelet leaves to pods, in MiB: capacity less the hypervisor's
/// share (7.5 %, Karpenter's VM memory overhead), kube-reserved
/// (255 MiB + 11 MiB per pod) and the 100 MiB hard eviction threshold; on
/// arm64 59 MiB less again (as in Karpenter's instance-type reference the
/// shipped catalog comes from, where every arm64 type shows it).
pub fn eks_allocatable_mib(memory_mib: u64, max_pods: u32, arch: &str) -> f64 {
    let arm = if arch == "arm64" { 59.0 } else { 0.0 };
    (memory_mib as f64 * 0.925 - (255.0 + 11.0 * max_pods as f64) - 100.0 - arm)
        .floor()
        .max(0.0)
}

/// Category letters and generation of a family name ("m6i" -> ("m", 6),
/// "x2iedn" -> ("x", 2), "inf2" -> ("inf", 2)).
pub fn category_generation(family: &str) -> (String, u32) {
    let category: String = family
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let digits: String = family[category.len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    (category, digits.parse().unwrap_or(0))
}

impl Ec2Shape {
    /// The type as EKS sees it, with allocatable from EKS's formulas; no prices.
    pub fn instance_type(&self) -> InstanceType {
        let family = self.name.split('.').next().unwrap_or_default().to_string();
        let (category, generation) = category_generation(&family);
        let max_pods = eks_max_pods(self.max_enis, self.ipv4_per_eni);
        InstanceType {
            name: self.name.clone(),
            vcpu: self.vcpu,
            memory_gib: self.memory_mib as f64 / 1024.0,
            allocatable: Resources::new(
                eks_allocatable_cpu(self.vcpu),
                eks_allocatable_mib(self.memory_mib, max_pods, &self.arch) / 1024.0,
            ),
            max_pods,
            od_usd_per_hour: None,
            regional_od: BTreeMap::new(),
            family,
            category,
            generation,
            arch: self.arch.clone(),
            spot: BTreeMap::new(),
        }
    }
}

/// What one refresh of one region brought back. A part that failed is empty
/// and its reason is in `problems`.
#[derive(Clone, Debug, Default)]
pub struct LivePrices {
    pub region: String,
    pub fetched: Option<DateTime<Utc>>,
    pub shapes: Vec<Ec2Shape>,
    /// Linux, shared tenancy, on-demand USD/h.
    pub on_demand: BTreeMap<String, f64>,
    /// Linux/UNIX spot USD/h: the median over the region's zones.
    pub spot: BTreeMap<String, f64>,
    pub problems: Vec<String>,
}

/// The shipped catalog with `live` laid over it: new types added with EKS
/// allocatable, live on-demand prices for the region, spot savings from live
/// spot prices (interruption bands stay the advisor's; "unknown" where it
/// has none). A price that is not finite and positive is dropped.
pub fn merge(base: &Catalog, live: &LivePrices) -> Catalog {
    let mut out = base.clone();
    let mut added = 0;
    for shape in &live.shapes {
        // Mac hosts (x86_64_mac, arm64_mac) cannot join EKS.
        let eks_arch = shape.arch == "amd64" || shape.arch == "arm64";
        if eks_arch
            && !out.types.contains_key(&shape.name)
            && shape.vcpu > 0
            && shape.memory_mib > 0
        {
            out.types.insert(shape.name.clone(), shape.instance_type());
            added += 1;
        }
    }
    let region = live.region.as_str();
    let mut on_demand = 0;
    for (name, price) in &live.on_demand {
        if let Some(t) = out.types.get_mut(name)
            && price.is_finite()
            && *price > 0.0
        {
            t.regional_od.insert(region.to_string(), *price);
            on_demand += 1;
        }
    }
    let mut spot = 0;
    for (name, price) in &live.spot {
        let Some(t) = out.types.get_mut(name) else {
            continue;
        };
        let Ok(od) = super::on_demand_price(t, region) else {
            continue;
        };
        if !(price.is_finite() && *price > 0.0 && *price <= od) {
            continue;
        }
        let interruption = t
            .spot
            .get(region)
            .map(|o| o.interruption.clone())
            .unwrap_or_else(|| "unknown".into());
        t.spot.insert(
            region.to_string(),
            SpotOffer {
                savings_pct: 100.0 * (1.0 - price / od),
                interruption,
            },
        );
        spot += 1;
    }
    out.live.insert(
        region.to_string(),
        LiveStamp {
            fetched: live.fetched.unwrap_or_else(Utc::now),
            types: live.shapes.len(),
            added,
            on_demand,
            spot,
            problems: live.problems.clone(),
        },
    );
    out
}

fn text(tag: &mut ScopedDecoder) -> Result<String> {
    Ok(try_data(tag)
        .map_err(|e| anyhow!("bad XML: {e}"))?
        .trim()
        .to_string())
}

fn items(tag: &mut ScopedDecoder) -> Result<Vec<String>> {
    let mut out = Vec::new();
    while let Some(mut item) = tag.next_tag() {
        if item.start_el().matches("item") {
            out.push(text(&mut item)?);
        }
    }
    Ok(out)
}

/// Reads the named children of `tag` as text (other children are skipped).
fn children(tag: &mut ScopedDecoder, names: &[&str]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    while let Some(mut c) = tag.next_tag() {
        let local = c.start_el().local().to_string();
        if names.contains(&local.as_str()) {
            out.insert(local, text(&mut c)?);
        }
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(
    fields: &BTreeMap<String, String>,
    key: &str,
    what: &str,
) -> Result<T> {
    let v = fields.get(key).ok_or_else(|| anyhow!("{what}: no {key}"))?;
    v.parse()
        .map_err(|_| anyhow!("{what}: {key} {v:?} is not a number"))
}

fn parse_shape(item: &mut ScopedDecoder) -> Result<Ec2Shape> {
    let mut f = BTreeMap::new();
    let mut arch = Vec::new();
    let mut usage_classes = Vec::new();
    let mut cards: Vec<(String, String)> = Vec::new();
    while let Some(mut t) = item.next_tag() {
        let local = t.start_el().local().to_string();
        match local.as_str() {
            "instanceType" | "bareMetal" | "currentGeneration" => {
                f.insert(local, text(&mut t)?);
            }
            "supportedUsageClasses" => usage_classes = items(&mut t)?,
            "processorInfo" => {
                while let Some(mut p) = t.next_tag() {
                    if p.start_el().matches("supportedArchitectures") {
                        arch = items(&mut p)?;
                    }
                }
            }
            "vCpuInfo" => f.extend(children(&mut t, &["defaultVCpus"])?),
            "memoryInfo" => f.extend(children(&mut t, &["sizeInMiB"])?),
            "networkInfo" => {
                while let Some(mut n) = t.next_tag() {
                    let local = n.start_el().local().to_string();
                    match local.as_str() {
                        "maximumNetworkInterfaces"
                        | "ipv4AddressesPerInterface"
                        | "defaultNetworkCardIndex" => {
                            f.insert(local, text(&mut n)?);
                        }
                        "networkCards" => {
                            while let Some(mut card) = n.next_tag() {
                                let c = children(
                                    &mut card,
                                    &["networkCardIndex", "maximumNetworkInterfaces"],
                                )?;
                                if let (Some(i), Some(m)) =
                                    (c.get("networkCardIndex"), c.get("maximumNetworkInterfaces"))
                                {
                                    cards.push((i.clone(), m.clone()));
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let name = f
        .get("instanceType")
        .cloned()
        .ok_or_else(|| anyhow!("an instanceTypeSet item without instanceType"))?;
    let what = format!("instance type {name}");
    // The VPC CNI attaches pod ENIs on the default network card only.
    let default_card = f
        .get("defaultNetworkCardIndex")
        .cloned()
        .unwrap_or_else(|| "0".into());
    if let Some((_, m)) = cards.iter().find(|(i, _)| *i == default_card) {
        f.insert("maximumNetworkInterfaces".into(), m.clone());
    }
    Ok(Ec2Shape {
        vcpu: number(&f, "defaultVCpus", &what)?,
        memory_mib: number(&f, "sizeInMiB", &what)?,
        arch: match arch.iter().find(|a| *a == "arm64" || *a == "x86_64") {
            Some(a) if a == "x86_64" => "amd64".into(),
            Some(a) => a.clone(),
            None => arch.first().cloned().unwrap_or_default(),
        },
        max_enis: number(&f, "maximumNetworkInterfaces", &what)?,
        ipv4_per_eni: number(&f, "ipv4AddressesPerInterface", &what)?,
        bare_metal: f.get("bareMetal").is_some_and(|v| v == "true"),
        current_generation: f.get("currentGeneration").is_some_and(|v| v == "true"),
        usage_classes,
        name,
    })
}

/// The items of `set` in an EC2 Query response and its `nextToken`.
fn ec2_page<T>(
    xml: &str,
    set: &str,
    mut item: impl FnMut(&mut ScopedDecoder) -> Result<T>,
) -> Result<(Vec<T>, Option<String>)> {
    let mut doc = Document::new(xml);
    let mut root = doc
        .root_element()
        .map_err(|e| anyhow!("not an EC2 response: {e}"))?;
    if root.start_el().matches("Response") {
        bail!("{}", ec2_error(xml));
    }
    let mut out = Vec::new();
    let mut next = None;
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches(set) {
            while let Some(mut i) = tag.next_tag() {
                if i.start_el().matches("item") {
                    out.push(item(&mut i)?);
                }
            }
        } else if tag.start_el().matches("nextToken") {
            next = Some(text(&mut tag)?).filter(|t| !t.is_empty());
        }
    }
    Ok((out, next))
}

/// One page of DescribeInstanceTypes.
pub fn parse_instance_types(xml: &str) -> Result<(Vec<Ec2Shape>, Option<String>)> {
    ec2_page(xml, "instanceTypeSet", parse_shape).context("DescribeInstanceTypes")
}

/// One page of DescribeSpotPriceHistory: (type, zone, USD/h) for Linux/UNIX.
pub type SpotQuote = (String, String, f64);
pub fn parse_spot_prices(xml: &str) -> Result<(Vec<SpotQuote>, Option<String>)> {
    let (rows, next) = ec2_page(xml, "spotPriceHistorySet", |i| {
        children(
            i,
            &[
                "instanceType",
                "availabilityZone",
                "productDescription",
                "spotPrice",
            ],
        )
    })
    .context("DescribeSpotPriceHistory")?;
    let mut out = Vec::new();
    for r in rows {
        let linux = r
            .get("productDescription")
            .is_some_and(|d| d.starts_with("Linux/UNIX"));
        let (Some(t), Some(z)) = (r.get("instanceType"), r.get("availabilityZone")) else {
            continue;
        };
        let price = number::<f64>(&r, "spotPrice", &format!("spot price of {t} in {z}"))
            .context("DescribeSpotPriceHistory")?;
        // A zero, negative or infinite price is garbage: the type keeps the
        // savings it had.
        if linux && price.is_finite() && price > 0.0 {
            out.push((t.clone(), z.clone(), price));
        }
    }
    Ok((out, next))
}

/// The median spot price per type over its zones (the newest quote per zone
/// wins: quotes come newest first).
pub fn spot_medians(quotes: &[SpotQuote]) -> BTreeMap<String, f64> {
    let mut per: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
    for (t, z, p) in quotes {
        per.entry(t).or_default().entry(z).or_insert(*p);
    }
    per.into_iter()
        .map(|(t, zones)| {
            let mut v: Vec<f64> = zones.into_values().collect();
            v.sort_by(f64::total_cmp);
            let m = if v.len() % 2 == 1 {
                v[v.len() / 2]
            } else {
                (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
            };
            (t.to_string(), m)
        })
        .collect()
}

/// EC2's error document: "Code: Message".
pub fn ec2_error(xml: &str) -> String {
    let pick = |tag: &str| {
        let open = format!("<{tag}>");
        let start = xml.find(&open)? + open.len();
        let end = xml[start..].find(&format!("</{tag}>"))? + start;
        Some(xml[start..end].to_string())
    };
    match (pick("Code"), pick("Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        _ => pick("title").unwrap_or_else(|| xml.chars().take(200).collect()),
    }
}

/// One page of Pricing GetProducts (FormatVersion aws_v1): on-demand USD/h
/// per instance type. A product without an hourly USD price is skipped.
pub fn parse_products(json: &str) -> Result<(BTreeMap<String, f64>, Option<String>)> {
    let page: serde_json::Value =
        serde_json::from_str(json).context("GetProducts: response is not JSON")?;
    if let Some(kind) = page.get("__type").and_then(|t| t.as_str()) {
        let msg = page
            .get("message")
            .or_else(|| page.get("Message"))
            .and_then(|m| m.as_str())
            .unwrap_or("");
        bail!("GetProducts: {kind}: {msg}");
    }
    let list = page
        .get("PriceList")
        .and_then(|l| l.as_array())
        .ok_or_else(|| anyhow!("GetProducts: no PriceList"))?;
    let mut out = BTreeMap::new();
    for (i, entry) in list.iter().enumerate() {
        // Each entry is a JSON document in a string.
        let product: serde_json::Value = match entry {
            serde_json::Value::String(s) => serde_json::from_str(s)
                .with_context(|| format!("GetProducts: PriceList[{i}] is not JSON"))?,
            other => other.clone(),
        };
        let Some(name) = product
            .pointer("/product/attributes/instanceType")
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        let hourly = product
            .pointer("/terms/OnDemand")
            .and_then(|t| t.as_object())
            .into_iter()
            .flat_map(|terms| terms.values())
            .filter_map(|term| term.get("priceDimensions")?.as_object())
            .flat_map(|dims| dims.values())
            .filter(|d| d.get("unit").and_then(|u| u.as_str()) == Some("Hrs"))
            .filter_map(|d| {
                d.pointer("/pricePerUnit/USD")?
                    .as_str()?
                    .parse::<f64>()
                    .ok()
            })
            .find(|p| p.is_finite() && *p > 0.0);
        if let Some(p) = hourly {
            out.insert(name.to_string(), p);
        }
    }
    let next = page
        .get("NextToken")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok((out, next))
}
