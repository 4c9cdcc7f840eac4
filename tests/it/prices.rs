//! Live catalog refresh: EKS allocatable formulas, response parsing, the
//! merge over the shipped catalog, plans priced live, and the whole refresh
//! against the AWS emulator (EC2) plus a Pricing endpoint that serves
//! GetProducts pages in the API's documented shape (moto has no Pricing API).

use crate::fake_http::{FakeServer, Request, serve};
use crate::fixture::{built, now, run_nodecast_env};
use crate::peers::{env, runtime};
use nodecast::catalog::live::{
    Ec2Shape, LivePrices, eks_allocatable_cpu, eks_allocatable_mib, eks_max_pods, merge,
    parse_instance_types, parse_products, spot_medians,
};
use nodecast::catalog::{Catalog, PRICES_DATE};
use nodecast::plan::{PlanConfig, plan_cluster};
use nodecast::sources::aws_prices::{PriceTarget, fetch, pricing_region, products_request};
use std::collections::BTreeMap;

fn page(n: usize) -> String {
    let path = format!(
        "{}/tests/it/data/pricing_get_products_{n}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("fixture page")
}

#[test]
fn eks_formulas_give_the_shipped_allocatable_of_known_types() {
    // (vcpu, MiB, ENIs, IPv4 per ENI, arch) -> catalog's alloc cpu m, memory Mi, pods.
    let cases = [
        ((2, 8192, 3, 10, "amd64"), (1930.0, 6903.0, 29)), // m5.large
        ((8, 32768, 4, 15, "amd64"), (7910.0, 29317.0, 58)), // m6i.2xlarge
        ((2, 1024, 2, 2, "amd64"), (1930.0, 548.0, 4)),    // t3.micro
        ((64, 524288, 15, 50, "amd64"), (63770.0, 476504.0, 737)), // r6i.16xlarge
        ((1, 2048, 2, 4, "arm64"), (940.0, 1392.0, 8)),    // c6g.medium
    ];
    for ((vcpu, mib, enis, ips, arch), (cpu_m, mem_mi, pods)) in cases {
        let p = eks_max_pods(enis, ips);
        assert_eq!(p, pods, "{vcpu} vCPU pods");
        assert_eq!((eks_allocatable_cpu(vcpu) * 1000.0).round(), cpu_m);
        assert_eq!(
            eks_allocatable_mib(mib, p, arch),
            mem_mi,
            "{vcpu} vCPU {arch}"
        );
    }
}

#[test]
fn instance_types_read_the_default_network_card() {
    let xml = r#"<?xml version="1.0"?><DescribeInstanceTypesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><instanceTypeSet><item><instanceType>x9.big</instanceType><currentGeneration>true</currentGeneration><supportedUsageClasses><item>on-demand</item><item>spot</item></supportedUsageClasses><bareMetal>false</bareMetal><processorInfo><supportedArchitectures><item>x86_64</item></supportedArchitectures></processorInfo><vCpuInfo><defaultVCpus>16</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>65536</sizeInMiB></memoryInfo><networkInfo><maximumNetworkInterfaces>16</maximumNetworkInterfaces><defaultNetworkCardIndex>0</defaultNetworkCardIndex><networkCards><item><networkCardIndex>0</networkCardIndex><maximumNetworkInterfaces>8</maximumNetworkInterfaces></item><item><networkCardIndex>1</networkCardIndex><maximumNetworkInterfaces>8</maximumNetworkInterfaces></item></networkCards><ipv4AddressesPerInterface>30</ipv4AddressesPerInterface></networkInfo></item></instanceTypeSet><nextToken>abc</nextToken></DescribeInstanceTypesResponse>"#;
    let (shapes, next) = parse_instance_types(xml).expect("parse");
    assert_eq!(next.as_deref(), Some("abc"));
    assert_eq!(
        shapes,
        vec![Ec2Shape {
            name: "x9.big".into(),
            vcpu: 16,
            memory_mib: 65536,
            arch: "amd64".into(),
            max_enis: 8,
            ipv4_per_eni: 30,
            bare_metal: false,
            current_generation: true,
            usage_classes: vec!["on-demand".into(), "spot".into()],
        }]
    );
    let err = parse_instance_types(
        "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized</Message></Error></Errors></Response>",
    )
    .expect_err("error document");
    assert!(
        format!("{err:#}").contains("UnauthorizedOperation: You are not authorized"),
        "{err:#}"
    );
}

#[test]
fn products_pages_give_hourly_on_demand_prices() {
    let (p1, next) = parse_products(&page(1)).expect("page 1");
    assert_eq!(next.as_deref(), Some("Y2VpbGluZy1wYWdlLTI="));
    // A zero price and a price per quantity (not per hour) are not prices.
    assert_eq!(
        p1,
        BTreeMap::from([("m5.large".into(), 0.096), ("m6i.2xlarge".into(), 0.384)])
    );
    let (p2, next) = parse_products(&page(2)).expect("page 2");
    assert_eq!(next, None);
    assert_eq!(p2.len(), 3);
    assert_eq!(p2["r9g.xlarge"], 0.252);
    let err = parse_products(r#"{"__type":"AccessDeniedException","Message":"not authorized to perform: pricing:GetProducts"}"#)
        .expect_err("error");
    assert!(
        format!("{err:#}").contains("AccessDeniedException: not authorized"),
        "{err:#}"
    );
    // The request filters for Linux, shared tenancy, used capacity in the region.
    let req: serde_json::Value =
        serde_json::from_str(&products_request("eu-west-1", Some("t"))).expect("json");
    assert_eq!(req["ServiceCode"], "AmazonEC2");
    assert_eq!(req["NextToken"], "t");
    let filters = req["Filters"].as_array().expect("filters");
    assert!(
        filters
            .iter()
            .any(|f| f["Field"] == "regionCode" && f["Value"] == "eu-west-1")
    );
    assert!(
        filters
            .iter()
            .any(|f| f["Field"] == "capacitystatus" && f["Value"] == "Used")
    );
    assert_eq!(pricing_region("eu-west-1"), "eu-central-1");
    assert_eq!(pricing_region("ap-northeast-1"), "ap-south-1");
    assert_eq!(pricing_region("us-west-2"), "us-east-1");
}

fn shape(name: &str, vcpu: u32, mib: u64, arch: &str) -> Ec2Shape {
    Ec2Shape {
        name: name.into(),
        vcpu,
        memory_mib: mib,
        arch: arch.into(),
        max_enis: 4,
        ipv4_per_eni: 15,
        bare_metal: false,
        current_generation: true,
        usage_classes: vec!["on-demand".into(), "spot".into()],
    }
}

fn live_sample() -> LivePrices {
    LivePrices {
        region: "us-east-1".into(),
        fetched: Some(now()),
        shapes: vec![
            shape("m6i.2xlarge", 8, 32768, "amd64"),
            shape("r9g.xlarge", 4, 32768, "arm64"),
            shape("mac2.metal", 12, 32768, "arm64_mac"),
        ],
        on_demand: BTreeMap::from([
            ("m6i.2xlarge".into(), 0.40),
            ("r9g.xlarge".into(), 0.252),
            ("m5.large".into(), f64::NAN),
            ("c7i.large".into(), -1.0),
        ]),
        spot: BTreeMap::from([
            ("m6i.2xlarge".into(), 0.16),
            ("r9g.xlarge".into(), 0.10),
            // Above on-demand: not a spot price to plan with.
            ("m5.large".into(), 0.5),
        ]),
        problems: Vec::new(),
    }
}

#[test]
fn merge_adds_new_types_and_live_prices_and_keeps_advisor_bands() {
    let shipped = Catalog::shipped();
    let merged = merge(&shipped, &live_sample());
    let m6i = merged.get("m6i.2xlarge").expect("m6i");
    assert_eq!(
        nodecast::catalog::on_demand_price(m6i, "us-east-1").ok(),
        Some(0.40)
    );
    // Other regions keep the shipped price and multiplier.
    let base = shipped.get("m6i.2xlarge").expect("shipped");
    assert_eq!(
        nodecast::catalog::on_demand_price(m6i, "eu-west-1").ok(),
        nodecast::catalog::on_demand_price(base, "eu-west-1").ok()
    );
    let offer = &m6i.spot["us-east-1"];
    assert!((offer.savings_pct - 60.0).abs() < 1e-9, "{offer:?}");
    assert_eq!(offer.interruption, base.spot["us-east-1"].interruption);
    // A new type: shape and allocatable from EKS's formulas, band unknown.
    let r9g = merged.get("r9g.xlarge").expect("new type");
    assert_eq!(
        (r9g.family.as_str(), r9g.category.as_str(), r9g.generation),
        ("r9g", "r", 9)
    );
    assert_eq!(r9g.max_pods, 58);
    assert_eq!(r9g.allocatable.cores, 3.92);
    assert_eq!(r9g.spot["us-east-1"].interruption, "unknown");
    // NaN, negative and above-on-demand prices never land; Mac hosts are not EKS nodes.
    let m5 = merged.get("m5.large").expect("m5");
    assert_eq!(m5, shipped.get("m5.large").expect("m5"));
    assert!(merged.get("c7i.large").expect("c7i").regional_od.is_empty());
    assert!(merged.get("mac2.metal").is_none());
    let stamp = &merged.live["us-east-1"];
    assert_eq!((stamp.added, stamp.on_demand, stamp.spot), (1, 2, 2));
}

#[test]
fn plans_price_with_live_prices_and_show_a_failed_refresh() {
    let b = built();
    let (id, view) = &b.fleet.clusters[0];
    let fc = &b
        .forecasts
        .iter()
        .find(|(c, _)| c == id)
        .expect("forecasts")
        .1;
    let cfg = PlanConfig::default();
    let today = now().date_naive();
    let region = view.region.clone();
    let shipped = Catalog::shipped();
    let before = plan_cluster(view, fc, &cfg, &shipped, today).expect("plan");
    assert!(before.prices.contains(PRICES_DATE), "{}", before.prices);
    // Every type of the cluster at twice its shipped price, live.
    let mut live = LivePrices {
        region: region.clone(),
        fetched: Some(now()),
        ..Default::default()
    };
    for g in &before.groups {
        let t = shipped.get(&g.instance_type).expect("type");
        let p = nodecast::catalog::on_demand_price(t, &region).expect("price");
        live.on_demand.insert(g.instance_type.clone(), 2.0 * p);
    }
    let merged = merge(&shipped, &live);
    let after = plan_cluster(view, fc, &cfg, &merged, today).expect("plan");
    assert!(after.prices.starts_with("live "), "{}", after.prices);
    assert!(
        !after.warnings.iter().any(|w| w.contains(PRICES_DATE)),
        "live prices are not stale: {:?}",
        after.warnings
    );
    for (a, b) in after.groups.iter().zip(&before.groups) {
        let (pa, pb) = (
            a.usd_per_node_hour.expect("live"),
            b.usd_per_node_hour.expect("shipped"),
        );
        assert!(
            (pa - 2.0 * pb).abs() < 1e-9,
            "{}: {pa} vs {pb}",
            a.node_group
        );
    }
    assert!((after.usd_per_hour_now - 2.0 * before.usd_per_hour_now).abs() < 1e-6);
    // A later refresh fails: the live prices stay, the reason shows.
    let failed = merged.with_refresh_error(&region, now(), "no AWS credentials");
    let p = plan_cluster(view, fc, &cfg, &failed, today).expect("plan");
    assert_eq!(p.usd_per_hour_now, after.usd_per_hour_now);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.starts_with("price refresh: failed at") && w.contains("no AWS credentials")),
        "{:?}",
        p.warnings
    );
}

