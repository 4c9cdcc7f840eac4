//! One node group's plan: its size hour by hour under the scaling rule, the
//! proposals that changes it, cost, instance mix, spot share and latency risk.

use super::config::PlanConfig;
use super::cost::{HOURS_PER_MONTH, latency_risk};
use super::mix::{self, Mix, MixConstraints, Offer, Requirement};
use super::scaling::{
    MAX_APPLIES_PER_HOUR, MAX_SCALE_OUT_STEP, ScaleRules, at_quantile, ceiling_nodes, hour_up_to,
    sizing_nodes, targets, undone_at, whole,
};
use super::spot::{SpotAdvice, band_risk};
use crate::catalog::{self, Catalog};
use crate::domain::{CapacityType, Forecast, Resources, Risk, ScaleReason, ScalingAction};
use crate::forecast::nodes::NodesNeeded;
use crate::snapshot::{ClusterSnapshot, NodeGroupSummary};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// "Scale node group X from a to b at T", with what the operator needs to
/// judge it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Proposal {
    pub action: ScalingAction,
    /// When to start: `action.at` minus the lead time for nodes to join.
    pub apply_by: DateTime<Utc>,
    /// Nodes needed that hour: p10, p50, p90 (headroom included).
    pub band: (u32, u32, u32),
    pub usd_per_hour_delta: Option<f64>,
    /// Requests over allocatable after the change, at the p50 forecast.
    pub utilization_after: f64,
    pub risk: Risk,
    pub risk_reason: String,
    /// The band was cut at the group's ceiling ([`GroupPlan::ceiling`]) for
    /// this hour: without the cap the size would be larger.
    pub capped: bool,
    /// The runaway guard's budget (6 applies and 100 added nodes per
    /// cluster in any hour) was spent by the changes counted before it:
    /// its apply-by is when the budget frees, later than its hour asked.
    pub held: bool,
    /// A scale-in this plan itself undoes: the hour served by its first
    /// later change that brings the group back to the size before the
    /// scale-in or more, within [`super::scaling::UNDONE_WITHIN_H`] hours of the hour the
    /// scale-in serves (`None` for the others and every scale-out). The
    /// nodes it drains would boot again, which the operator may rather not.
    pub back_at: Option<DateTime<Utc>>,
}

