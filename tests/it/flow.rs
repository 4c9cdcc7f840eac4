//! Key scripts driving `update`, as the operator would.

use crate::fixture::{render, state, text};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use nodecast::app::{Action, Effect, Tab, update};
use nodecast::ui::theme::Theme;

fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn number_keys_select_clusters_and_zero_the_fleet() {
    let mut s = state();
    assert_eq!(s.tab, Tab::Fleet, "opens on the fleet tab");
    let names: Vec<_> = s.clusters.iter().map(|c| c.id.clone()).collect();
    for (i, name) in names.iter().enumerate() {
        let fx = update(&mut s, key(KeyCode::Char(char::from(b'1' + i as u8))));
        assert_eq!(fx, vec![Effect::Render]);
        assert_eq!(s.tab, Tab::Cluster(i));
        let t = text(&render(&s, &Theme::dark(), 120, 40));
        assert!(t.lines().nth(1).is_some_and(|l| l.contains(&name.0)));
    }
    // A number with no cluster behind it changes nothing and draws nothing.
    assert!(update(&mut s, key(KeyCode::Char('9'))).is_empty());
    assert_eq!(s.tab, Tab::Cluster(3));
    update(&mut s, key(KeyCode::Char('0')));
    assert_eq!(s.tab, Tab::Fleet);
}

#[test]
fn tab_and_shift_tab_cycle_through_fleet_and_clusters() {
    let mut s = state();
    let n = s.clusters.len();
    let mut seen = vec![s.tab];
    for _ in 0..n {
        update(&mut s, key(KeyCode::Tab));
        seen.push(s.tab);
    }
    assert_eq!(seen, s.tabs());
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.tab, Tab::Fleet, "wraps around");
    update(&mut s, key(KeyCode::BackTab));
    assert_eq!(s.tab, Tab::Cluster(n - 1));
    update(&mut s, key(KeyCode::Left));
    assert_eq!(s.tab, Tab::Cluster(n - 2));
}

#[test]
fn help_opens_and_closes() {
    let mut s = state();
    update(&mut s, key(KeyCode::Char('?')));
    assert!(s.help);
    assert!(text(&render(&s, &Theme::dark(), 120, 40)).contains("Help · keys"));
    update(&mut s, key(KeyCode::Esc));
    assert!(!s.help);
    assert!(!text(&render(&s, &Theme::dark(), 120, 40)).contains("Help · keys"));
    assert!(
        update(&mut s, key(KeyCode::Esc)).is_empty(),
        "Esc without help does nothing"
    );
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut s = state();
    assert_eq!(
        update(&mut s, key(KeyCode::Char('q'))),
        vec![Effect::Render, Effect::Quit]
    );
    let mut s = state();
    let fx = update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(fx.contains(&Effect::Quit));
    let mut s = state();
    assert!(update(&mut s, Action::Shutdown).contains(&Effect::Quit));
}

#[test]
fn unknown_keys_do_not_redraw() {
    let mut s = state();
    assert!(update(&mut s, key(KeyCode::Char('z'))).is_empty());
    assert!(update(&mut s, key(KeyCode::F(5))).is_empty());
}

#[test]
fn forecast_progress_shows_in_the_status_bar_until_the_job_is_done() {
    let mut s = state();
    let id = s.clusters[1].id.clone();
    let fx = update(
        &mut s,
        Action::ForecastProgress {
            done: 1,
            total: 4,
            cluster: id.clone(),
        },
    );
    assert_eq!(fx, vec![Effect::Render]);
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    let status = t.lines().last().unwrap_or_default().to_string();
    assert!(
        status.contains(&format!("forecasting {} (2/4 clusters)…", id.0)),
        "{status}"
    );
    update(&mut s, Action::ForecastsDone);
    let t = text(&render(&s, &Theme::dark(), 120, 40));
    assert!(!t.contains("forecasting"), "{t}");
}
