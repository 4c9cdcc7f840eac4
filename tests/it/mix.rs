//! The instance-mix optimizer against brute force, its constraints and prices.

use nodecast::catalog;
use nodecast::domain::Resources;
use nodecast::plan::mix::{
    MixConstraints, Offer, Requirement, allowed, cheapest, greedy_per_vcpu, nodes_alone,
};

fn offer(name: &str, cores: f64, gib: f64, pods: u32, usd: f64) -> Offer {
    Offer {
        instance_type: name.into(),
        allocatable: Resources::new(cores, gib),
        pods,
        usd_per_hour: usd,
        generation: 6,
    }
}

fn req(cores: f64, gib: f64, pods: f64) -> Requirement {
    Requirement {
        cores,
        gib,
        pods,
        largest_pod: Resources::new(0.1, 0.1),
    }
}

fn free(max_nodes: u32, min_types: usize) -> MixConstraints {
    MixConstraints {
        max_nodes,
        min_types,
        max_types: 0,
        ..Default::default()
    }
}

/// Every count vector with each count up to what that type alone needs.
fn brute_force(offers: &[Offer], r: &Requirement, c: &MixConstraints) -> Option<f64> {
    let limits: Vec<u32> = offers
        .iter()
        .map(|o| nodes_alone(o, r.cores, r.gib, r.pods).min(c.max_nodes))
        .collect();
    let mut counts = vec![0u32; offers.len()];
    let mut best: Option<f64> = None;
    loop {
        let total = |f: &dyn Fn(&Offer) -> f64| -> f64 {
            offers
                .iter()
                .zip(&counts)
                .map(|(o, n)| f(o) * *n as f64)
                .sum()
        };
        let nodes: u32 = counts.iter().sum();
        let types = counts.iter().filter(|n| **n > 0).count();
        if total(&|o| o.allocatable.cores) + 1e-9 >= r.cores
            && total(&|o| o.allocatable.gib) + 1e-9 >= r.gib
            && total(&|o| o.pods as f64) + 1e-9 >= r.pods
            && nodes <= c.max_nodes
            && nodes > 0
            && types >= c.min_types
            && (c.max_types == 0 || types <= c.max_types)
        {
            let cost = total(&|o| o.usd_per_hour);
            if best.is_none_or(|b| cost < b - 1e-12) {
                best = Some(cost);
            }
        }
        // Next count vector.
        let mut i = 0;
        loop {
            if i == counts.len() {
                return best;
            }
            if counts[i] < limits[i] {
                counts[i] += 1;
                break;
            }
            counts[i] = 0;
            i += 1;
        }
    }
}

/// A small deterministic generator (no test depends on a random seed's luck).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn matches_brute_force_on_small_cases() {
    let mut rng = Lcg(7);
    for case in 0..150 {
        let k = 2 + (case % 4);
        let offers: Vec<Offer> = (0..k)
            .map(|i| {
                let cores = [2.0, 4.0, 8.0, 16.0][(rng.next() * 4.0) as usize];
                let gib =
                    cores * [2.0, 4.0, 8.0][(rng.next() * 3.0) as usize] * (0.8 + 0.2 * rng.next());
                let usd = cores * (0.02 + 0.04 * rng.next()) + gib * 0.004;
                offer(
                    &format!("t{i}"),
                    cores,
                    gib,
                    (10.0 + 50.0 * rng.next()) as u32,
                    usd,
                )
            })
            .collect();
        let r = req(
            1.0 + 40.0 * rng.next(),
            1.0 + 150.0 * rng.next(),
            80.0 * rng.next(),
        );
        let c = MixConstraints {
            max_types: if case % 5 == 0 { 1 } else { 0 },
            ..free(30, 1 + (case % 3 == 0) as usize)
        };
        let want = brute_force(&offers, &r, &c);
        let got = cheapest(&offers, &r, &c);
        match (want, &got) {
            (None, None) => {}
            (Some(w), Some(m)) => {
                assert!(m.exact, "case {case}");
                assert!(m.covers(&r), "case {case}: {m:?} does not cover {r:?}");
                assert!(m.parts.len() >= c.min_types, "case {case}");
                assert!(
                    c.max_types == 0 || m.parts.len() <= c.max_types,
                    "case {case}"
                );
                assert!(
                    (m.usd_per_hour - w).abs() < 1e-9,
                    "case {case}: {} vs brute force {w}; {m:?}",
                    m.usd_per_hour
                );
            }
            _ => panic!("case {case}: brute force {want:?}, optimizer {got:?}"),
        }
    }
}

