//! A cluster's tab: overview above, forecast below.

use super::accuracy::AccuracyPane;
use super::actions::ActionsPane;
use super::cost::CostPane;
use super::forecast::ForecastPane;
use super::needed::{self, NeededPane};
use super::overview::{OverviewPane, height_for};
use super::plan::PlanPane;
use crate::app::AppState;
use crate::app::state::LowerPane;
use crate::ui::theme::Theme;
use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Widget;

pub struct ClusterScreen<'a> {
    pub state: &'a AppState,
    pub index: usize,
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
}

impl Widget for ClusterScreen<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some(cluster) = self.state.clusters.get(self.index) else {
            return;
        };
        let view = &cluster.view;
        let snapshot = view.latest.as_ref();
        let groups = snapshot.map(|s| s.node_groups.len()).unwrap_or(1);
        let plan = cluster.plan.as_ref();
        // The nodes-needed pane only where the chart keeps 14 rows.
        let needed_h = needed::height_for(groups);
        let needed_h = if area.height >= height_for(snapshot) + needed_h + 14 {
            needed_h
        } else {
            0
        };
        let [top, middle, bottom] = Layout::vertical([
            Constraint::Length(height_for(snapshot)),
            Constraint::Length(needed_h),
            Constraint::Min(8),
        ])
        .areas(area);
        OverviewPane {
            snapshot,
            region: &view.region,
            theme: self.theme,
            moves_floor: cluster.limits.autoscaler,
            sources: &view.sources,
        }
        .render(top, buf);
        NeededPane {
            needs: plan.map(|p| p.needs.as_slice()),
            headroom: plan.map(|p| p.headroom).unwrap_or_default(),
            theme: self.theme,
        }
        .render(middle, buf);
        let series = self.state.chart;
        match self.state.pane {
            LowerPane::Forecast => ForecastPane {
                series,
                history: view.history.get(&series),
                forecast: cluster.forecast.get(&series),
                note: "",
                events: cluster
                    .events
                    .get(&series)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                theme: self.theme,
                now: self.now,
            }
            .render(bottom, buf),
            LowerPane::Plan => PlanPane {
                plan,
                decisions: &cluster.decisions,
                selected: self.state.selected,
                theme: self.theme,
                now: self.now,
            }
            .render(bottom, buf),
            LowerPane::Actions => ActionsPane {
                tab: cluster,
                theme: self.theme,
            }
            .render(bottom, buf),
            LowerPane::Accuracy => AccuracyPane {
                series,
                record: cluster.accuracy.get(&series),
                models: cluster.models.get(&series),
                theme: self.theme,
                now: self.now,
            }
            .render(bottom, buf),
            LowerPane::Cost => CostPane {
                plan,
                theme: self.theme,
            }
            .render(bottom, buf),
        }
    }
}
