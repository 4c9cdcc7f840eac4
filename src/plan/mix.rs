//! The instance mix: the cheapest set of instance types and counts whose EKS
//! allocatable covers a node group's required cores, GiB and pods, under the
//! configured constraints; compared with a greedy cheapest-per-vCPU pick and
//! with the current mix. Pure.
//!
//! Search: branch and bound over the candidate types (dominated ones
//! dropped), counts tried from high to low, pruned by a lower bound (each
//! resource still to cover at the cheapest price per unit of it among the
//! types left). Exact within a budget of explored nodes; `exact` says
//! whether the budget sufficed.

use crate::domain::{InstanceType, Resources};
use serde::Serialize;

/// What the mix must cover (one hour's requirement, headroom included).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Requirement {
    pub cores: f64,
    pub gib: f64,
    pub pods: f64,
    /// The largest pod's requests: every type chosen must fit it.
    pub largest_pod: Resources,
}

/// Which types may be used (from config).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MixConstraints {
    /// Instance families allowed ("m6i", "c7g"); empty = all.
    pub families: Vec<String>,
    /// Architectures allowed ("amd64", "arm64"); empty = all.
    pub architectures: Vec<String>,
    /// Oldest generation allowed (0 = any).
    pub min_generation: u32,
    /// Most nodes in the mix.
    pub max_nodes: u32,
    /// At least this many distinct types (spot pools diversify interruptions).
    pub min_types: usize,
    /// At most this many distinct types (0: no limit); a node group with
    /// many sizes is hard to reason about and to autoscale.
    pub max_types: usize,
}

/// One type in a mix, priced per hour (on-demand or spot estimate).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Offer {
    pub instance_type: String,
    pub allocatable: Resources,
    pub pods: u32,
    pub usd_per_hour: f64,
    pub generation: u32,
}

