//! Bad config and bad flags: non-zero exit and a message naming file, line and field.

use nodecast::config;
use std::path::Path;
use std::process::Command;

fn err(text: &str) -> String {
    format!(
        "{:#}",
        config::parse(text, Path::new("/etc/nc.toml")).expect_err("must fail")
    )
}

#[test]
fn a_good_config_parses() {
    let c = config::parse(
        "theme = \"light\"\n[demo]\nspeed = 60\n[[cluster]]\nname = \"prod\"\ncontext = \"prod-admin\"\nregion = \"us-east-1\"\n[cluster.cloudwatch]\ncluster_name = \"prod\"\n",
        Path::new("c.toml"),
    )
    .expect("parses");
    assert_eq!(c.cluster.len(), 1);
    assert_eq!(c.demo.speed.map(|s| *s.get_ref()), Some(60.0));
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let e = err("theme = \"dark\"\n\n[demo]\nsped = 3\n");
    assert!(
        e.contains("/etc/nc.toml") && e.contains("line 4") && e.contains("sped"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_the_line() {
    let e = err("[demo]\nspeed = \"fast\"\n");
    assert!(e.contains("line 2") && e.contains("speed"), "{e}");
}

#[test]
fn out_of_range_speed_names_the_field() {
    let e = err("[demo]\nspeed = -2\n");
    assert!(e.contains("line 2") && e.contains("demo.speed"), "{e}");
}

#[test]
fn duplicate_cluster_names_are_refused() {
    let e = err("[[cluster]]\nname = \"a\"\n[[cluster]]\nname = \"a\"\n");
    assert!(
        e.contains("line 4") && e.contains("cluster.name") && e.contains("twice"),
        "{e}"
    );
}

fn nodecast(args: &[&str], home: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nodecast"))
        .args(args)
        .env("HOME", home)
        .env_remove("KUBECONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_STATE_HOME")
        .output()
        .expect("run nodecast")
}

#[test]
fn cli_bad_config_file_exits_non_zero_naming_it() {
    let home = tempfile::tempdir().expect("home");
    let f = home.path().join("bad.toml");
    std::fs::write(&f, "[demo]\nspeed = 0\n").expect("write");
    let out = nodecast(
        &["--config", f.to_str().expect("utf8"), "clusters"],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("bad.toml") && e.contains("line 2") && e.contains("demo.speed"),
        "{e}"
    );
}

#[test]
fn cli_missing_config_file_is_an_error() {
    let home = tempfile::tempdir().expect("home");
    let out = nodecast(
        &["--config", "/nonexistent/nc.toml", "clusters"],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/nc.toml"));
}

#[test]
fn cli_default_config_in_xdg_dir_is_read() {
    let home = tempfile::tempdir().expect("home");
    let dir = home.path().join(".config").join("nodecast");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("config.toml"), "theme = \"solarized\"\n").expect("write");
    let out = nodecast(&["clusters"], home.path());
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("config.toml") && e.contains("line 1") && e.contains("theme"),
        "{e}"
    );
}

#[test]
fn cli_bad_flags_exit_non_zero_naming_the_flag() {
    let home = tempfile::tempdir().expect("home");
    for (args, needle) in [
        (vec!["--speed", "0"], "--speed"),
        (vec!["--speed", "fast"], "--speed"),
        (vec!["--frobnicate"], "--frobnicate"),
        (vec!["--theme", "neon", "clusters"], "--theme"),
    ] {
        let out = nodecast(&args, home.path());
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains(needle), "{args:?}: {e}");
    }
}

#[test]
fn cli_lists_configured_live_clusters_with_their_sources() {
    let home = tempfile::tempdir().expect("home");
    let f = home.path().join("live.toml");
    std::fs::write(
        &f,
        "[[cluster]]\nname = \"prod\"\ncontext = \"prod-admin\"\nregion = \"us-east-1\"\n\
         [cluster.cloudwatch]\ncluster_name = \"prod\"\n",
    )
    .expect("write");
    let out = nodecast(
        &["--config", f.to_str().expect("utf8"), "clusters", "--json"],
        home.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["name"], "prod");
    assert_eq!(v[0]["region"], "us-east-1");
    assert_eq!(
        v[0]["source"], "kube+node-groups+cloudwatch",
        "a cluster with a region reads its node groups from AWS"
    );
    assert_eq!(v[0]["description"], "kubeconfig context prod-admin");
    assert_eq!(v[0]["context"], "prod-admin");
    // --demo opens the demo fleet regardless.
    let out = nodecast(
        &[
            "--config",
            f.to_str().expect("utf8"),
            "--demo",
            "clusters",
            "--json",
        ],
        home.path(),
    );
    assert!(out.status.success());
}

#[test]
fn cli_clusters_json_lists_the_demo_fleet() {
    let home = tempfile::tempdir().expect("home");
    let out = nodecast(&["clusters", "--json"], home.path());
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names: Vec<&str> = v
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["prod-web", "batch-mixed", "events-web", "svc-asg"]);
    let out = nodecast(&["clusters"], home.path());
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("NAME") && t.contains("svc-asg"));
}