/// What an undecided proposal that has not expired says in the Plan pane
/// and `nodecast actions`: "proposed", or "waits: hourly budget" where the
/// runaway guard holds it ([`Proposal::held`]), with " · back up 00:00"
/// where this plan undoes the scale-in ([`Proposal::back_at`]).
pub fn undecided_state(held: bool, back_at: Option<DateTime<Utc>>) -> String {
    let state = if held {
        "waits: hourly budget"
    } else {
        "proposed"
    };
    match back_at {
        Some(t) => format!("{state} · back up {}", t.format("%H:%M")),
        None => state.to_string(),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MixAdvice {
    pub requirement: Requirement,
    pub best: Mix,
    pub greedy: Option<Mix>,
    /// Today's type alone, sized to the requirement.
    pub current: Option<Mix>,
    /// (score 0-100, one-line reason) for cost, performance, availability.
    pub cost: (u8, String),
    pub performance: (u8, String),
    pub availability: (u8, String),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupPlan {
    pub node_group: String,
    pub instance_type: String,
    pub capacity_type: CapacityType,
    pub nodes_now: u32,
    pub usd_per_node_hour: Option<f64>,
    pub usd_per_hour_now: Option<f64>,
    pub usd_per_month_now: Option<f64>,
    /// Planned size for each forecast hour.
    pub sizes: Vec<u32>,
    /// The quantile this group was sized for and the shortage it realized,
    /// learned from the ledger (`PlanConfig::group_sizing`; `None`: the
    /// cluster's quantile).
    pub sizing: Option<super::shortage::Sizing>,
    /// The most nodes the band may ask for: the busiest hour of the history
    /// plus `peak_buffer` (`None` without history).
    pub ceiling: Option<u32>,
    pub planned_usd_48h: Option<f64>,
    /// The plan's mean $/h over the 48 h against today's size.
    pub plan_vs_now_usd_per_hour: Option<f64>,
    pub proposals: Vec<Proposal>,
    pub mix: Option<MixAdvice>,
    pub spot: SpotAdvice,
    pub utilization_now: f64,
    pub risk_now: (Risk, String),
}

/// A relative change as a percentage with one sign: "−12%", "+3%", "0%".
pub fn signed_pct(change: f64) -> String {
    let pct = (change * 100.0).round();
    if pct < 0.0 {
        format!("−{:.0}%", -pct)
    } else if pct > 0.0 {
        format!("+{pct:.0}%")
    } else {
        "0%".into()
    }
}

/// Price of one node of `t` in `region` for this capacity type.
fn node_price(t: &crate::domain::InstanceType, region: &str, ct: CapacityType) -> Option<f64> {
    match ct {
        CapacityType::OnDemand => catalog::on_demand_price(t, region).ok(),
        CapacityType::Spot => catalog::spot_price(t, region).map(|(p, _)| p),
    }
}

/// Requests over allocatable on `nodes` nodes: the tighter of CPU and memory.
fn utilization(demand: Resources, nodes: u32, per: Resources) -> f64 {
    if nodes == 0 || per.cores <= 0.0 || per.gib <= 0.0 {
        return if demand.cores > 0.0 { 1.0 } else { 0.0 };
    }
    (demand.cores / (nodes as f64 * per.cores)).max(demand.gib / (nodes as f64 * per.gib))
}

/// What one node group's plan is made from.
pub struct GroupInputs<'a> {
    pub group: &'a NodeGroupSummary,
    pub need: &'a NodesNeeded,
    /// The most nodes any hour of the history needed (`NodesNeeded::busiest_in`).
    pub busiest: Option<u32>,
    /// The cluster's CPU and memory request forecasts.
    pub cpu: &'a Forecast,
    pub mem: &'a Forecast,
    pub snapshot: &'a ClusterSnapshot,
    pub region: &'a str,
    pub cfg: &'a PlanConfig,
    /// Shapes and prices (shipped, or refreshed live).
    pub catalog: &'a Catalog,
}

/// Whether a change of `added` nodes at `at` keeps the runaway guard
/// (`exec::rules::Runaway`: [`MAX_APPLIES_PER_HOUR`] applies and
/// [`MAX_SCALE_OUT_STEP`] added nodes in any hour) with the cluster's other
/// `planned` changes (when, nodes added): in the hour up to it, and in the
/// hour up to each planned change within the hour after it.
pub fn within_runaway(planned: &[(DateTime<Utc>, u32)], at: DateTime<Utc>, added: u32) -> bool {
    let hour = Duration::hours(1);
    std::iter::once(at)
        .chain(
            planned
                .iter()
                .map(|(t, _)| *t)
                .filter(|t| *t >= at && *t - at < hour),
        )
        .all(|end| {
            let (applies, nodes) = hour_up_to(planned, end);
            applies < MAX_APPLIES_PER_HOUR && nodes + added <= MAX_SCALE_OUT_STEP
        })
}

/// Sets [`Proposal::back_at`] on each scale-in of one group's proposals
/// that its later hours undo ([`undone_at`] over the group's size from
/// `start`, then after each hour of `hours`, as `simulate` counts them).
fn mark_undone(proposals: &mut [Proposal], start: u32, sizes: &[u32], hours: &[DateTime<Utc>]) {
    let seq: Vec<u32> = std::iter::once(start)
        .chain(sizes.iter().copied())
        .collect();
    for p in proposals.iter_mut().filter(|p| p.action.to < p.action.from) {
        // A scale-in is the hour's one change: its hour's size is its `to`.
        let Some(h) = hours.iter().position(|t| *t == p.action.at) else {
            continue;
        };
        p.back_at = undone_at(&seq, h + 1).map(|k| hours[k - 1]);
    }
}

/// One node group's plan. `planned` holds the changes (when, nodes added)
/// the cluster's groups planned before this one: its changes keep the
/// runaway guard with them (the groups in turn, so the first planned
/// comes first), and are added to it.
pub fn plan_group(x: &GroupInputs, planned: &mut Vec<(DateTime<Utc>, u32)>) -> GroupPlan {
    let GroupInputs {
        group: g,
        need,
        busiest,
        cpu,
        mem,
        snapshot,
        region,
        cfg,
        catalog,
    } = *x;
    let t = catalog.get(&g.instance_type);
    let price = t.and_then(|t| node_price(t, region, g.capacity_type));
    let per = need.per_node;
    let sizing = cfg.group_sizing.get(&g.name);
    // Every change within what the executor allows: under the operator's
    // cap, a forecast jump larger than one step ramped early enough, a
    // scale-in stopped at the ramp towards a later peak.
    let limits = cfg
        .change_limits
        .get(&snapshot.cluster.0)
        .copied()
        .unwrap_or_default();
    // The plan starts from the size the group's API asks for (its desired
    // size, where it reports one), as the executor compares with it: while
    // a change is in flight the nodes lag it, and a change proposed from
    // the node count would be refused as changed since proposed.
    let start = g.desired.unwrap_or(g.nodes);
    let cap = limits.max_nodes.map_or(u32::MAX, |c| c.max(start));
    let rules = ScaleRules {
        min: g.min.unwrap_or(0),
        max: g.max.unwrap_or(cfg.max_nodes).min(cap),
        quantile: sizing.map(|s| s.quantile).unwrap_or(cfg.rules.quantile),
        ..cfg.rules
    };
    let demand_at = |h: usize| {
        Resources::new(
            cpu.points.get(h).map(|p| p.p50).unwrap_or(0.0) * need.share.cores,
            mem.points.get(h).map(|p| p.p50).unwrap_or(0.0) * need.share.gib,
        )
    };
    // Nodes today's requests fill, pending pods for this group included: the
    // floor no plan goes below. A group with pods pending for it is never
    // scaled in (its floor is at least its size), whatever the forecast.
    let demand = g.demand();
    let mut requested_now = if per.cores > 0.0 && per.gib > 0.0 {
        (demand.cores / per.cores).max(demand.gib / per.gib)
    } else {
        0.0
    };
    if g.pending_pods > 0 {
        requested_now = requested_now.max(g.nodes.max(start) as f64);
    }
    let busiest = busiest.map(f64::from);
    let upper: Vec<f64> = need
        .hours
        .iter()
        .map(|p| sizing_nodes(p.p50 as f64, p.p90 as f64, rules.quantile, busiest, &rules))
        .collect();
    let uncapped = |h: usize| {
        let p = &need.hours[h];
        at_quantile(p.p50 as f64, p.p90 as f64, rules.quantile)
    };
    // Queueing risk follows what the CPUs are busy with: requests scaled by
    // today's usage-to-requests ratio. Without measured usage (no
    // metrics-server) there is nothing to judge it by: the risk is unknown.
    let busy = g
        .usage
        .filter(|_| g.requests.cores > 0.0)
        .map(|u| (u.cores / g.requests.cores).clamp(0.0, 1.5));
    let risk_at = |nodes: u32, rho: f64| match busy {
        Some(b) => latency_risk(nodes, rho * b),
        None => (
            Risk::Unknown,
            "usage unknown (the cluster serves no metrics.k8s.io)".to_string(),
        ),
    };
    let ramp = limits.ramp(&targets(&upper, requested_now, &rules));
    let mut size = start;
    let lead = Duration::minutes(rules.lead_minutes as i64);
    // Each hour's changes go in from its apply-by time on, before the next
    // hour's, none within the cooldown after the group's last change: the
    // last applied (from the audit log), then each planned. Steps chained
    // within an hour are a cooldown apart, the second no sooner than a
    // cooldown after the plan was made. A cooldown of hours is one change
    // per `every_h` hours on the hourly grid, as the ramp assumes.
    let mut last_change = cfg.group_last_change.get(&g.name).copied();
    let mut sizes = Vec::with_capacity(upper.len());
    let mut proposals = Vec::new();
    for h in 0..upper.len() {
        let due = need.hours[h].ts - lead;
        let next_due = due + Duration::hours(1);
        let mut when = last_change.map_or(due, |t| due.max(t + limits.cooldown));
        let changes = limits.hour_changes(size, requested_now, &upper[h..], ramp[h], &rules);
        for (next, reason) in changes {
            let added = next.saturating_sub(size);
            // A change due before the plan was made is applied from then on
            // (`applied`); one the runaway guard holds waits for the hour's
            // budget.
            let mut applied = when.max(cpu.issued_at);
            let held = !within_runaway(planned, applied, added);
            if held {
                let mut frees: Vec<_> = planned
                    .iter()
                    .map(|(t, _)| *t + Duration::hours(1))
                    .filter(|t| *t > applied)
                    .collect();
                frees.sort();
                match frees
                    .into_iter()
                    .find(|t| within_runaway(planned, *t, added))
                {
                    Some(t) => (when, applied) = (t, t),
                    None => break,
                }
            }
            if when >= next_due || (limits.every_h() > 1 && when > due) {
                break;
            }
            let at = need.hours[h].ts;
            let rho = utilization(demand_at(h), next, per);
            let (risk, risk_reason) = risk_at(next, rho);
            proposals.push(Proposal {
                action: ScalingAction {
                    cluster: snapshot.cluster.clone(),
                    node_group: g.name.clone(),
                    from: size,
                    to: next,
                    at,
                    reason,
                },
                apply_by: when,
                band: (need.hours[h].p10, need.hours[h].p50, need.hours[h].p90),
                usd_per_hour_delta: price.map(|p| (next as f64 - size as f64) * p),
                utilization_after: rho,
                risk,
                risk_reason,
                // Cut by the ceiling, not by the step (a stepped change
                // below the band is a step, whatever the ceiling).
                capped: reason == ScaleReason::ForecastAbove
                    && uncapped(h) > whole(upper[h]) as f64 + 1e-6,
                held,
                back_at: None,
            });
            planned.push((applied, added));
            last_change = Some(applied);
            size = next;
            when = applied + limits.cooldown;
        }
        sizes.push(size);
    }
    let hours: Vec<DateTime<Utc>> = need.hours.iter().map(|p| p.ts).collect();
    mark_undone(&mut proposals, start, &sizes, &hours);
    let usd_per_hour_now = price.map(|p| p * g.nodes as f64);
    let planned_usd_48h = price.map(|p| sizes.iter().map(|s| *s as f64 * p).sum::<f64>());
    let rho_now = utilization(g.requests, g.nodes, per);
    let spot = spot_advice(g, t, region, snapshot, usd_per_hour_now);
    GroupPlan {
        node_group: g.name.clone(),
        instance_type: g.instance_type.clone(),
        capacity_type: g.capacity_type,
        nodes_now: g.nodes,
        usd_per_node_hour: price,
        usd_per_month_now: usd_per_hour_now.map(|u| u * HOURS_PER_MONTH),
        usd_per_hour_now,
        planned_usd_48h,
        plan_vs_now_usd_per_hour: planned_usd_48h
            .zip(usd_per_hour_now)
            .map(|(a, b)| (a - b * 48.0) / 48.0),
        mix: mix_advice(x, &rules),
        spot,
        utilization_now: rho_now,
        risk_now: risk_at(g.nodes, rho_now),
        sizes,
        sizing: sizing.cloned(),
        ceiling: busiest.map(|b| whole(ceiling_nodes(b, &rules))),
        proposals,
    }
}

fn spot_advice(
    g: &NodeGroupSummary,
    t: Option<&crate::domain::InstanceType>,
    region: &str,
    snapshot: &ClusterSnapshot,
    usd_per_hour_now: Option<f64>,
) -> SpotAdvice {
    let share = snapshot
        .group_workloads
        .iter()
        .find(|w| w.node_group == g.name)
        .map(|w| w.tolerant_share())
        .unwrap_or(0.0);
    let offer = t.and_then(|t| t.spot.get(region));
    let saved = match (g.capacity_type, offer, usd_per_hour_now) {
        (CapacityType::OnDemand, Some(o), Some(u)) => u * share * o.savings_pct / 100.0,
        _ => 0.0,
    };
    SpotAdvice {
        node_group: g.name.clone(),
        tolerant_share: share,
        interruption: offer.map(|o| o.interruption.clone()),
        savings_pct: offer.map(|o| o.savings_pct),
        usd_per_hour_saved: saved,
        risk: offer
            .map(|o| band_risk(&o.interruption))
            .unwrap_or(Risk::Unknown),
    }
}

fn mix_advice(x: &GroupInputs, rules: &ScaleRules) -> Option<MixAdvice> {
    // The mix is sized for the band's own peak, uncapped: it advises on
    // instance types for what the forecast could need, not on the size.
    let GroupInputs {
        group: g,
        need,
        busiest: _,
        cpu,
        mem,
        snapshot,
        region,
        cfg,
        catalog,
    } = *x;
    let current = catalog.get(&g.instance_type)?;
    let q = rules.quantile;
    // The busiest hour of the next 48 at the sizing quantile, plus headroom.
    let peak = |f: &Forecast| {
        f.points
            .iter()
            .map(|p| at_quantile(p.p50, p.p90, q))
            .fold(0.0, f64::max)
    };
    let grow = 1.0 + cfg.headroom;
    let cores = peak(cpu) * need.share.cores * grow;
    let gib = peak(mem) * need.share.gib * grow;
    let now_cores = cpu
        .points
        .first()
        .map(|p| p.p50 * need.share.cores)
        .unwrap_or(0.0);
    let here = snapshot
        .group_workloads
        .iter()
        .find(|w| w.node_group == g.name);
    let pods_now = here.map(|w| w.pods).unwrap_or(0);
    let largest_pod = here.map(|w| w.largest_pod).unwrap_or_default();
    let req = Requirement {
        cores,
        gib,
        pods: pods_now as f64
            * if now_cores > 0.0 {
                cores / now_cores
            } else {
                1.0
            },
        largest_pod,
    };
    let constraints = MixConstraints {
        families: cfg.families.clone(),
        architectures: if cfg.architectures.is_empty() {
            vec![current.arch.clone()]
        } else {
            cfg.architectures.clone()
        },
        min_generation: cfg.min_generation,
        max_nodes: rules.max,
        min_types: if g.capacity_type == CapacityType::Spot {
            cfg.min_spot_types
        } else {
            1
        },
        max_types: if g.capacity_type == CapacityType::Spot {
            cfg.min_spot_types + 2
        } else {
            cfg.max_types
        },
    };
    let (lo, hi) = (
        current.vcpu as f64 / cfg.size_factor.max(1.0),
        current.vcpu as f64 * cfg.size_factor.max(1.0),
    );
    let offers: Vec<Offer> = catalog
        .types
        .values()
        .filter(|t| mix::allowed(t, &constraints))
        .filter(|t| cfg.categories.is_empty() || cfg.categories.contains(&t.category))
        .filter(|t| !t.name.contains("metal") && !t.name.contains("flex"))
        .filter(|t| (lo..=hi).contains(&(t.vcpu as f64)))
        .filter_map(|t| Offer::new(t, node_price(t, region, g.capacity_type)))
        .collect();
    let best = mix::cheapest(&offers, &req, &constraints)?;
    let greedy = mix::greedy_per_vcpu(&offers, &req, &constraints);
    let current_mix = Offer::new(current, node_price(current, region, g.capacity_type)).map(|o| {
        let n = mix::nodes_alone(&o, req.cores, req.gib, req.pods).max(1);
        Mix {
            usd_per_hour: o.usd_per_hour * n as f64,
            parts: vec![(o, n)],
            exact: true,
        }
    });
    let vs = |m: &Option<Mix>, what: &str| {
        m.as_ref().filter(|m| m.usd_per_hour > 0.0).map(|m| {
            format!(
                "{} vs {what}",
                signed_pct(best.usd_per_hour / m.usd_per_hour - 1.0)
            )
        })
    };
    let cost_reason = [vs(&current_mix, "today's type"), vs(&greedy, "greedy")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let floor = mix::lower_bound(&offers, &req);
    let cost = (
        ((floor / best.usd_per_hour) * 100.0)
            .round()
            .clamp(0.0, 100.0) as u8,
        cost_reason,
    );
    let nodes = best.nodes().max(1) as f64;
    let generation = best
        .parts
        .iter()
        .map(|(o, n)| o.generation as f64 * *n as f64)
        .sum::<f64>()
        / nodes;
    let performance = (
        ((generation / 8.0).min(1.0) * 100.0).round() as u8,
        format!("generation {generation:.1} of 8"),
    );
    let availability = availability(&best, region, g.capacity_type, catalog);
    Some(MixAdvice {
        requirement: req,
        best,
        greedy,
        current: current_mix,
        cost,
        performance,
        availability,
    })
}

/// On-demand: more types and nodes spread the risk of a capacity shortage;
/// spot: the node-weighted interruption band.
fn availability(m: &Mix, region: &str, ct: CapacityType, catalog: &Catalog) -> (u8, String) {
    let types = m.parts.len();
    match ct {
        CapacityType::OnDemand => {
            let s = if types > 1 { 100 } else { 90 };
            (s, format!("on-demand, {types} types"))
        }
        CapacityType::Spot => {
            let score = |band: &str| match band {
                "<5%" => 95.0,
                "5-10%" => 85.0,
                "10-15%" => 75.0,
                "15-20%" => 65.0,
                _ => 50.0,
            };
            let nodes = m.nodes().max(1) as f64;
            let s = m
                .parts
                .iter()
                .map(|(o, n)| {
                    let band = catalog
                        .get(&o.instance_type)
                        .and_then(|t| t.spot.get(region))
                        .map(|s| s.interruption.as_str())
                        .unwrap_or(">20%");
                    score(band) * *n as f64
                })
                .sum::<f64>()
                / nodes;
            (
                s.round() as u8,
                format!("spot, {types} types by interruption band"),
            )
        }
    }
}
