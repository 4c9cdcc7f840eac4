//! The executor: every safety rule on random proposals and live states
//! (proptest), read-only enforced in the executor itself, compare-and-set,
//! intent before the call and outcome after in the audit log, a crash
//! between them reconciled, and the demo's approved floor growing the
//! replayed group after the autoscaler's delay.

use chrono::{DateTime, Duration, Utc};
use nodecast::domain::{ClusterId, ScaleReason, ScalingAction};
use nodecast::exec::demo::DemoActuator;
use nodecast::exec::rules::{Limits, Recent, Rule, Runaway, checks, refusal};
use nodecast::exec::{ActionsMode, Actuator, ChangeLimits, ExecError, Executor, LiveSize, Target};
use nodecast::sources::replay::DemoControl;
use nodecast::store::audit::Outcome;
use nodecast::store::db::Db;
use proptest::prelude::*;
use std::sync::{Arc, Mutex};

pub fn at() -> DateTime<Utc> {
    crate::fixture::now()
}

pub fn action(group: &str, from: u32, to: u32, reason: ScaleReason) -> ScalingAction {
    ScalingAction {
        cluster: ClusterId("prod".into()),
        node_group: group.into(),
        from,
        to,
        at: at(),
        reason,
    }
}

fn reason() -> impl Strategy<Value = ScaleReason> {
    prop::sample::select(vec![
        ScaleReason::ForecastAbove,
        ScaleReason::RequestsAbove,
        ScaleReason::BandBelow,
        ScaleReason::Bounds,
    ])
}

fn verdict(c: &[nodecast::exec::rules::Check], rule: Rule) -> bool {
    c.iter()
        .find(|c| c.rule == rule)
        .map(|c| c.ok)
        .unwrap_or(true)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_refusal_means_every_rule_holds(
        from in 0u32..200, to in 0u32..200, live in 0u32..200,
        min in 0u32..50, span in 0u32..200, cap in prop::option::of(0u32..200),
        step in prop::option::of(1u32..50), since in prop::option::of(0i64..30),
        applies in prop::collection::vec((0i64..120, 0u32..40), 0..8),
        autoscaler in any::<bool>(), writable in any::<bool>(), why in reason(),
        late in 0i64..180,
    ) {
        let a = action("general", from, to, why);
        // Decided `late` minutes after the hour the change was for began.
        let now = a.at + Duration::minutes(late);
        let limits = Limits {
            min,
            max: min + span,
            change: ChangeLimits {
                max_nodes: cap,
                max_step: step,
                cooldown: Duration::minutes(10),
            },
            autoscaler,
        };
        let recent = Recent {
            group_last_applied: since.map(|m| now - Duration::minutes(m)),
            cluster_applies: applies.iter().map(|(m, n)| (now - Duration::minutes(*m), *n)).collect(),
        };
        let runaway = Runaway::default();
        let w = if writable { Ok(()) } else { Err("read-only".to_string()) };
        let c = checks(&a, live, w, &limits, &runaway, &recent, now);
        let ok = refusal(&c).is_none();
        // Not expired: at most an hour past the hour it was for.
        prop_assert!(!ok || late <= 60);
        // Read-only: never.
        prop_assert!(writable || !ok);
        // Compare-and-set: only from the size the operator saw.
        prop_assert!(!ok || live == from);
        // Min/max and max_nodes hold.
        prop_assert!(!ok || (min..=min + span).contains(&to));
        prop_assert!(!ok || cap.is_none_or(|cap| to <= cap));
        // At most one step: max_step, or by default up to the group again
        // (at least 4 nodes, at most the runaway guard's 100) and down by half.
        let most = step.unwrap_or(if to > from {
            from.clamp(4, 100)
        } else {
            (from / 2).max(1)
        });
        prop_assert!(!ok || to.abs_diff(from) <= most);
        // Cooldown.
        prop_assert!(!ok || since.is_none_or(|m| m >= 10));
        // Runaway guard over the last hour.
        let hour: Vec<_> = applies.iter().filter(|(m, _)| *m < 60).collect();
        let added: u32 = hour.iter().map(|(_, n)| n).sum::<u32>() + to.saturating_sub(from);
        prop_assert!(!ok || (hour.len() as u32) < runaway.applies_per_hour);
        prop_assert!(!ok || added <= runaway.nodes_per_hour);
        // A forecast alone never removes capacity.
        let forecast = matches!(why, ScaleReason::ForecastAbove | ScaleReason::BandBelow);
        prop_assert!(!ok || to >= from || autoscaler || !forecast);
        prop_assert_eq!(verdict(&c, Rule::Unchanged), live == from);
    }
}

