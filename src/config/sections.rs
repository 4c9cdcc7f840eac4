//! The `[plan]` and `[prices]` sections of `config.toml` and their range
//! checks, each error naming its field and line.

use super::{Result, field_error};
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// `[plan]`: scaling rules, instance-mix constraints and discounts; every
/// field optional (defaults in docs/configuration.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    /// Forecast quantile node groups are sized for (0.5-0.99); with a
    /// shortage target, where the learned quantile starts.
    pub quantile: Option<Spanned<f64>>,
    /// Share of the node-hours needed allowed short (0.01 = 1 %; 0: size
    /// for the fixed quantile).
    pub target_shortage: Option<Spanned<f64>>,
    /// Hours the upper band must stay below a smaller size before scaling in.
    pub scale_in_window_hours: Option<Spanned<i64>>,
    /// Most of a group removed by one scale-in (0.5 = half).
    pub max_scale_in_step: Option<Spanned<f64>>,
    /// Smallest scale-in worth making (0.05 = 5 % of the group).
    pub min_scale_in: Option<Spanned<f64>>,
    /// The band's ceiling over the busiest hour in the history (0.1 = 10 %).
    pub peak_buffer: Option<Spanned<f64>>,
    /// Minutes a new node takes to join.
    pub lead_minutes: Option<Spanned<i64>>,
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    pub families: Vec<String>,
    #[serde(default)]
    pub architectures: Vec<String>,
    pub min_generation: Option<Spanned<i64>>,
    pub max_types: Option<Spanned<i64>>,
    pub min_spot_types: Option<Spanned<i64>>,
    pub size_factor: Option<Spanned<f64>>,
    pub enterprise_discount: Option<Spanned<f64>>,
    pub savings_plan_discount: Option<Spanned<f64>>,
    pub commitment_floor_quantile: Option<Spanned<f64>>,
}

/// `[prices]`: the live catalog refresh (live mode).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricesSection {
    /// Refresh shapes and prices from AWS at start and then periodically (default true).
    pub refresh: Option<bool>,
    /// Hours between refreshes (default 12, like Karpenter's pricing refresh).
    pub refresh_hours: Option<Spanned<i64>>,
    /// AWS profile for the EC2 and Pricing calls (default: the cluster's, then the default chain).
    pub profile: Option<String>,
    /// Endpoints instead of AWS's (also `AWS_ENDPOINT_URL_EC2` / `_PRICING`).
    pub ec2_endpoint: Option<Spanned<String>>,
    pub pricing_endpoint: Option<Spanned<String>>,
}

/// Hours between price refreshes unless `[prices] refresh_hours` says otherwise.
pub const DEFAULT_PRICE_REFRESH_HOURS: u32 = 12;

/// `[plan]` values in range, each error naming its field and line.
pub(super) fn check_plan(s: &PlanSection, file: &Path, text: &str) -> Result<()> {
    let real = |v: &Option<Spanned<f64>>, name: &str, lo: f64, hi: f64, what: &str| -> Result<()> {
        match v {
            Some(v) if !(v.get_ref().is_finite() && (lo..=hi).contains(v.get_ref())) => Err(
                field_error(file, text, v.span(), &format!("plan.{name}"), what),
            ),
            _ => Ok(()),
        }
    };
    let whole = |v: &Option<Spanned<i64>>, name: &str, lo: i64, hi: i64| -> Result<()> {
        match v {
            Some(v) if !(lo..=hi).contains(v.get_ref()) => Err(field_error(
                file,
                text,
                v.span(),
                &format!("plan.{name}"),
                &format!("must be a whole number from {lo} to {hi}"),
            )),
            _ => Ok(()),
        }
    };
    real(
        &s.target_shortage,
        "target_shortage",
        0.0,
        0.5,
        "must be a share from 0 to 0.5 (0.01 = 1 % of the node-hours short; 0 = the fixed quantile)",
    )?;
    real(
        &s.quantile,
        "quantile",
        0.5,
        0.99,
        "must be from 0.5 to 0.99 (0.9 = p90)",
    )?;
    real(
        &s.max_scale_in_step,
        "max_scale_in_step",
        0.01,
        1.0,
        "must be a fraction above 0, at most 1",
    )?;
    real(
        &s.min_scale_in,
        "min_scale_in",
        0.0,
        0.5,
        "must be a fraction from 0 to 0.5",
    )?;
    real(
        &s.peak_buffer,
        "peak_buffer",
        0.0,
        10.0,
        "must be a share from 0 to 10 (0.1 = the band stops 10 % above the busiest hour seen)",
    )?;
    real(
        &s.size_factor,
        "size_factor",
        1.0,
        64.0,
        "must be from 1 to 64",
    )?;
    real(
        &s.enterprise_discount,
        "enterprise_discount",
        0.0,
        0.9,
        "must be a fraction from 0 to 0.9",
    )?;
    real(
        &s.savings_plan_discount,
        "savings_plan_discount",
        0.0,
        0.9,
        "must be a fraction from 0 to 0.9",
    )?;
    real(
        &s.commitment_floor_quantile,
        "commitment_floor_quantile",
        0.0,
        0.5,
        "must be a fraction from 0 to 0.5",
    )?;
    whole(&s.scale_in_window_hours, "scale_in_window_hours", 1, 48)?;
    whole(&s.lead_minutes, "lead_minutes", 0, 60)?;
    whole(&s.min_generation, "min_generation", 0, 10)?;
    whole(&s.max_types, "max_types", 0, 20)?;
    whole(&s.min_spot_types, "min_spot_types", 1, 20)?;
    Ok(())
}

pub(super) fn check_prices(s: &PricesSection, file: &Path, text: &str) -> Result<()> {
    if let Some(h) = &s.refresh_hours
        && !(1..=168).contains(h.get_ref())
    {
        return Err(field_error(
            file,
            text,
            h.span(),
            "prices.refresh_hours",
            "must be a whole number of hours from 1 to 168",
        ));
    }
    for (e, name) in [
        (&s.ec2_endpoint, "prices.ec2_endpoint"),
        (&s.pricing_endpoint, "prices.pricing_endpoint"),
    ] {
        if let Some(e) = e
            && !(e.get_ref().starts_with("http://") || e.get_ref().starts_with("https://"))
        {
            return Err(field_error(
                file,
                text,
                e.span(),
                name,
                "must be an http:// or https:// URL",
            ));
        }
    }
    Ok(())
}