/// A Pricing endpoint serving the two fixture pages (the second when the
/// request carries the first's NextToken), or AccessDenied when `deny`.
pub fn pricing_server(deny: bool) -> FakeServer {
    serve(move |_, req: &Request| {
        if deny {
            return (
                "400 Bad Request",
                "application/x-amz-json-1.1",
                r#"{"__type":"AccessDeniedException","Message":"User is not authorized to perform: pricing:GetProducts"}"#.into(),
            );
        }
        let n = if req.body.contains("Y2VpbGluZy1wYWdlLTI=") {
            2
        } else {
            1
        };
        ("200 OK", "application/x-amz-json-1.1", page(n))
    })
}

/// us-east-1 on the emulator's EC2 and `pricing`'s GetProducts.
fn emulator_target(pricing: &FakeServer) -> PriceTarget {
    PriceTarget {
        region: "us-east-1".into(),
        profile: None,
        ec2_endpoint: Some(env("NODECAST_TEST_AWS_ENDPOINT")),
        pricing_endpoint: Some(pricing.url.clone()),
    }
}

#[test]
#[ignore = "needs the AWS emulator (scripts/test.sh starts moto server)"]
fn refresh_against_the_emulator_matches_the_shipped_catalog() {
    let pricing = pricing_server(false);
    let target = emulator_target(&pricing);
    let live = runtime()
        .block_on(fetch(&target, chrono::Utc::now()))
        .expect("refresh");
    assert!(live.problems.is_empty(), "{:?}", live.problems);
    assert!(live.shapes.len() > 1000, "{} types", live.shapes.len());
    // EKS's formulas on DescribeInstanceTypes reproduce the shipped
    // allocatable (Karpenter's reference) for nearly every type; the few that
    // differ spread pod ENIs over several network cards.
    let shipped = Catalog::shipped();
    let (mut same, mut known, mut differ) = (0, 0, Vec::new());
    for s in &live.shapes {
        let Some(t) = shipped.get(&s.name) else {
            continue;
        };
        known += 1;
        let c = s.instance_type();
        if c.max_pods == t.max_pods
            && (c.allocatable.cores - t.allocatable.cores).abs() < 1e-9
            && (c.allocatable.gib - t.allocatable.gib).abs() < 0.5 / 1024.0
        {
            same += 1;
        } else {
            differ.push(s.name.clone());
        }
    }
    // The README's figure: run with `-- --nocapture`.
    eprintln!("allocatable as shipped for {same} of {known} types; differ: {differ:?}");
    assert!(known > 1300, "{known} shipped types known to the emulator");
    assert!(
        same as f64 >= 0.995 * known as f64,
        "{same}/{known}; differ: {differ:?}"
    );
    // Pricing: both pages, SigV4 for the pricing service, the filters.
    assert_eq!(live.on_demand.len(), 5);
    assert_eq!(live.on_demand["m7g.large"], 0.09);
    let reqs = pricing.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        let auth = r.header("authorization").expect("signed");
        assert!(
            auth.starts_with("aws4-hmac-sha256 credential=testing/")
                && auth.contains("/us-east-1/pricing/aws4_request"),
            "{auth}"
        );
        assert_eq!(
            r.header("x-amz-target"),
            Some("awspricelistservice.getproducts")
        );
        assert!(
            r.body
                .contains(r#""Field":"regionCode","Type":"TERM_MATCH","Value":"us-east-1""#),
            "{}",
            r.body
        );
    }
    assert!(reqs[1].body.contains("Y2VpbGluZy1wYWdlLTI="));
    // Spot: the emulator's constant price in every zone; the median of them.
    assert_eq!(live.spot["m6i.2xlarge"], 0.00001);
    let merged = merge(&shipped, &live);
    let m7g = merged.get("m7g.large").expect("m7g");
    assert_eq!(
        nodecast::catalog::on_demand_price(m7g, "us-east-1").ok(),
        Some(0.09)
    );
    let savings = m7g.spot["us-east-1"].savings_pct;
    assert!(
        (savings - 100.0 * (1.0 - 0.00001 / 0.09)).abs() < 1e-9,
        "{savings}"
    );
    assert_eq!(
        spot_medians(&[
            ("a".into(), "z1".into(), 1.0),
            ("a".into(), "z2".into(), 3.0)
        ])["a"],
        2.0
    );
}

