//! `nodecast simulate` as a user runs it: reactive and static peak checked
//! against a computation from the CSV itself, predictive against its
//! guarantees, prices from the catalog, errors named.

use crate::fixture::{data_file as data, run_nodecast as nodecast};
use std::collections::BTreeMap;

/// Hourly means of a `timestamp,value` file whose hours are all present.
fn hourly_means(path: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(path).expect("read");
    let mut by: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let (ts, v) = line.split_once(',').expect("row");
        let t = chrono::DateTime::parse_from_rfc3339(ts)
            .expect("ts")
            .timestamp();
        let e = by.entry(t.div_euclid(3600)).or_insert((0.0, 0));
        e.0 += v.parse::<f64>().expect("value");
        e.1 += 1;
    }
    let first = *by.keys().next().expect("rows");
    let last = *by.keys().last().expect("rows");
    assert_eq!(by.len() as i64, last - first + 1, "every hour present");
    by.values().map(|(s, n)| s / *n as f64).collect()
}

/// Nodes needed per hour: `max(1, ceil(peak * y / max y))`.
fn needs(y: &[f64], peak: f64) -> Vec<u64> {
    let top = y.iter().copied().fold(0.0, f64::max);
    y.iter()
        .map(|v| ((peak * v / top).ceil() as u64).max(1))
        .collect()
}

/// `nodecast simulate` on `file` as one m6i.2xlarge group of 40 nodes at
/// peak, with `extra` arguments.
fn simulate(file: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "simulate",
        "--input",
        file,
        "--instance-type",
        "m6i.2xlarge",
        "--peak-nodes",
        "40",
    ];
    args.extend_from_slice(extra);
    nodecast(&args)
}

