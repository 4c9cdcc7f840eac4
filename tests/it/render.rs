//! What the operator sees: text snapshots at 120x40 with a fixed clock, and
//! colours cell by cell (a text snapshot ignores colour). The panes render
//! from a stub forecast (`fixture::stub_state`), so a change to the models
//! leaves these snapshots alone; one end-to-end snapshot renders the real
//! ensemble's forecasts (the README's screenshot).

use crate::fixture::{render, state, stub_state, text};
use nodecast::app::{Action, Command, Tab, update};
use nodecast::domain::SeriesKind;
use nodecast::ui::chart::BAND_GLYPH_PLAIN;
use nodecast::ui::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::style::Modifier;

fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let t = text(buf);
    for (y, line) in t.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count();
            return Some((x as u16, y as u16));
        }
    }
    None
}

#[test]
fn fleet_tab_snapshot() {
    let s = stub_state();
    let usd: f64 = s
        .clusters
        .iter()
        .filter_map(|c| c.plan.as_ref())
        .map(|p| p.usd_per_hour_now)
        .sum();
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(
        t.contains(&format!("${usd:.2}/h")),
        "fleet cost in the title:\n{t}"
    );
    insta::assert_snapshot!("fleet_tab", text(&render(&s, &Theme::dark(), 120, 40)));
}

#[test]
fn end_to_end_cluster_tab_on_the_real_ensemble() {
    let mut s = state();
    update(&mut s, Action::Command(Command::Cluster(1)));
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(t.contains("ensemble of 17 members"), "{t}");
    // Every horizon's model mix is shown whole, its members' names and
    // weights not cut at the pane's edge, also where two horizons would not
    // fit on one line.
    let nodes = &s.clusters[0].forecast[&SeriesKind::Nodes];
    assert!(!nodes.mix.is_empty());
    let narrow = text(&render(&s, &Theme::dark(), 90, 40));
    for m in &nodes.mix {
        assert!(t.contains(&m.describe()), "{} cut:\n{t}", m.describe());
        assert!(
            narrow.contains(&m.describe()),
            "{} cut:\n{narrow}",
            m.describe()
        );
    }
    // Narrower than one horizon's mix (the 1-h one runs to about 80
    // columns): it goes on over lines of its own, no name or weight cut.
    let w = 64;
    let thin = text(&render(&s, &Theme::dark(), w, 40));
    assert!(thin.contains(" models "), "{thin}");
    let widest = nodes.mix.iter().map(|m| m.describe().len()).max();
    assert!(widest > Some(usize::from(w)), "{widest:?}\n{thin}");
    for m in &nodes.mix {
        assert!(thin.contains(&format!(" {} h ", m.horizon)), "{thin}");
        for (name, weight) in &m.members {
            let member = format!("{name} {}", nodecast::domain::weight_text(*weight));
            assert!(thin.contains(&member), "{member} cut:\n{thin}");
        }
    }
    insta::assert_snapshot!("e2e_cluster_prod-web", t);
}

#[test]
fn cluster_tabs_snapshots() {
    let mut s = stub_state();
    for (i, name) in ["prod-web", "batch-mixed", "events-web", "svc-asg"]
        .iter()
        .enumerate()
    {
        update(&mut s, Action::Command(Command::Cluster(i + 1)));
        let t = text(&render(&s, &Theme::dark(), 120, 40));
        assert!(
            t.lines().nth(1).is_some_and(|l| l.contains(name)),
            "overview title names {name}"
        );
        insta::assert_snapshot!(format!("cluster_{name}"), t);
    }
}

#[test]
fn forecast_pane_cpu_and_memory_snapshots() {
    let mut s = stub_state();
    update(&mut s, Action::Command(Command::Cluster(1)));
    update(&mut s, Action::Command(Command::CycleSeries));
    assert_eq!(s.chart, SeriesKind::CpuRequests);
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(t.contains("CPU demand (requested cores)"));
    insta::assert_snapshot!("prod_web_cpu", t);
    update(&mut s, Action::Command(Command::CycleSeries));
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(t.contains("memory demand (requested GiB)"));
    insta::assert_snapshot!("prod_web_memory", t);
}

#[test]
fn plan_and_cost_panes_snapshots() {
    let mut s = stub_state();
    update(&mut s, Action::Command(Command::Cluster(1)));
    update(&mut s, Action::Command(Command::CyclePane));
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    for what in ["Plan", "INSTANCE MIX", "SPOT", "TOLERANT"] {
        assert!(t.contains(what), "plan pane shows {what}");
    }
    insta::assert_snapshot!("prod_web_plan", t);
    update(&mut s, Action::Command(Command::CyclePane));
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    for what in ["Cost", "$/H NOW", "PLAN 48 H", "commit", "total"] {
        assert!(t.contains(what), "cost pane shows {what}");
    }
    insta::assert_snapshot!("prod_web_cost", t);
    update(&mut s, Action::Command(Command::CyclePane));
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(
        t.contains("Actions ·") && t.contains("no decision yet"),
        "{t}"
    );
    update(&mut s, Action::Command(Command::CyclePane));
    assert!(text(&render(&s, &Theme::dark(), 120, 40)).contains("Accuracy ·"));
    update(&mut s, Action::Command(Command::CyclePane));
    assert!(text(&render(&s, &Theme::dark(), 120, 40)).contains("Forecast ·"));
}

#[test]
fn help_overlay_lists_every_key() {
    let mut s = stub_state();
    update(&mut s, Action::Command(Command::ToggleHelp));
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    for (k, what) in nodecast::app::KEYS {
        assert!(t.contains(k) && t.contains(what), "help shows {k}");
    }
    insta::assert_snapshot!("help", t);
}