#[test]
fn business_events_and_holidays_feed_the_forecast_calendar() {
    let c = config::parse(
        "[forecast]\nholidays = [\"2026-12-08\"]\n\n[[event]]\nname = \"black-friday\"\nstart = 2026-11-27T00:00:00Z\nend = 2026-11-28T00:00:00Z\nuplift = 0.8\n",
        Path::new("c.toml"),
    )
    .expect("parses");
    let cal = c.calendar();
    assert!(
        cal.holidays
            .contains(&chrono::NaiveDate::from_ymd_opt(2026, 12, 8).expect("date"))
    );
    assert!(
        cal.holidays
            .contains(&chrono::NaiveDate::from_ymd_opt(2026, 12, 25).expect("date")),
        "built-in kept"
    );
    assert_eq!(cal.events.len(), 1);
    assert_eq!(cal.events[0].uplift, 0.8);
    let e = err(
        "[[event]]\nname = \"launch\"\nstart = 2026-11-28T00:00:00Z\nend = 2026-11-27T00:00:00Z\nuplift = 1.0\n",
    );
    assert!(
        e.contains("line 2") && e.contains("event") && e.contains("launch"),
        "{e}"
    );
    let e = err(
        "[[event]]\nname = \"x\"\nstart = 2026-11-28T00:00:00Z\nend = 2026-11-29T00:00:00Z\nuplfit = 1.0\n",
    );
    assert!(e.contains("line 5") && e.contains("uplfit"), "{e}");
}

#[test]
fn headroom_out_of_range_names_the_field() {
    let e = err("[forecast]\nheadroom = 1.5\n");
    assert!(
        e.contains("line 2") && e.contains("forecast.headroom"),
        "{e}"
    );
    let c = config::parse("[forecast]\nheadroom = 0.25\n", Path::new("c.toml")).expect("parses");
    assert_eq!(c.headroom(), 0.25);
    assert_eq!(config::Config::default().headroom(), 0.10);
}

#[test]
fn plan_section_sets_rules_mix_constraints_and_discounts() {
    let c = config::parse(
        "[forecast]\nheadroom = 0.2\n[plan]\nquantile = 0.9\nscale_in_window_hours = 4\n\
         families = [\"m7i\", \"c7i\"]\narchitectures = [\"arm64\"]\nmin_generation = 7\n\
         min_spot_types = 5\nenterprise_discount = 0.12\nsavings_plan_discount = 0.3\n",
        Path::new("c.toml"),
    )
    .expect("parses");
    let p = c.plan();
    assert_eq!(p.headroom, 0.2);
    assert_eq!((p.rules.quantile, p.rules.scale_in_window_h), (0.9, 4));
    assert_eq!(p.families, vec!["m7i", "c7i"]);
    assert_eq!((p.min_generation, p.min_spot_types), (7, 5));
    assert_eq!(
        (p.discounts.enterprise, p.discounts.savings_plan),
        (0.12, 0.3)
    );
    // Untouched fields keep their defaults.
    let d = nodecast::plan::PlanConfig::default();
    assert_eq!(p.rules.max_scale_in_step, d.rules.max_scale_in_step);
    assert_eq!(p.categories, d.categories);
    assert_eq!(config::Config::default().plan(), d);
    let e = err("[plan]\nquantile = 0.3\n");
    assert!(e.contains("line 2") && e.contains("plan.quantile"), "{e}");
    let e = err("[plan]\n\nmin_spot_types = 0\n");
    assert!(
        e.contains("line 3") && e.contains("plan.min_spot_types"),
        "{e}"
    );
    let e = err("[plan]\nsavings_plan_discount = 1.5\n");
    assert!(e.contains("plan.savings_plan_discount"), "{e}");
    let e = err("[plan]\nspot = true\n");
    assert!(e.contains("unknown field") && e.contains("spot"), "{e}");
}

