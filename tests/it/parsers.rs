//! Every parser of outside input, on arbitrary input (proptest): it never
//! panics, and what it refuses comes back as an error that names the file,
//! line, field or call. Inputs are random text and valid documents cut or
//! garbled at random places.

use chrono::{DateTime, Utc};
use nodecast::catalog::live::{parse_instance_types, parse_products, parse_spot_prices};
use nodecast::catalog::{parse_cpu, parse_mem_gib};
use nodecast::series_csv::parse_series;
use nodecast::sources::cloudwatch::{Periods, samples_from};
use nodecast::sources::kube_objects::resources;
use nodecast::sources::prometheus::parse_matrix;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

const INSTANCE_TYPES: &str = r#"<?xml version="1.0"?><DescribeInstanceTypesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><instanceTypeSet><item><instanceType>m9.big</instanceType><currentGeneration>true</currentGeneration><supportedUsageClasses><item>on-demand</item></supportedUsageClasses><bareMetal>false</bareMetal><processorInfo><supportedArchitectures><item>x86_64</item></supportedArchitectures></processorInfo><vCpuInfo><defaultVCpus>16</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>65536</sizeInMiB></memoryInfo><networkInfo><maximumNetworkInterfaces>8</maximumNetworkInterfaces><ipv4AddressesPerInterface>30</ipv4AddressesPerInterface></networkInfo></item></instanceTypeSet><nextToken>abc</nextToken></DescribeInstanceTypesResponse>"#;

const SPOT_PRICES: &str = r#"<?xml version="1.0"?><DescribeSpotPriceHistoryResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><spotPriceHistorySet><item><instanceType>m6i.large</instanceType><productDescription>Linux/UNIX</productDescription><spotPrice>0.041200</spotPrice><timestamp>2026-11-27T12:00:00.000Z</timestamp><availabilityZone>us-east-1a</availabilityZone></item></spotPriceHistorySet><nextToken/></DescribeSpotPriceHistoryResponse>"#;

const PROMETHEUS: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"3"],[1700003600,"4.5"]]}]}}"#;

const PRODUCTS: &str = include_str!("data/pricing_get_products_1.json");

const CONFIG: &str = r#"theme = "dark"
[demo]
speed = 60
[forecast]
holidays = ["2026-12-08"]
headroom = 0.1
[plan]
quantile = 0.8
lead_minutes = 5
[prices]
refresh_hours = 12
[[event]]
name = "black-friday"
start = 2026-11-27T00:00:00Z
end = 2026-11-28T00:00:00Z
uplift = 0.8
[[cluster]]
name = "prod"
region = "us-east-1"
[cluster.prometheus]
url = "http://prometheus:9090"
"#;

/// `doc` garbled: cut at `cut`, with `junk` put in at `at` (both taken
/// modulo the length, on character boundaries).
fn garble(doc: &str, cut: usize, at: usize, junk: &str) -> String {
    let chars: Vec<char> = doc.chars().collect();
    let cut = cut % (chars.len() + 1);
    let at = at % (cut + 1);
    let mut out: String = chars[..at].iter().collect();
    out.push_str(junk);
    out.extend(&chars[at..cut]);
    out
}

fn garbled(doc: &'static str) -> impl Strategy<Value = String> {
    (any::<usize>(), any::<usize>(), ".{0,12}")
        .prop_map(move |(cut, at, junk)| garble(doc, cut, at, &junk))
}

/// Random text and garbled versions of `doc`.
fn input(doc: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        garbled(doc),
        garbled(doc).prop_map(|s| s.repeat(2))
    ]
}