#[test]
fn beats_or_ties_greedy_and_mixes_where_that_is_cheaper() {
    // CPU-heavy demand: the cheap-per-vCPU type is memory-poor, so greedy
    // over-buys it for memory; a pair covers both for less.
    let offers = vec![
        offer("c.2xl", 8.0, 14.0, 58, 0.34),
        offer("r.2xl", 8.0, 62.0, 58, 0.50),
    ];
    let r = req(64.0, 200.0, 20.0);
    let g = greedy_per_vcpu(&offers, &r, &free(100, 1)).expect("greedy");
    assert_eq!(g.parts[0].0.instance_type, "c.2xl");
    assert_eq!(g.nodes(), 15); // ceil(200 / 14)
    let best = cheapest(&offers, &r, &free(100, 1)).expect("mix");
    assert!(best.usd_per_hour < g.usd_per_hour);
    assert_eq!(best.parts.len(), 2, "{best:?}");
    assert!(best.covers(&r));
}

#[test]
fn never_picks_a_type_the_largest_pod_does_not_fit() {
    let offers = vec![
        offer("small", 1.9, 3.0, 29, 0.05),
        offer("big", 7.9, 14.0, 58, 0.40),
    ];
    let mut r = req(4.0, 6.0, 4.0);
    assert_eq!(
        cheapest(&offers, &r, &free(50, 1)).expect("mix").parts[0]
            .0
            .instance_type,
        "small"
    );
    r.largest_pod = Resources::new(3.0, 2.0);
    let m = cheapest(&offers, &r, &free(50, 1)).expect("mix");
    assert!(
        m.parts.iter().all(|(o, _)| o.instance_type == "big"),
        "{m:?}"
    );
    r.largest_pod = Resources::new(12.0, 2.0);
    assert!(cheapest(&offers, &r, &free(50, 1)).is_none());
}

#[test]
fn bad_prices_never_enter_a_mix() {
    let t = catalog::lookup("m6i.2xlarge").expect("type");
    for p in [f64::NAN, -0.1, 0.0, f64::INFINITY] {
        assert!(Offer::new(t, Some(p)).is_none(), "{p}");
    }
    assert!(Offer::new(t, None).is_none());
    assert_eq!(catalog::usable_price("NaN"), None);
    assert_eq!(catalog::usable_price("-1"), None);
    assert_eq!(catalog::usable_price(""), None);
    assert_eq!(catalog::usable_price("0.384"), Some(0.384));
    // A bad row in a catalog file keeps the type, without a price.
    let text = "instance_type,vcpu,memory_mib,alloc_cpu,alloc_memory,alloc_pods,od_usd_per_hour_us_east_1\n\
                x1.big,8,32768,7910m,27000Mi,58,NaN\n";
    let c = catalog::parse_catalog(text, "test.csv").expect("parse");
    assert_eq!(c["x1.big"].od_usd_per_hour, None);
    let err =
        catalog::parse_catalog(&text.replace("7910m", "lots"), "test.csv").expect_err("bad cpu");
    assert!(
        format!("{err:#}").contains("test.csv line 2, column alloc_cpu"),
        "{err:#}"
    );
}

#[test]
fn constraints_limit_types_nodes_and_diversity() {
    let m6i = catalog::lookup("m6i.2xlarge").expect("m6i");
    let m7g = catalog::lookup("m7g.2xlarge").expect("m7g");
    let c = MixConstraints {
        architectures: vec!["arm64".into()],
        ..free(10, 1)
    };
    assert!(!allowed(m6i, &c) && allowed(m7g, &c));
    let c = MixConstraints {
        families: vec!["m6i".into()],
        min_generation: 6,
        ..free(10, 1)
    };
    assert!(allowed(m6i, &c) && !allowed(m7g, &c));
    assert!(!allowed(catalog::lookup("m5.2xlarge").expect("m5"), &c));
    let offers = vec![
        offer("a", 4.0, 16.0, 58, 0.20),
        offer("b", 4.0, 16.0, 58, 0.21),
        offer("c", 8.0, 32.0, 58, 0.43),
    ];
    let r = req(16.0, 64.0, 10.0);
    assert_eq!(
        cheapest(&offers, &r, &free(10, 1))
            .expect("mix")
            .parts
            .len(),
        1
    );
    let diverse = cheapest(&offers, &r, &free(10, 3)).expect("mix");
    assert_eq!(diverse.parts.len(), 3, "{diverse:?}");
    assert!(diverse.covers(&r));
    assert_eq!(cheapest(&offers, &r, &free(2, 1)).expect("mix").nodes(), 2);
    assert!(
        cheapest(&offers, &r, &free(1, 1)).is_none(),
        "no single node covers 16 cores"
    );
}