fn aws_env(pricing: &FakeServer) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", env("NODECAST_TEST_AWS_ENDPOINT")),
        ("AWS_ENDPOINT_URL_PRICING", pricing.url.clone()),
        ("XDG_CONFIG_HOME", "/nonexistent".into()),
    ]
}

#[test]
#[ignore = "needs the AWS emulator (scripts/test.sh starts moto server)"]
fn prices_command_shows_live_prices_and_reports_failures() {
    let pricing = pricing_server(false);
    let vars = aws_env(&pricing);
    let set: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run_nodecast_env(
        &[
            "prices",
            "--region",
            "us-east-1",
            "--types",
            "m7g.large,r9g.xlarge",
            "--json",
        ],
        &set,
        &[],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let r = &v[0];
    assert_eq!(r["region"], "us-east-1");
    assert_eq!(r["on_demand"], 5);
    assert!(r["added"].as_u64().expect("added") > 0);
    let m7g = &r["prices"]["m7g.large"];
    assert_eq!(m7g["on_demand"], 0.09);
    assert_eq!(m7g["on_demand_shipped"], 0.0816);
    assert_eq!(m7g["new"], false);
    let r9g = &r["prices"]["r9g.xlarge"];
    assert_eq!(r9g["new"], true);
    // The emulator's r9g.xlarge: 4 vCPU, 32 GiB, 4 ENIs x 30 IPv4 (arm64).
    assert_eq!(r9g["max_pods"], 4 * 29 + 2);
    assert_eq!(r9g["alloc_cores"], 3.92);
    let mib = (32768.0f64 * 0.925 - (255.0 + 11.0 * 118.0) - 100.0 - 59.0).floor();
    assert_eq!(r9g["alloc_gib"], mib / 1024.0);
    assert_eq!(r9g["on_demand"], 0.252);
    // The table without --types lists what changed against the shipped catalog.
    let out = run_nodecast_env(&["prices", "--region", "us-east-1"], &set, &[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("5 on-demand prices"), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("m7g.large ")),
        "{table}"
    );
    assert!(
        table.lines().any(|l| l.starts_with("r9g.xlarge*")),
        "{table}"
    );
    assert!(
        !table.lines().any(|l| l.starts_with("m6i.2xlarge")),
        "unchanged: {table}"
    );
    // Pricing denied: EC2's parts still apply, the denial is named, exit 1.
    let denied = pricing_server(true);
    let vars = aws_env(&denied);
    let set: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run_nodecast_env(&["prices", "--region", "us-east-1"], &set, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("on-demand prices") && stderr.contains("AccessDeniedException"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 on-demand prices"));
    // No credentials at all: a clear error, exit 2.
    let out = run_nodecast_env(
        &["prices", "--region", "us-east-1"],
        &[
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("XDG_CONFIG_HOME", "/nonexistent"),
        ],
        &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no AWS credentials"), "{stderr}");
}

#[test]
#[ignore = "needs the AWS emulator (scripts/test.sh starts moto server)"]
fn the_refresh_task_publishes_a_live_catalog() {
    use std::sync::Arc;
    let pricing = pricing_server(false);
    let target = emulator_target(&pricing);
    let bad = PriceTarget {
        region: "eu-west-1".into(),
        pricing_endpoint: Some("http://127.0.0.1:9/".into()),
        ec2_endpoint: Some("http://127.0.0.1:9/".into()),
        profile: None,
    };
    runtime().block_on(async {
        let (tx, mut rx) = tokio::sync::watch::channel(Arc::new(Catalog::shipped()));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(nodecast::sources::aws_prices::run_refresh(
            vec![target, bad],
            std::time::Duration::from_secs(3600),
            tx,
            stop_rx,
        ));
        let catalog = tokio::time::timeout(std::time::Duration::from_secs(120), async {
            loop {
                rx.changed().await.expect("sender alive");
                let c = rx.borrow_and_update().clone();
                if c.live.contains_key("eu-west-1") {
                    return c;
                }
            }
        })
        .await
        .expect("both regions refreshed");
        assert!(catalog.prices_note("us-east-1").starts_with("live "));
        assert_eq!(catalog.live["us-east-1"].on_demand, 5);
        // Nothing answers for eu-west-1: shipped prices stay, the reason is kept.
        assert!(catalog.prices_note("eu-west-1").starts_with("shipped "));
        let problems = &catalog.live["eu-west-1"].problems;
        assert!(
            problems.len() == 1 && problems[0].contains("127.0.0.1:9"),
            "{problems:?}"
        );
        stop_tx.send(true).expect("stop");
        task.await.expect("task ends");
    });
}
