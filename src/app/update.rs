//! `update(&mut AppState, Action, now) -> Vec<Effect>`: the one place state changes.

use super::action::{Action, Effect};
use super::keymap::{Command, command_for};
use super::state::{AppState, Tab};
use crate::domain::SeriesKind;

fn step_tab(state: &mut AppState, delta: isize) {
    let tabs = state.tabs();
    let cur = tabs.iter().position(|t| *t == state.tab).unwrap_or(0) as isize;
    let n = tabs.len() as isize;
    state.tab = tabs[((cur + delta).rem_euclid(n)) as usize];
}

fn apply(state: &mut AppState, cmd: Command) -> bool {
    let (tab, pane) = (state.tab, state.pane);
    let changed = apply_command(state, cmd);
    if state.tab != tab || state.pane != pane {
        state.selected = 0;
    }
    changed
}

fn apply_command(state: &mut AppState, cmd: Command) -> bool {
    match cmd {
        Command::Quit => state.quit = true,
        Command::ToggleHelp => state.help = !state.help,
        Command::CloseHelp => {
            if !state.help {
                return false;
            }
            state.help = false;
        }
        Command::Cluster(n) => {
            if n == 0 || n > state.clusters.len() {
                return false;
            }
            state.tab = Tab::Cluster(n - 1);
        }
        Command::Fleet => state.tab = Tab::Fleet,
        Command::NextTab => step_tab(state, 1),
        Command::PrevTab => step_tab(state, -1),
        Command::CyclePane => {
            use super::state::LowerPane::*;
            state.pane = match state.pane {
                Forecast => Plan,
                Plan => Cost,
                Cost => Actions,
                Actions => Accuracy,
                Accuracy => Forecast,
            };
        }
        Command::SelectNext => return super::approvals::select(state, 1),
        Command::SelectPrev => return super::approvals::select(state, -1),
        Command::Approve => return super::approvals::open_confirm(state),
        Command::Reject => return super::approvals::open_reject(state),
        Command::CycleSeries => {
            let all = SeriesKind::FORECAST;
            let i = all.iter().position(|k| *k == state.chart).unwrap_or(0);
            state.chart = all[(i + 1) % all.len()];
        }
    }
    true
}

pub fn update(state: &mut AppState, action: Action) -> Vec<Effect> {
    let mut effects = Vec::new();
    let changed = match action {
        Action::Key(k) if state.modal.is_some() => {
            super::approvals::modal_key(state, k, &mut effects)
        }
        Action::Key(k) => match command_for(k) {
            Some(cmd) => apply(state, cmd),
            None => false,
        },
        Action::Decided(cluster, decision) => {
            super::approvals::decided(state, *decision, &cluster);
            true
        }
        Action::Audit(cluster, rows) => {
            super::approvals::audit_loaded(state, &cluster, rows);
            true
        }
        Action::Command(cmd) => apply(state, cmd),
        Action::Fleet(f) => {
            state.set_fleet(&f);
            true
        }
        Action::ForecastProgress {
            done,
            total,
            cluster,
        } => {
            state.forecasting.running = true;
            state.forecasting.progress = Some((done, total, cluster));
            true
        }
        Action::Forecasts(id, fc) => {
            state.forecasting.error = None;
            state.set_forecast(&id, fc);
            true
        }
        Action::Plan(id, plan) => {
            state.set_plan(&id, *plan);
            true
        }
        Action::Accuracy(id, accuracy) => {
            state.set_accuracy(&id, *accuracy);
            true
        }
        Action::Models(id, models) => {
            state.set_models(&id, models);
            true
        }
        Action::ForecastsDone => {
            state.forecasting.running = false;
            state.forecasting.progress = None;
            true
        }
        Action::ForecastFailed(msg) => {
            state.forecasting.running = false;
            state.forecasting.progress = None;
            state.forecasting.error = Some(msg);
            true
        }
        Action::Tick => {
            super::approvals::tick(state);
            true
        }
        Action::Resize => true,
        Action::Shutdown => {
            state.quit = true;
            true
        }
    };
    if changed {
        effects.insert(0, Effect::Render);
    }
    if state.quit {
        effects.push(Effect::Quit);
    }
    effects
}