#[test]
fn a_changed_group_is_refused_with_both_sizes() {
    let c = checks(
        &action("g", 3, 5, ScaleReason::ForecastAbove),
        4,
        Ok(()),
        &Limits::default(),
        &Runaway::default(),
        &Recent::default(),
        at(),
    );
    let r = refusal(&c).expect("refused");
    assert_eq!(r.rule, Rule::Unchanged);
    assert_eq!(r.detail, "changed since proposed: 3 -> 4 now");
    let c = checks(
        &action("g", 10, 12, ScaleReason::ForecastAbove),
        10,
        Ok(()),
        &Limits::default(),
        &Runaway::default(),
        &Recent {
            group_last_applied: Some(at() - Duration::minutes(4)),
            ..Default::default()
        },
        at(),
    );
    assert_eq!(
        refusal(&c).map(|c| c.detail.as_str()),
        Some("cooldown 6 min left")
    );
}

/// An actuator in memory that counts its writes (and can be told to fail).
struct Recorder {
    size: Mutex<LiveSize>,
    writes: Mutex<u32>,
    fail: Option<String>,
}

#[async_trait::async_trait]
impl Actuator for Recorder {
    fn call(&self) -> &'static str {
        "SetDesiredCapacity"
    }
    fn autoscaler(&self) -> bool {
        false
    }
    async fn live(&self, _: &ClusterId, group: &str) -> Result<LiveSize, ExecError> {
        if group == "missing" {
            return Err(ExecError::NoSuchGroup("no node group missing".into()));
        }
        Ok(*self.size.lock().expect("lock"))
    }
    async fn apply(&self, _: &ClusterId, _: &str, _: &LiveSize, to: u32) -> Result<(), ExecError> {
        if let Some(e) = &self.fail {
            return Err(ExecError::Call(e.clone()));
        }
        *self.writes.lock().expect("lock") += 1;
        self.size.lock().expect("lock").desired = to;
        Ok(())
    }
    fn landed(&self, back: &LiveSize, to: u32) -> bool {
        back.desired == to
    }
}

fn recorder(desired: u32, fail: Option<&str>) -> Arc<Recorder> {
    Arc::new(Recorder {
        size: Mutex::new(LiveSize {
            desired,
            min: 1,
            max: 20,
            floor: None,
            target: None,
        }),
        writes: Mutex::new(0),
        fail: fail.map(str::to_string),
    })
}

fn executor(
    dir: &std::path::Path,
    actuator: Arc<Recorder>,
    mode: ActionsMode,
    read_only: bool,
) -> Executor {
    let db = Db::open(&dir.join("audit.db")).expect("db");
    Executor::new(db, "alice", read_only).with_target(
        ClusterId("prod".into()),
        Target {
            mode,
            actuator,
            change: ChangeLimits::default(),
        },
    )
}

#[tokio::test]
async fn read_only_is_enforced_in_the_executor_and_leaves_a_row() {
    let dir = tempfile::tempdir().expect("dir");
    for (mode, read_only) in [(ActionsMode::Off, false), (ActionsMode::Approve, true)] {
        let act = recorder(4, None);
        let ex = executor(dir.path(), act.clone(), mode, read_only);
        let d = ex
            .approve(&action("general", 4, 6, ScaleReason::ForecastAbove), at())
            .await;
        assert_eq!(d.outcome, Outcome::Refused);
        assert!(d.detail.starts_with("read-only: "), "{}", d.detail);
        assert_eq!(*act.writes.lock().expect("lock"), 0, "nothing written");
    }
    let db = Db::open(&dir.path().join("audit.db")).expect("db");
    let rows = db
        .audit_rows(at() - Duration::hours(1), None)
        .expect("rows");
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.outcome == Some(Outcome::Refused) && r.operator == "alice")
    );
}