/// A `timestamp,value` line, well-formed or not.
fn series_line() -> impl Strategy<Value = String> {
    let ts = prop_oneof![
        Just("2026-11-27T12:00:00Z".to_string()),
        Just("2026-11-27 13:30:00".to_string()),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?Z?",
        ".{0,20}",
    ];
    let value = prop_oneof![
        any::<f64>().prop_map(|v| v.to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        "[-+0-9.eE]{0,10}",
        ".{0,8}",
    ];
    (ts, value, prop::bool::weighted(0.9)).prop_map(|(t, v, comma)| {
        if comma {
            format!("{t},{v}")
        } else {
            format!("{t} {v}")
        }
    })
}

fn quantity() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-+]?[0-9]{0,6}(\\.[0-9]{0,4})?([eE][-+]?[0-9]{1,3})?(n|u|m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?",
        Just("NaN".to_string()),
        Just("infMi".to_string()),
        ".{0,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn series_csv_reads_or_names_the_file_and_line(
        lines in prop::collection::vec(series_line(), 0..12),
        header in any::<bool>(),
    ) {
        let mut text = if header { "timestamp,value\n".to_string() } else { String::new() };
        text.push_str(&lines.join("\n"));
        match parse_series(&text, "load.csv") {
            Ok(samples) => {
                prop_assert!(!samples.is_empty());
                prop_assert!(samples.iter().all(|s| s.value.is_finite()));
            }
            Err(e) => {
                let msg = format!("{e:#}");
                prop_assert!(msg.starts_with("load.csv"), "{msg}");
                prop_assert!(msg.contains(" line ") || msg.contains("no data rows"), "{msg}");
            }
        }
    }

    #[test]
    fn series_csv_survives_any_text(text in any::<String>()) {
        if let Err(e) = parse_series(&text, "any.csv") {
            let msg = format!("{e:#}");
            prop_assert!(msg.starts_with("any.csv"), "{msg}");
        }
    }

    #[test]
    fn config_toml_reads_or_names_the_file(text in input(CONFIG)) {
        let path = Path::new("/etc/nodecast/config.toml");
        if let Err(e) = nodecast::config::parse(&text, path) {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("/etc/nodecast/config.toml: "), "{msg}");
            prop_assert!(msg.len() > "/etc/nodecast/config.toml: ".len(), "{msg}");
        }
    }

    #[test]
    fn config_values_out_of_range_name_their_field_and_line(
        key in prop::sample::select(vec![
            ("demo", "speed"), ("forecast", "headroom"), ("plan", "quantile"),
            ("plan", "lead_minutes"), ("plan", "max_types"), ("prices", "refresh_hours"),
        ]),
        value in prop_oneof![any::<f64>().prop_map(|v| format!("{v:?}")), any::<i64>().prop_map(|v| v.to_string()), "\"[a-z]{0,5}\""],
        blank_lines in 0usize..4,
    ) {
        let text = format!("{}[{}]\n{} = {}\n", "\n".repeat(blank_lines), key.0, key.1, value);
        if let Err(e) = nodecast::config::parse(&text, Path::new("c.toml")) {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("c.toml: "), "{msg}");
            if let nodecast::config::ConfigError::At { line, field, .. } = &e {
                prop_assert_eq!(*line, blank_lines + 2, "{}", msg);
                prop_assert!(field.as_deref().is_none_or(|f| f.ends_with(key.1)), "{}", msg);
            }
        }
    }

    #[test]
    fn kubernetes_quantities_are_finite_and_non_negative_or_refused(q in quantity()) {
        match parse_cpu(&q) {
            Ok(v) => prop_assert!(v.is_finite() && v >= 0.0, "{q:?} -> {v}"),
            Err(e) => prop_assert!(e.to_string().contains(&format!("{:?}", q.trim())), "{e}"),
        }
        match parse_mem_gib(&q) {
            Ok(v) => prop_assert!(v.is_finite() && v >= 0.0, "{q:?} -> {v}"),
            Err(e) => prop_assert!(e.to_string().contains(&format!("{:?}", q.trim())), "{e}"),
        }
        let list: BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity> =
            [("cpu".to_string(), k8s_openapi::apimachinery::pkg::api::resource::Quantity(q.clone()))].into();
        if let Err(e) = resources(Some(&list)) {
            prop_assert!(e.to_string().starts_with("cpu: bad CPU quantity"), "{e}");
        }
    }

    #[test]
    fn cloudwatch_periods_give_only_plausible_samples(
        values in prop::collection::btree_map(
            prop::sample::select(vec!["nodes", "pods", "cpu_limit", "mem_limit", "cpu_reserved", "mem_reserved", "cpu_util", "mem_util", "other"]),
            prop_oneof![any::<f64>(), -1.0e3..1.0e6f64, 0.0..100.0f64],
            0..9,
        ),
        secs in 0i64..4_000_000_000,
    ) {
        let ts = DateTime::<Utc>::from_timestamp(secs, 0).expect("time");
        let p = Periods(values.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        for (_, s) in samples_from(ts, &p) {
            prop_assert!(s.value.is_finite() && s.value >= 0.0, "{s:?}");
            prop_assert_eq!(s.ts, ts);
        }
    }

    #[test]
    fn prometheus_answers_read_or_say_what_is_wrong(text in input(PROMETHEUS)) {
        // The source reads the body as JSON first; only JSON reaches parse_matrix.
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            match parse_matrix(&v) {
                Ok(points) => prop_assert!(points.iter().all(|(_, v)| v.is_finite()), "{points:?}"),
                Err(e) => prop_assert!(!e.to_string().trim().is_empty()),
            }
        }
    }

    #[test]
    fn ec2_and_pricing_answers_read_or_name_the_call(
        types in input(INSTANCE_TYPES),
        spot in input(SPOT_PRICES),
        products in input(PRODUCTS),
    ) {
        if let Err(e) = parse_instance_types(&types) {
            prop_assert!(format!("{e:#}").starts_with("DescribeInstanceTypes"), "{e:#}");
        }
        match parse_spot_prices(&spot) {
            Ok((quotes, _)) => prop_assert!(quotes.iter().all(|q| q.2.is_finite() && q.2 > 0.0), "{quotes:?}"),
            Err(e) => prop_assert!(format!("{e:#}").starts_with("DescribeSpotPriceHistory"), "{e:#}"),
        }
        match parse_products(&products) {
            Ok((prices, _)) => prop_assert!(prices.values().all(|p| p.is_finite() && *p > 0.0)),
            Err(e) => prop_assert!(format!("{e:#}").starts_with("GetProducts"), "{e:#}"),
        }
    }
}

#[test]
fn the_unbroken_documents_read() {
    let (shapes, next) = parse_instance_types(INSTANCE_TYPES).expect("types");
    assert_eq!((shapes.len(), next.as_deref()), (1, Some("abc")));
    let (quotes, _) = parse_spot_prices(SPOT_PRICES).expect("spot");
    assert_eq!(
        quotes,
        vec![("m6i.large".into(), "us-east-1a".into(), 0.0412)]
    );
    let points = parse_matrix(&serde_json::from_str(PROMETHEUS).expect("json")).expect("matrix");
    assert_eq!(
        points.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![3.0, 4.5]
    );
    nodecast::config::parse(CONFIG, Path::new("c.toml")).expect("config");
}