#[test]
fn prices_section_sets_the_refresh_per_cluster_region() {
    let c = config::parse(
        "[prices]\nrefresh_hours = 6\npricing_endpoint = \"http://127.0.0.1:4566\"\n\n\
         [[cluster]]\nname = \"a\"\nregion = \"eu-west-1\"\nprofile = \"ops\"\n\n\
         [[cluster]]\nname = \"b\"\nregion = \"eu-west-1\"\n\n[[cluster]]\nname = \"c\"\n",
        Path::new("c.toml"),
    )
    .expect("parses");
    let regions = ["eu-west-1".to_string(), "eu-west-1".into(), String::new()];
    let r = c.price_refresh(&regions);
    assert!(r.refresh);
    assert_eq!(r.every_hours, 6);
    // One target per region; a cluster without a region is not priced live.
    assert_eq!(r.targets.len(), 1);
    assert_eq!(r.targets[0].region, "eu-west-1");
    assert_eq!(r.targets[0].profile.as_deref(), Some("ops"));
    assert_eq!(
        r.targets[0].pricing_endpoint.as_deref(),
        Some("http://127.0.0.1:4566")
    );
    let other = r.target_for("us-west-2");
    assert_eq!(other.region, "us-west-2");
    assert_eq!(other.profile, None);
    assert_eq!(other.pricing_endpoint, r.targets[0].pricing_endpoint);
    let d = config::Config::default().price_refresh(&[]);
    assert!(d.refresh && d.targets.is_empty());
    assert_eq!(d.every_hours, config::DEFAULT_PRICE_REFRESH_HOURS);
    let e = err("[prices]\n\nrefresh_hours = 0\n");
    assert!(
        e.contains("line 3") && e.contains("prices.refresh_hours"),
        "{e}"
    );
    let e = err("[prices]\nec2_endpoint = \"localhost:5000\"\n");
    assert!(
        e.contains("line 2") && e.contains("prices.ec2_endpoint"),
        "{e}"
    );
    let e = err("[prices]\nrefresh = \"yes\"\n");
    assert!(e.contains("line 2"), "{e}");
}

#[test]
fn cluster_actions_are_checked_and_reach_the_live_cluster() {
    let e = err("[[cluster]]\nname = \"prod\"\n[cluster.actions]\nmode = \"yes\"\n");
    assert!(
        e.contains("line 4")
            && e.contains("`cluster.actions.mode`")
            && e.contains("\"off\" or \"approve\""),
        "{e}"
    );
    let e = err("[[cluster]]\nname = \"prod\"\n[cluster.actions]\ncooldown_minutes = -5\n");
    assert!(e.contains("`cluster.actions.cooldown_minutes`"), "{e}");
    let e = err("[[cluster]]\nname = \"prod\"\n[cluster.actions]\nwrite = true\n");
    assert!(e.contains("write"), "unknown keys are errors: {e}");
    let text = "[[cluster]]\nname = \"prod\"\nregion = \"us-east-1\"\n[cluster.cloudwatch]\ncluster_name = \"prod-eks\"\n[cluster.actions]\nmode = \"approve\"\nmax_nodes = 30\nmax_step = 4\ncooldown_minutes = 15\nautoscaler = false\n[[cluster]]\nname = \"staging\"\n";
    let cfg = config::parse(text, Path::new("c.toml")).expect("parses");
    let cli = <nodecast::cli::Cli as clap::Parser>::parse_from(["nodecast"]);
    let live = nodecast::setup::live_clusters(&cli, &cfg).expect("clusters");
    let prod = &live[0];
    assert_eq!(
        prod.eks_cluster, "prod-eks",
        "defaults to CloudWatch's cluster name"
    );
    assert_eq!(prod.actions.mode, nodecast::exec::ActionsMode::Approve);
    assert_eq!(prod.actions.change.max_step, Some(4));
    assert_eq!(prod.actions.change.cooldown, chrono::Duration::minutes(15));
    assert!(!prod.actions.autoscaler);
    // The plan ramps within the same step limit and cooldown.
    use nodecast::plan::scaling::ChangeLimits;
    let steps = nodecast::setup::live_change_limits(&live);
    assert_eq!(
        steps["prod"],
        ChangeLimits {
            max_nodes: Some(30),
            max_step: Some(4),
            cooldown: chrono::Duration::minutes(15),
        }
    );
    assert_eq!(steps["staging"], ChangeLimits::default());
    let staging = &live[1];
    assert_eq!(staging.eks_cluster, "staging");
    assert_eq!(
        staging.actions.mode,
        nodecast::exec::ActionsMode::Off,
        "off by default"
    );
    assert!(staging.actions.autoscaler);
    assert_eq!(
        staging.actions.headroom_namespace, None,
        "node groups by default"
    );
    let e = err("[[cluster]]\nname = \"prod\"\n[cluster.actions]\nactuator = \"pods\"\n");
    assert!(
        e.contains("line 4") && e.contains("\"node-group\" or \"headroom\""),
        "{e}"
    );
    for (extra, ns) in [
        ("", "nodecast"),
        ("headroom_namespace = \"capacity\"\n", "capacity"),
    ] {
        let text = format!(
            "[[cluster]]\nname = \"k\"\n[cluster.actions]\nactuator = \"headroom\"\n{extra}"
        );
        let cfg = config::parse(&text, Path::new("c.toml")).expect("parses");
        let live = nodecast::setup::live_clusters(&cli, &cfg).expect("clusters");
        assert_eq!(live[0].actions.headroom_namespace.as_deref(), Some(ns));
    }
}