#[tokio::test]
async fn an_approval_is_applied_once_read_back_and_audited() {
    let dir = tempfile::tempdir().expect("dir");
    let act = recorder(4, None);
    let ex = executor(dir.path(), act.clone(), ActionsMode::Approve, false);
    let a = action("general", 4, 6, ScaleReason::ForecastAbove);
    let d = ex.approve(&a, at()).await;
    assert_eq!(d.outcome, Outcome::Applied, "{}", d.detail);
    assert!(d.detail.contains("read back"), "{}", d.detail);
    assert!(d.checks.iter().all(|c| c.ok));
    // The same approval again: the group is at the target, nothing written.
    let again = ex.approve(&a, at() + Duration::minutes(1)).await;
    assert_eq!(again.outcome, Outcome::Applied);
    assert_eq!(again.detail, "already at 6: nothing to do");
    assert_eq!(*act.writes.lock().expect("lock"), 1, "applied once");
    // Another change to the group within the cooldown is refused.
    let more = ex
        .approve(
            &action("general", 6, 8, ScaleReason::ForecastAbove),
            at() + Duration::minutes(3),
        )
        .await;
    assert_eq!(more.outcome, Outcome::Refused);
    assert!(
        more.detail.contains("cooldown 7 min left"),
        "{}",
        more.detail
    );
    let rows = Db::open(&dir.path().join("audit.db"))
        .expect("db")
        .audit_rows(at() - Duration::hours(1), Some("prod"))
        .expect("rows");
    let first = &rows[0];
    assert_eq!(
        (
            first.action_id.as_str(),
            first.decision.as_str(),
            first.outcome,
            first.from,
            first.to
        ),
        (a.id().as_str(), "approve", Some(Outcome::Applied), 4, 6)
    );
    assert!(first.finished_at.is_some());
    // The plan reads the group's last landed write back through the ledger
    // (for its cooldown): the first apply's, not the no-op's or the refusal's.
    let ledger = nodecast::store::ledger::Ledger::new(
        Db::open(&dir.path().join("audit.db")).expect("db"),
        90,
    );
    let last = nodecast::store::audit::last_writes(
        &ledger
            .audit_rows("prod", at() - Duration::hours(1))
            .expect("read"),
    );
    assert_eq!(last.len(), 1, "{last:?}");
    assert_eq!(last.get("general"), first.finished_at.as_ref());
    let json = serde_json::to_value(first).expect("json");
    for key in [
        "at",
        "cluster",
        "node_group",
        "action_id",
        "operator",
        "decision",
        "outcome",
        "from",
        "to",
        "detail",
    ] {
        assert!(json.get(key).is_some(), "audit JSON has {key}");
    }
}

#[tokio::test]
async fn failures_keep_the_error_text_and_rejections_their_reason() {
    let dir = tempfile::tempdir().expect("dir");
    let act = recorder(4, Some("ValidationError: 1 validation error detected"));
    let ex = executor(dir.path(), act, ActionsMode::Approve, false);
    let d = ex
        .approve(&action("general", 4, 5, ScaleReason::ForecastAbove), at())
        .await;
    assert_eq!(d.outcome, Outcome::Failed);
    assert!(d.detail.contains("ValidationError"), "{}", d.detail);
    let d = ex
        .approve(&action("missing", 4, 5, ScaleReason::ForecastAbove), at())
        .await;
    assert_eq!(
        (d.outcome, d.detail.as_str()),
        (Outcome::Failed, "no node group missing")
    );
    let d = ex.reject(
        &action("general", 4, 2, ScaleReason::BandBelow),
        "black friday tomorrow",
        at(),
    );
    assert_eq!(
        (d.outcome, d.detail.as_str()),
        (Outcome::Rejected, "black friday tomorrow")
    );
    let db = Db::open(&dir.path().join("audit.db")).expect("db");
    let rows = db
        .audit_rows(at() - Duration::hours(1), None)
        .expect("rows");
    let outcomes: Vec<_> = rows
        .iter()
        .map(|r| (r.decision.as_str(), r.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("approve", Some(Outcome::Failed)),
            ("approve", Some(Outcome::Failed)),
            ("reject", Some(Outcome::Rejected))
        ]
    );
    assert!(
        db.audit_open().expect("open").is_empty(),
        "no row left open-ended"
    );
}