impl Offer {
    /// The offer of `t` at `price`; `None` where the price is missing, NaN or
    /// not positive (such a price never enters a total).
    pub fn new(t: &InstanceType, price: Option<f64>) -> Option<Offer> {
        let p = price.filter(|p| p.is_finite() && *p > 0.0)?;
        Some(Offer {
            instance_type: t.name.clone(),
            allocatable: t.allocatable,
            pods: t.max_pods,
            usd_per_hour: p,
            generation: t.generation,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mix {
    /// (offer, count), count > 0, cheapest total first.
    pub parts: Vec<(Offer, u32)>,
    pub usd_per_hour: f64,
    pub exact: bool,
}

impl Mix {
    pub fn nodes(&self) -> u32 {
        self.parts.iter().map(|(_, n)| n).sum()
    }
    pub fn allocatable(&self) -> Resources {
        self.parts.iter().fold(Resources::default(), |a, (o, n)| {
            a.plus(o.allocatable.scale(*n as f64))
        })
    }
    pub fn pods(&self) -> u64 {
        self.parts
            .iter()
            .map(|(o, n)| o.pods as u64 * *n as u64)
            .sum()
    }
    /// True when the mix covers `req`.
    pub fn covers(&self, req: &Requirement) -> bool {
        let a = self.allocatable();
        a.cores + 1e-9 >= req.cores
            && a.gib + 1e-9 >= req.gib
            && self.pods() as f64 + 1e-9 >= req.pods
    }
    fn from_counts(offers: &[Offer], counts: &[u32], exact: bool) -> Mix {
        let mut parts: Vec<(Offer, u32)> = offers
            .iter()
            .zip(counts)
            .filter(|(_, n)| **n > 0)
            .map(|(o, n)| (o.clone(), *n))
            .collect();
        parts.sort_by(|a, b| {
            (b.0.usd_per_hour * b.1 as f64)
                .total_cmp(&(a.0.usd_per_hour * a.1 as f64))
                .then(a.0.instance_type.cmp(&b.0.instance_type))
        });
        let usd_per_hour = parts.iter().map(|(o, n)| o.usd_per_hour * *n as f64).sum();
        Mix {
            parts,
            usd_per_hour,
            exact,
        }
    }
}

/// True when `t` is allowed by the constraints.
pub fn allowed(t: &InstanceType, c: &MixConstraints) -> bool {
    (c.families.is_empty() || c.families.contains(&t.family))
        && (c.architectures.is_empty() || c.architectures.contains(&t.arch))
        && t.generation >= c.min_generation
}

/// Offers that fit the largest pod; dominated ones dropped (another offers
/// at least as much of everything for no more money) unless `diverse` (a
/// mix that must spread over several types may need the dominated ones).
/// Cheapest per core first.
pub fn candidates(offers: &[Offer], req: &Requirement, diverse: bool) -> Vec<Offer> {
    let fits: Vec<&Offer> = offers
        .iter()
        .filter(|o| req.largest_pod.fits_in(o.allocatable) && o.pods >= 1)
        .collect();
    let dominated = |a: &Offer| {
        fits.iter().any(|b| {
            b.instance_type != a.instance_type
                && b.allocatable.cores >= a.allocatable.cores
                && b.allocatable.gib >= a.allocatable.gib
                && b.pods >= a.pods
                && b.usd_per_hour <= a.usd_per_hour
                && (b.usd_per_hour < a.usd_per_hour
                    || b.allocatable.cores > a.allocatable.cores
                    || b.allocatable.gib > a.allocatable.gib
                    || b.pods > a.pods
                    || b.instance_type < a.instance_type)
        })
    };
    let mut out: Vec<Offer> = fits
        .iter()
        .filter(|a| diverse || !dominated(a))
        .map(|o| (*o).clone())
        .collect();
    // Keep the search small: the best per core, per GiB and per pod.
    if out.len() > 2 * KEEP_PER_RESOURCE + 4 {
        let mut keep: Vec<String> = Vec::new();
        type Unit<'u> = &'u dyn Fn(&Offer) -> f64;
        let units: [(usize, Unit); 3] = [
            (KEEP_PER_RESOURCE, &|o| o.allocatable.cores),
            (KEEP_PER_RESOURCE, &|o| o.allocatable.gib),
            (4, &|o| o.pods as f64),
        ];
        for (k, unit) in units {
            let mut by: Vec<&Offer> = out.iter().filter(|o| unit(o) > 0.0).collect();
            by.sort_by(|a, b| {
                (a.usd_per_hour / unit(a))
                    .total_cmp(&(b.usd_per_hour / unit(b)))
                    .then(a.instance_type.cmp(&b.instance_type))
            });
            keep.extend(by.iter().take(k).map(|o| o.instance_type.clone()));
        }
        out.retain(|o| keep.contains(&o.instance_type));
    }
    // Cheapest per core first: good mixes are found early and prune the rest.
    out.sort_by(|a, b| {
        (a.usd_per_hour / a.allocatable.cores.max(1e-9))
            .total_cmp(&(b.usd_per_hour / b.allocatable.cores.max(1e-9)))
            .then(a.instance_type.cmp(&b.instance_type))
    });
    out
}

/// Types kept per resource when many survive dominance.
pub const KEEP_PER_RESOURCE: usize = 12;

/// Nodes of `o` alone that cover `req` (cores, GiB and pods).
pub fn nodes_alone(o: &Offer, cores: f64, gib: f64, pods: f64) -> u32 {
    let k = |need: f64, per: f64| {
        if need <= 1e-9 {
            0.0
        } else if per <= 0.0 {
            f64::INFINITY
        } else {
            ((need / per) * 1e6).round() / 1e6
        }
    };
    let n = k(cores, o.allocatable.cores)
        .max(k(gib, o.allocatable.gib))
        .max(k(pods, o.pods as f64))
        .ceil();
    if n.is_finite() {
        n.min(u32::MAX as f64) as u32
    } else {
        u32::MAX
    }
}

/// Greedy: all nodes of the type with the lowest price per allocatable vCPU.
pub fn greedy_per_vcpu(offers: &[Offer], req: &Requirement, c: &MixConstraints) -> Option<Mix> {
    let cands = candidates(offers, req, false);
    let best = cands.iter().min_by(|a, b| {
        (a.usd_per_hour / a.allocatable.cores)
            .total_cmp(&(b.usd_per_hour / b.allocatable.cores))
            .then(a.instance_type.cmp(&b.instance_type))
    })?;
    let n = nodes_alone(best, req.cores, req.gib, req.pods).max(1);
    (n <= c.max_nodes).then(|| Mix::from_counts(std::slice::from_ref(best), &[n], true))
}

/// A lower bound on any mix's cost: each resource at the cheapest price per unit of it.
pub fn lower_bound(offers: &[Offer], req: &Requirement) -> f64 {
    let cands = candidates(offers, req, false);
    let per = |need: f64, unit: &dyn Fn(&Offer) -> f64| -> f64 {
        cands
            .iter()
            .filter(|o| unit(o) > 0.0)
            .map(|o| o.usd_per_hour / unit(o))
            .fold(f64::INFINITY, f64::min)
            * need.max(0.0)
    };
    per(req.cores, &|o| o.allocatable.cores)
        .max(per(req.gib, &|o| o.allocatable.gib))
        .max(per(req.pods, &|o| o.pods as f64))
}

/// Explored-node budget of the exact search.
pub const SEARCH_BUDGET: u64 = 2_000_000;

/// The cheapest mix covering `req` under `c`, or `None` when none can.
pub fn cheapest(offers: &[Offer], req: &Requirement, c: &MixConstraints) -> Option<Mix> {
    let cands = candidates(offers, req, c.min_types > 1);
    if cands.len() < c.min_types || (c.max_types > 0 && c.max_types < c.min_types) {
        return None;
    }
    let unit_min = |unit: &dyn Fn(&Offer) -> f64| -> Vec<f64> {
        let mut v = vec![f64::INFINITY; cands.len() + 1];
        for i in (0..cands.len()).rev() {
            let u = unit(&cands[i]);
            let p = if u > 0.0 {
                cands[i].usd_per_hour / u
            } else {
                f64::INFINITY
            };
            v[i] = v[i + 1].min(p);
        }
        v
    };
    let mut s = Search {
        per_core: unit_min(&|o| o.allocatable.cores),
        per_gib: unit_min(&|o| o.allocatable.gib),
        per_pod: unit_min(&|o| o.pods as f64),
        offers: &cands,
        c,
        counts: vec![0; cands.len()],
        best: None,
        best_cost: f64::INFINITY,
        explored: 0,
    };
    // Seed with the best single type, so pruning bites from the start.
    if c.min_types <= 1 {
        for (i, o) in cands.iter().enumerate() {
            let n = nodes_alone(o, req.cores, req.gib, req.pods).max(1);
            let cost = n as f64 * o.usd_per_hour;
            if n <= c.max_nodes && cost < s.best_cost - 1e-12 {
                let mut counts = vec![0; cands.len()];
                counts[i] = n;
                s.best_cost = cost;
                s.best = Some(counts);
            }
        }
    }
    s.branch(0, req.cores, req.gib, req.pods, 0.0, 0, 0);
    let exact = s.explored < SEARCH_BUDGET;
    s.best
        .map(|counts| Mix::from_counts(&cands, &counts, exact))
}

struct Search<'a> {
    /// Cheapest price per core, GiB and pod among types `i..`.
    per_core: Vec<f64>,
    per_gib: Vec<f64>,
    per_pod: Vec<f64>,
    offers: &'a [Offer],
    c: &'a MixConstraints,
    counts: Vec<u32>,
    best: Option<Vec<u32>>,
    best_cost: f64,
    explored: u64,
}

impl Search<'_> {
    /// Lower bound on what covering the rest costs with types `i..`.
    fn bound(&self, i: usize, cores: f64, gib: f64, pods: f64) -> f64 {
        let part = |need: f64, per: f64| if need <= 1e-9 { 0.0 } else { need * per };
        part(cores, self.per_core[i])
            .max(part(gib, self.per_gib[i]))
            .max(part(pods, self.per_pod[i]))
    }

    #[allow(clippy::too_many_arguments)]
    fn branch(
        &mut self,
        i: usize,
        cores: f64,
        gib: f64,
        pods: f64,
        cost: f64,
        nodes: u32,
        types: usize,
    ) {
        self.explored += 1;
        if self.explored >= SEARCH_BUDGET {
            return;
        }
        let covered = cores <= 1e-9 && gib <= 1e-9 && pods <= 1e-9;
        if covered && types >= self.c.min_types {
            if cost < self.best_cost - 1e-12 {
                self.best_cost = cost;
                self.best = Some(self.counts.clone());
            }
            return;
        }
        let left = self.offers.len() - i;
        if left == 0 || types + left < self.c.min_types {
            return;
        }
        let full = self.c.max_types > 0 && types >= self.c.max_types;
        if cost + self.bound(i, cores, gib, pods) >= self.best_cost - 1e-12 {
            return;
        }
        let o = &self.offers[i];
        let most = nodes_alone(o, cores, gib, pods)
            .max(1)
            .min(self.c.max_nodes.saturating_sub(nodes));
        for n in (0..=most).rev() {
            if n > 0 && full {
                continue;
            }
            if n > 0 && cost + n as f64 * o.usd_per_hour >= self.best_cost - 1e-12 {
                continue;
            }
            self.counts[i] = n;
            let k = n as f64;
            self.branch(
                i + 1,
                (cores - k * o.allocatable.cores).max(0.0),
                (gib - k * o.allocatable.gib).max(0.0),
                (pods - k * o.pods as f64).max(0.0),
                cost + k * o.usd_per_hour,
                nodes + n,
                types + (n > 0) as usize,
            );
            if self.explored >= SEARCH_BUDGET {
                break;
            }
        }
        self.counts[i] = 0;
    }
}