#[test]
fn eks_arn_contexts_are_named_by_their_cluster_and_name_is_optional() {
    use nodecast::setup::context_short_name;
    assert_eq!(
        context_short_name("arn:aws:eks:us-east-1:123456789012:cluster/prod"),
        ("prod".to_string(), Some("us-east-1".to_string()))
    );
    assert_eq!(
        context_short_name("arn:aws-cn:eks:cn-north-1:123456789012:cluster/web-2"),
        ("web-2".to_string(), Some("cn-north-1".to_string()))
    );
    for plain in [
        "prod-admin",
        "kind-kind",
        "arn:aws:iam::123:role/x",
        "arn:aws:eks:us-east-1:1:cluster/",
    ] {
        assert_eq!(context_short_name(plain), (plain.to_string(), None));
    }
    let cli = <nodecast::cli::Cli as clap::Parser>::parse_from(["nodecast"]);
    // No name: the context's short name (and the ARN's region); a name wins.
    let text = "[[cluster]]\ncontext = \"arn:aws:eks:eu-west-1:123456789012:cluster/shop\"\n\
                [[cluster]]\nname = \"batch\"\ncontext = \"arn:aws:eks:eu-west-1:123456789012:cluster/jobs\"\n";
    let cfg = config::parse(text, Path::new("c.toml")).expect("parses");
    let live = nodecast::setup::live_clusters(&cli, &cfg).expect("clusters");
    assert_eq!(live[0].name, "shop");
    assert_eq!(live[0].region, "eu-west-1");
    assert_eq!(live[0].eks_cluster, "shop");
    assert_eq!(
        live[0].kube.context.as_deref(),
        Some("arn:aws:eks:eu-west-1:123456789012:cluster/shop"),
        "the full context reaches the kubeconfig"
    );
    assert_eq!(live[1].name, "batch");
    assert_eq!(live[1].eks_cluster, "batch");
    // Two contexts with the same short name: an error that says what to do.
    let text = "[[cluster]]\ncontext = \"arn:aws:eks:eu-west-1:1:cluster/shop\"\n\
                [[cluster]]\ncontext = \"arn:aws:eks:us-east-1:1:cluster/shop\"\n";
    let cfg = config::parse(text, Path::new("c.toml")).expect("parses");
    let e = nodecast::setup::live_clusters(&cli, &cfg)
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("\"shop\" is used twice") && e.contains("set `name`"),
        "{e}"
    );
    // --context with an ARN.
    let cli = <nodecast::cli::Cli as clap::Parser>::parse_from([
        "nodecast",
        "--context",
        "arn:aws:eks:us-west-2:123456789012:cluster/edge",
    ]);
    let live = nodecast::setup::live_clusters(&cli, &config::Config::default()).expect("clusters");
    assert_eq!(
        (live[0].name.as_str(), live[0].region.as_str()),
        ("edge", "us-west-2")
    );
}