#[tokio::test]
async fn an_intent_left_open_by_a_crash_is_reconciled_from_the_live_size() {
    let dir = tempfile::tempdir().expect("dir");
    let a = action("general", 4, 6, ScaleReason::ForecastAbove);
    let b = action("general", 6, 8, ScaleReason::ForecastAbove);
    let c = action("general", 2, 3, ScaleReason::ForecastAbove);
    {
        // The process wrote two intents and died before either outcome.
        let mut db = Db::open(&dir.path().join("audit.db")).expect("db");
        db.audit_decision(
            &a,
            "alice",
            "approve",
            None,
            "SetDesiredCapacity 4 -> 6",
            at(),
        )
        .expect("intent");
        db.audit_decision(
            &b,
            "alice",
            "approve",
            None,
            "SetDesiredCapacity 6 -> 8",
            at(),
        )
        .expect("intent");
        db.audit_decision(
            &c,
            "alice",
            "approve",
            None,
            "SetDesiredCapacity 2 -> 3",
            at(),
        )
        .expect("intent");
    }
    // The call for `a` had gone through: the group is at 6, where `b`
    // started (its write never landed); `c` shows neither its from nor its to.
    let ex = executor(dir.path(), recorder(6, None), ActionsMode::Approve, false);
    let done = ex.reconcile(at() + Duration::minutes(2)).await;
    assert_eq!(
        done,
        vec![
            (a.id(), Outcome::Applied),
            (b.id(), Outcome::Failed),
            (c.id(), Outcome::Unknown)
        ]
    );
    let db = Db::open(&dir.path().join("audit.db")).expect("db");
    assert!(db.audit_open().expect("open").is_empty());
    let rows = db
        .audit_rows(at() - Duration::hours(1), None)
        .expect("rows");
    assert!(
        rows[1]
            .detail
            .contains("not applied, the group is still at 6"),
        "{}",
        rows[1].detail
    );
    assert!(
        rows[2].detail.contains("reads 6 (not 3)"),
        "{}",
        rows[2].detail
    );
}

#[tokio::test]
async fn the_demo_takes_an_approved_floor_and_grows_after_the_autoscalers_delay() {
    let control = DemoControl::default();
    let mut sources =
        nodecast::sources::demo::demo_sources_controlled(at(), 1.0, Some(control.clone()))
            .expect("demo");
    let (_, src) = sources
        .iter_mut()
        .find(|(s, _)| s.cluster.0 == "svc-asg")
        .expect("svc-asg");
    let ticks = src.cluster.step(at());
    let now_nodes = ticks[0].nodes;
    let dir = tempfile::tempdir().expect("dir");
    let ex = Executor::new(
        Db::open(&dir.path().join("a.db")).expect("db"),
        "demo",
        false,
    )
    .with_target(
        ClusterId("svc-asg".into()),
        Target {
            mode: ActionsMode::Approve,
            actuator: Arc::new(DemoActuator {
                control: control.clone(),
            }),
            change: ChangeLimits {
                max_step: Some(10),
                ..ChangeLimits::default()
            },
        },
    );
    let a = ScalingAction {
        cluster: ClusterId("svc-asg".into()),
        node_group: "app".into(),
        from: now_nodes,
        to: now_nodes + 2,
        at: at(),
        reason: ScaleReason::ForecastAbove,
    };
    let d = ex.approve(&a, at()).await;
    assert_eq!(d.outcome, Outcome::Applied, "{}", d.detail);
    // The replay's autoscaler adds the nodes after its delay, not at once.
    assert_eq!(
        src.cluster.step(at() + Duration::seconds(30))[0].nodes,
        now_nodes
    );
    let later = src.cluster.step(at() + Duration::minutes(4))[0].nodes;
    assert!(later >= now_nodes + 2, "{now_nodes} -> {later}");
    // Stale: the group moved since the plan.
    let stale = ScalingAction {
        from: now_nodes,
        to: later + 1,
        ..a
    };
    let d = ex.approve(&stale, at() + Duration::minutes(20)).await;
    assert_eq!(d.outcome, Outcome::Refused);
    assert!(
        d.detail
            .contains(&format!("changed since proposed: {now_nodes} -> ")),
        "{}",
        d.detail
    );
}