#[test]
fn simulate_json_matches_a_hand_computation() {
    let file = data("alibaba-2018-cpu.csv");
    // A step larger than any change, so that predictive may follow any
    // jump in the hour it sees it (the test below keeps the default step).
    let out = simulate(&file, &["--json", "--max-step", "1000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["series"], "alibaba-2018-cpu.csv");
    assert_eq!(v["limits"]["max_step"], 1000);
    // By hand: hourly means, need = max(1, ceil(40 y / max y)), window from
    // o_min = max(min(168, n/2), n - 720, ceil(0.6 n)).
    let y = hourly_means(&file);
    let n = y.len();
    assert_eq!(v["hours"], n);
    let o_min = (168.min(n / 2))
        .max(n.saturating_sub(720))
        .max((0.6 * n as f64).ceil() as usize);
    let need = needs(&y, 40.0);
    let price = 0.384; // m6i.2xlarge, us-east-1, from the shipped catalog
    let check = |policy: &str, cap: &dyn Fn(usize) -> u64| {
        let p = &v["policies"][policy];
        let node_hours: u64 = (o_min..n).map(cap).sum();
        let short: u64 = (o_min..n).map(|t| need[t].saturating_sub(cap(t))).sum();
        let short_h = (o_min..n).filter(|t| need[*t] > cap(*t)).count() as u64;
        assert_eq!(p["node_hours"], node_hours, "{policy}");
        assert_eq!(p["shortage_node_hours"], short, "{policy}");
        assert_eq!(p["shortage_hours"], short_h, "{policy}");
        // A resize: an hour whose size differs from the hour before; a
        // scale-in undone: the size before it back within 6 hours.
        let resizes = (o_min + 1..n).filter(|t| cap(*t) != cap(t - 1)).count() as u64;
        let undone = (o_min + 1..n)
            .filter(|t| cap(*t) < cap(t - 1) && (t + 1..n.min(t + 7)).any(|u| cap(u) >= cap(t - 1)))
            .count() as u64;
        assert_eq!(p["resizes"], resizes, "{policy}");
        assert_eq!(p["scale_ins_undone"], undone, "{policy}");
        let cost = p["cost_usd"].as_f64().expect("cost");
        assert!(
            (cost - node_hours as f64 * price).abs() < 0.01,
            "{policy} {cost}"
        );
    };
    check("reactive", &|t| need[t - 1]);
    // The demand moves, so reactive sizing resizes and undoes scale-ins.
    assert!(v["policies"]["reactive"]["scale_ins_undone"].as_u64() > Some(0));
    let peak = *need[..o_min].iter().max().expect("hours") as f64;
    check("static_peak", &|_| (1.1 * peak - 1e-9).ceil() as u64);
    // Predictive never sizes under the last hour's need: no more shortage than
    // reactive, at no lower cost; it is priced like the others.
    let p = &v["policies"]["predictive"];
    let r = &v["policies"]["reactive"];
    let nh = p["node_hours"].as_u64().expect("nh");
    assert!(p["shortage_node_hours"].as_u64() <= r["shortage_node_hours"].as_u64());
    assert!(nh >= r["node_hours"].as_u64().expect("nh"));
    assert!((p["cost_usd"].as_f64().expect("cost") - nh as f64 * price).abs() < 0.01);
    assert_eq!(v["rules"]["quantile"], 0.8);
}

#[test]
fn simulate_prices_the_region_and_names_bad_input() {
    let file = data("alibaba-2018-mem.csv");
    let args = |extra: &[&'static str]| -> Vec<String> {
        let mut a: Vec<String> = ["simulate", "--input", &file, "--peak-nodes", "10"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let run = |a: Vec<String>| nodecast(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let out = run(args(&[
        "--instance-type",
        "m6i.2xlarge",
        "--region",
        "eu-west-1",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8_lossy(&out.stdout);
    // 0.384 x 1.115 (eu-west-1 against us-east-1).
    assert!(t.contains("eu-west-1 at $0.4282/node-hour"), "{t}");
    for p in ["predictive", "reactive", "static_peak"] {
        assert!(t.contains(p), "{t}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("prices from 2026-07-20"));
    let out = run(args(&["--instance-type", "m9z.huge"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--instance-type: \"m9z.huge\" is not in the catalog")
    );
    let out = run(args(&[
        "--instance-type",
        "m6i.2xlarge",
        "--region",
        "mars-1",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no price multiplier for region \"mars-1\"")
    );
    let dir = tempfile::tempdir().expect("dir");
    let short = dir.path().join("short.csv");
    let rows: String = (0..50)
        .map(|h| format!("2020-01-{:02}T{:02}:00:00Z,{h}\n", 1 + h / 24, h % 24))
        .collect();
    std::fs::write(&short, format!("timestamp,value\n{rows}")).expect("w");
    let out = nodecast(&[
        "simulate",
        "--input",
        short.to_str().expect("utf8"),
        "--instance-type",
        "m6i.2xlarge",
        "--peak-nodes",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("short.csv: 50 hours of data; simulate needs at least 96")
    );
}

#[test]
fn simulate_to_a_shortage_target_reports_what_it_realized() {
    let file = data("alibaba-2018-cpu.csv");
    let dir = tempfile::tempdir().expect("tmp");
    let trace_file = dir.path().join("hours.json");
    let trace_path = trace_file.to_string_lossy().into_owned();
    let out = simulate(
        &file,
        &[
            "--target-shortage",
            "0.01",
            "--cooldown-minutes",
            "120",
            "--json",
            "--dump-hours",
            &trace_path,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let t = &v["target_shortage"];
    assert_eq!(t["target"], 0.01);
    // Realized is the predictive policy's shortage over the node-hours
    // needed in the window, recomputed here from the CSV.
    let y = hourly_means(&file);
    let first = v["first_hour"].as_u64().expect("first") as usize;
    let needed: u64 = needs(&y, 40.0)[first..].iter().sum();
    let short = v["policies"]["predictive"]["shortage_node_hours"]
        .as_f64()
        .expect("short");
    let realized = t["realized"].as_f64().expect("realized");
    assert!((realized - short / needed as f64).abs() < 1e-9, "{t}");
    for q in ["mean_quantile", "final_quantile"] {
        let q = t[q].as_f64().expect("q");
        assert!((0.5..=0.95).contains(&q), "{t}");
    }
    // The hour-by-hour trace (for scripts/sizing_cv.py): one row per test
    // hour, the needs of the CSV, the sizes that the policy was scored on,
    // the quantile starting at --quantile and moving within its bounds.
    let trace: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&trace_file).expect("trace")).expect("json");
    let need = needs(&y, 40.0);
    assert_eq!(trace.len(), y.len() - first);
    let (mut sized, mut lacking) = (0u64, 0u64);
    for (h, row) in trace.iter().enumerate() {
        assert_eq!(row["need"], need[first + h], "hour {h}");
        let size = row["size"].as_u64().expect("size");
        sized += size;
        lacking += need[first + h].saturating_sub(size);
        let q = row["quantile"].as_f64().expect("q");
        assert!((0.5..=0.95).contains(&q), "{row}");
        let (p50, p90) = (
            row["p50"].as_array().expect("p50"),
            row["p90"].as_array().expect("p90"),
        );
        assert!(p50.len() == 48 && p90.len() == 48, "{row}");
    }
    assert_eq!(trace[0]["quantile"], 0.8);
    // Within the executor's limits: each change up to double the group (at
    // least 4 nodes) or down by half of it (at least one), none within two
    // hours of the last (a cooldown of 120 minutes), starting from the need
    // of the hour before the window.
    assert_eq!(v["limits"]["cooldown_minutes"], 120);
    assert!(v["limits"]["max_step"].is_null(), "{}", v["limits"]);
    let mut size = need[first - 1];
    let mut last: Option<usize> = None;
    let mut changes = 0;
    for (h, row) in trace.iter().enumerate() {
        let to = row["size"].as_u64().expect("size");
        if to != size {
            let step = if to > size {
                size.max(4)
            } else {
                (size / 2).max(1)
            };
            assert!(to.abs_diff(size) <= step, "hour {h}: {size} -> {to}");
            assert!(
                last.is_none_or(|l| h - l >= 2),
                "hour {h}: changed at {last:?}"
            );
            (size, last, changes) = (to, Some(h), changes + 1);
        }
    }
    assert!(
        changes >= 10,
        "{changes} changes over {} hours",
        trace.len()
    );
    assert_eq!(v["policies"]["predictive"]["node_hours"], sized);
    assert_eq!(v["policies"]["predictive"]["shortage_node_hours"], lacking);
    // scripts/sizing_cv.py's copy of the sizing rule replays the trace to
    // the same sizes, hour for hour (its check, as global_cv.sh lays out).
    for sub in ["sim", "sim-hours"] {
        std::fs::create_dir(dir.path().join(sub)).expect("dir");
    }
    std::fs::write(dir.path().join("sim/alibaba-2018-cpu.json"), &out.stdout).expect("report");
    std::fs::copy(
        &trace_file,
        dir.path().join("sim-hours/alibaba-2018-cpu.json"),
    )
    .expect("trace");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/sizing_cv.py");
    let check = std::process::Command::new("python3")
        .args([script, dir.path().to_str().expect("utf8"), "--check"])
        .output()
        .expect("python3 runs scripts/sizing_cv.py");
    assert!(
        check.status.success()
            && String::from_utf8_lossy(&check.stdout).contains("matches the product on 1 series"),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let out = simulate(&file, &["--target-shortage", "2"]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("--target-shortage") && e.contains("at most 0.5"),
        "{e}"
    );
}

#[test]
fn simulate_stops_the_band_at_the_busiest_hour_seen_plus_the_buffer() {
    // Three-hour bursts from 10 to 390 (1 node to 39 of 40) in about a
    // tenth of the three-hour blocks: the band's p90 in a burst is many
    // times its median; the ceiling holds the band to 1.1 x the busiest
    // hour seen. (A level shift from 10 to 400 no longer widens the band
    // past it since the daily season is robust to the shift, nor do
    // one-hour bursts, as on nab-ec2-netin-5abac7, since the level median
    // serves the first hours where the level returns after a spike.)
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bursts.csv");
    let start = chrono::DateTime::parse_from_rfc3339("2024-03-04T00:00:00Z").expect("ts");
    let noise = crate::fixture::noise;
    let rows: String = (0..480)
        .map(|h| {
            let level = if noise(7919 * (h / 3) + 1) > 0.8 {
                390.0
            } else {
                10.0
            };
            let ts = start + chrono::Duration::hours(h as i64);
            format!(
                "{},{:.3}\n",
                ts.format("%Y-%m-%dT%H:%M:%SZ"),
                level * (1.0 + 0.03 * noise(h))
            )
        })
        .collect();
    std::fs::write(&path, format!("timestamp,value\n{rows}")).expect("write");
    let file = path.to_str().expect("utf8");
    let json = |extra: &[&str]| -> serde_json::Value {
        // A step larger than any burst, so that the policy may follow one
        // in the hour it sees it.
        let mut a = vec!["--json", "--max-step", "1000"];
        a.extend_from_slice(extra);
        let out = simulate(file, &a);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };
    let capped = json(&[]);
    let open = json(&["--peak-buffer", "inf"]);
    assert_eq!(capped["rules"]["peak_buffer"], 0.1);
    let nh = |v: &serde_json::Value| v["policies"]["predictive"]["node_hours"].as_u64();
    let short = |v: &serde_json::Value| v["policies"]["predictive"]["shortage_node_hours"].as_u64();
    eprintln!(
        "node-hours with the ceiling {:?}, without {:?}",
        nh(&capped),
        nh(&open)
    );
    assert!(
        nh(&capped) < nh(&open),
        "the ceiling cuts node-hours: {:?} against {:?}",
        nh(&capped),
        nh(&open)
    );
    // Never below the last hour's need: no more short than reactive.
    assert!(short(&capped) <= capped["policies"]["reactive"]["shortage_node_hours"].as_u64());
    let out = simulate(file, &["--peak-buffer=-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--peak-buffer"));
}