#[test]
fn demo_badge_is_on_screen_in_its_colour() {
    let s = stub_state();
    let theme = Theme::dark();
    let buf = render(&s, &theme, 120, 40);
    let (x, y) = find(&buf, "DEMO").expect("DEMO badge");
    let cell = &buf[(x, y)];
    assert_eq!(cell.fg, theme.demo_badge);
    assert!(cell.modifier.contains(Modifier::REVERSED));
}

/// Cells of the chart area whose background is the band colour.
fn band_cells(buf: &Buffer, theme: &Theme) -> Vec<(u16, u16)> {
    let a = buf.area;
    let mut out = Vec::new();
    for y in 0..a.height {
        for x in 0..a.width {
            if buf[(x, y)].bg == theme.band {
                out.push((x, y));
            }
        }
    }
    out
}

#[test]
fn band_is_shaded_right_of_now_only() {
    let mut s = stub_state();
    update(&mut s, Action::Command(Command::Cluster(1)));
    let theme = Theme::dark();
    let buf = render(&s, &theme, 120, 40);
    let (now_x, _) = find(&buf, "now ")
        .map(|(x, y)| (x + 1, y))
        .expect("now label");
    let cells = band_cells(&buf, &theme);
    // The legend swatch is one of them; the chart's band lies right of "now".
    let (_, legend_y) = find(&buf, "p10–p90 band").expect("legend");
    let chart: Vec<_> = cells.iter().filter(|(_, y)| *y > legend_y).collect();
    assert!(
        chart.len() > 100,
        "band covers the next 48 h ({} cells)",
        chart.len()
    );
    assert!(
        chart.iter().all(|(x, _)| *x + 1 >= now_x),
        "no band in the past"
    );
}

#[test]
fn no_color_draws_the_band_with_a_glyph_and_no_colour() {
    let mut s = stub_state();
    update(&mut s, Action::Command(Command::Cluster(1)));
    let theme = Theme::plain();
    let buf = render(&s, &theme, 120, 40);
    let t = text(&buf);
    assert!(t.matches(BAND_GLYPH_PLAIN).count() > 100);
    let a = buf.area;
    for y in 0..a.height {
        for x in 0..a.width {
            let c = &buf[(x, y)];
            assert_eq!(c.fg, ratatui::style::Color::Reset, "cell {x},{y} fg");
            assert_eq!(c.bg, ratatui::style::Color::Reset, "cell {x},{y} bg");
        }
    }
}

#[test]
fn pending_pods_and_hot_node_groups_show_in_the_warning_colour() {
    let mut s = stub_state();
    let theme = Theme::dark();
    // Find a cluster with pending pods in the fixture, by the product's own numbers.
    let (i, pending) = s
        .clusters
        .iter()
        .enumerate()
        .find_map(|(i, c)| {
            let p = c.view.latest.as_ref()?.pending_pods;
            (p > 0).then_some((i, p))
        })
        .expect("the fixture has a cluster with pending pods");
    s.tab = Tab::Cluster(i);
    let buf = render(&s, &theme, 120, 40);
    let (x, y) = find(&buf, &format!("⚠ {pending} pods pending")).expect("pending line");
    assert_eq!(buf[(x + 2, y)].fg, theme.warn);
    // A requests percentage of 90 % or more is a warning; under 90 % is not.
    let t = text(&buf);
    for (y, line) in t.lines().enumerate().take(8) {
        if let Some(b) = line.find("% req") {
            let pct: f64 = line[..b]
                .rsplit(' ')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0.0);
            let x = line[..b].chars().count() as u16;
            let expect = if pct >= 90.0 { theme.warn } else { theme.fg };
            assert_eq!(buf[(x, y as u16)].fg, expect, "line {y}: {line}");
        }
    }
}

#[test]
fn every_builtin_theme_parses_and_unknown_names_are_refused() {
    for (name, _) in nodecast::ui::theme::BUILTIN {
        let t = Theme::load(name).expect(name);
        assert_eq!(t.name, name);
    }
    let e = Theme::load("neon").expect_err("unknown theme");
    assert!(e.to_string().contains("dark, light, high-contrast"), "{e}");
    let e =
        Theme::parse("name = \"x\"\nfg = \"notacolour\"\n", "mine.toml").expect_err("bad theme");
    assert!(e.to_string().contains("mine.toml"), "{e}");
}

#[test]
fn every_tab_renders_at_any_size_without_panicking() {
    let mut s = stub_state();
    for (w, h) in [(80, 24), (60, 15), (200, 60), (20, 5), (1, 1)] {
        for tab in s.tabs() {
            s.tab = tab;
            let t = text(&render(&s, &Theme::dark(), w, h));
            if w >= 60 {
                assert!(t.contains("DEMO"), "{w}x{h} {tab:?}\n{t}");
            }
        }
    }
    // At 80x24 a cluster tab keeps its node groups and a chart of 9 rows:
    // the nodes-needed pane and the model mix give way (both show at 120x40).
    s.tab = Tab::Cluster(0);
    let t = text(&render(&s, &Theme::dark(), 80, 24));
    assert!(t.contains("general") && t.contains("Forecast"), "{t}");
    assert!(
        !t.contains("Nodes needed") && !t.contains(" models "),
        "{t}"
    );
    assert!(
        t.contains("-48h") && t.lines().filter(|l| l.contains('┊')).count() >= 8,
        "{t}"
    );
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(t.contains("Nodes needed") && t.contains(" models "), "{t}");
}
