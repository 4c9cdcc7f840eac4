//! A proposal's life past proposed: expired (undecided an hour after the
//! hour it was for) and superseded (a newer plan changed it), in the
//! executor's rules, in the dashboard's confirmation and in the headless
//! commands, each leaving a `refused` row that says why.

use crate::approvals::{key, on_plan};
use crate::headless::demo_cli;
use chrono::{Duration, TimeZone, Utc};
use crossterm::event::KeyCode;
use nodecast::app::{Action, Effect, update};
use nodecast::domain::{ClusterId, ScaleReason, ScalingAction};
use nodecast::exec::rules::{self, Rule};
use nodecast::store::db::Db;

fn action(from: u32, to: u32, hour: u32) -> ScalingAction {
    ScalingAction {
        cluster: ClusterId("prod".into()),
        node_group: "general".into(),
        from,
        to,
        at: Utc.with_ymd_and_hms(2026, 11, 30, hour, 0, 0).unwrap(),
        reason: ScaleReason::ForecastAbove,
    }
}

#[test]
fn expired_and_superseded_say_what_the_plan_holds_now() {
    let a = action(3, 5, 12);
    let newer = action(3, 6, 12);
    let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, 30, h, m, 0).unwrap();
    // In the plan and in time: nothing stops it.
    assert_eq!(rules::outdated(&a, &[&a], at(11, 0)), None);
    assert_eq!(
        rules::outdated(&a, &[&a], at(13, 0)),
        None,
        "the hour after it began"
    );
    let why = rules::outdated(&a, &[&a], at(13, 1)).expect("expired");
    assert!(
        why.starts_with("expired: it was for 2026-11-30 12:00"),
        "{why}"
    );
    let why = rules::outdated(&a, &[&newer], at(11, 0)).expect("superseded");
    assert_eq!(
        why,
        format!(
            "superseded: the plan for general now proposes 3 -> 6 for 12:00 (id {})",
            newer.id()
        )
    );
    let why = rules::outdated(&a, &[], at(11, 0)).expect("superseded");
    assert!(
        why.contains("no longer proposes a change to general"),
        "{why}"
    );
    // The executor's rules refuse an expired action whoever asks.
    let c = rules::checks(
        &a,
        3,
        Ok(()),
        &rules::Limits::default(),
        &rules::Runaway::default(),
        &rules::Recent::default(),
        at(14, 0),
    );
    let refusal = rules::refusal(&c).expect("refused");
    assert_eq!(refusal.rule, Rule::NotExpired);
}

#[test]
fn a_confirmation_the_plan_moved_under_is_refused_as_superseded() {
    let (mut s, i) = on_plan();
    let first = s.clusters[i].plan.as_ref().expect("plan").proposals()[0]
        .action
        .clone();
    update(&mut s, key(KeyCode::Char('a')));
    // While the dialog is open, a new plan asks one node more for that hour.
    let mut plan = s.clusters[i].plan.clone().expect("plan");
    for g in &mut plan.groups {
        for p in &mut g.proposals {
            if p.action == first {
                p.action.to += 1;
            }
        }
    }
    let cluster = s.clusters[i].id.clone();
    update(&mut s, Action::Plan(cluster, Box::new(plan)));
    assert!(s.modal.is_some(), "the dialog stays open");
    let fx = update(&mut s, key(KeyCode::Char('y')));
    let why = fx
        .iter()
        .find_map(|e| match e {
            Effect::Refuse(a, why) if *a == first => Some(why.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("refused, not executed: {fx:?}"));
    assert!(
        why.starts_with(&format!(
            "superseded: the plan for {} now proposes {} -> {}",
            first.node_group,
            first.from,
            first.to + 1
        )),
        "{why}"
    );
    assert!(!fx.iter().any(|e| matches!(e, Effect::Execute(_))));
}

#[test]
fn headless_approvals_of_outdated_ids_are_refused_with_a_row() {
    let home = tempfile::tempdir().expect("home");
    let out = demo_cli(home.path(), &["actions", "--json", "--cluster", "prod-web"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let first = &listed[0];
    // What an earlier listing showed: the same group one node further (a
    // plan since replaced), and a change for an hour long past.
    let at: chrono::DateTime<Utc> = first["at"].as_str().expect("at").parse().expect("time");
    let group = first["node_group"].as_str().expect("group").to_string();
    let moved = ScalingAction {
        cluster: ClusterId("prod-web".into()),
        node_group: group.clone(),
        from: first["from"].as_u64().expect("from") as u32,
        to: first["to"].as_u64().expect("to") as u32 + 1,
        at,
        reason: ScaleReason::ForecastAbove,
    };
    let stale = ScalingAction {
        at: at - Duration::hours(30),
        ..moved.clone()
    };
    {
        let mut db = Db::open(&home.path().join("demo.db")).expect("db");
        db.remember_proposals(
            &[(moved.clone(), at), (stale.clone(), stale.at)],
            at - Duration::hours(1),
        )
        .expect("remember");
        assert!(
            db.listed_proposal(first["id"].as_str().unwrap_or_default())
                .expect("read")
                .is_some(),
            "a listing remembers what it showed"
        );
    }
    let out = demo_cli(home.path(), &["actions", "--json", "--cluster", "prod-web"]);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    let status = |id: &str| {
        listed
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["status"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(status(&moved.id()).as_deref(), Some("superseded"));

    let out = demo_cli(home.path(), &["approve", &moved.id(), "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "refused: superseded: the plan for {group} now proposes"
        )),
        "{stdout}"
    );
    let out = demo_cli(home.path(), &["approve", &stale.id(), "--yes"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("refused: expired"));

    let out = demo_cli(home.path(), &["audit", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    for a in [&moved, &stale] {
        let row = rows
            .iter()
            .find(|r| r["action_id"] == a.id())
            .expect("a row each");
        assert_eq!(row["outcome"], "refused");
        assert_eq!(row["decision"], "approve");
    }
}