#[test]
fn ledger_days_below_the_accuracy_window_names_the_field() {
    let e = err("[forecast]\nledger_days = 7\n");
    assert!(
        e.contains("line 2") && e.contains("forecast.ledger_days") && e.contains("31"),
        "{e}"
    );
    let c = config::parse("[forecast]\nledger_days = 120\n", Path::new("c.toml")).expect("parses");
    assert_eq!(c.ledger_days(), 120);
    assert_eq!(config::Config::default().ledger_days(), 90);
}

#[test]
fn retraining_and_the_shortage_target_are_checked_and_default() {
    for (text, field) in [
        ("[forecast]\nretrain_hours = -1\n", "forecast.retrain_hours"),
        ("[forecast]\ndrift_factor = 0.9\n", "forecast.drift_factor"),
        ("[plan]\ntarget_shortage = 0.7\n", "plan.target_shortage"),
        ("[plan]\npeak_buffer = -0.1\n", "plan.peak_buffer"),
    ] {
        let e = err(text);
        assert!(e.contains("line 2") && e.contains(field), "{e}");
    }
    let d = config::Config::default();
    assert_eq!(d.retraining(), (24, 1.5));
    assert_eq!(d.plan().target_shortage, Some(0.01));
    let c = config::parse(
        "[forecast]\nretrain_hours = 0\ndrift_factor = 2.0\n[plan]\ntarget_shortage = 0\n",
        Path::new("c.toml"),
    )
    .expect("parses");
    assert_eq!(c.retraining(), (0, 2.0));
    assert_eq!(c.plan().target_shortage, None, "0: the fixed quantile");
    assert_eq!(d.plan().rules.peak_buffer, 0.10);
    let c = config::parse("[plan]\npeak_buffer = 0.25\n", Path::new("c.toml")).expect("parses");
    assert_eq!(c.plan().rules.peak_buffer, 0.25);
}

#[test]
fn an_amp_workspace_is_signed_in_its_region_unless_told_otherwise() {
    let cli = <nodecast::cli::Cli as clap::Parser>::parse_from(["nodecast"]);
    let text = "[[cluster]]\nname = \"a\"\ncontext = \"a\"\nregion = \"us-east-1\"\n\
                [cluster.prometheus]\nurl = \"https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1\"\n\
                [[cluster]]\nname = \"b\"\ncontext = \"b\"\nregion = \"us-east-1\"\n\
                [cluster.prometheus]\nurl = \"http://prometheus:9090\"\n\
                [[cluster]]\nname = \"c\"\ncontext = \"c\"\nregion = \"us-east-1\"\n\
                [cluster.prometheus]\nurl = \"https://amp-proxy.internal\"\nsigv4 = true\n\
                [[cluster]]\nname = \"d\"\ncontext = \"d\"\n\
                [cluster.prometheus]\nurl = \"https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-2\"\nsigv4 = false\n";
    let cfg = config::parse(text, Path::new("c.toml")).expect("parses");
    let live = nodecast::setup::live_clusters(&cli, &cfg).expect("clusters");
    let sig = |i: usize| {
        live[i]
            .prometheus
            .as_ref()
            .expect("prometheus")
            .sigv4_region
            .clone()
    };
    assert_eq!(
        sig(0).as_deref(),
        Some("eu-west-1"),
        "the workspace's region"
    );
    assert_eq!(sig(1), None, "a plain Prometheus");
    assert_eq!(
        sig(2).as_deref(),
        Some("us-east-1"),
        "sigv4 = true: the cluster's region"
    );
    assert_eq!(sig(3), None, "sigv4 = false");
    // Signing with no region to sign for: an error that says what to set.
    let text = "[[cluster]]\nname = \"e\"\ncontext = \"e\"\n\
                [cluster.prometheus]\nurl = \"https://proxy\"\nsigv4 = true\n";
    let cfg = config::parse(text, Path::new("c.toml")).expect("parses");
    let e = nodecast::setup::live_clusters(&cli, &cfg)
        .expect_err("no region")
        .to_string();
    assert!(e.contains("\"e\"") && e.contains("sigv4_region"), "{e}");
    let e =
        err("[[cluster]]\nname = \"x\"\n[cluster.prometheus]\nurl = \"http://p\"\nsigv5 = true\n");
    assert!(e.contains("line 5") && e.contains("sigv5"), "{e}");
}
