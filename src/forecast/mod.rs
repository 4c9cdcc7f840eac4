//! Forecasting: pure functions from hourly history to banded forecasts. No
//! module here does I/O or reads the clock: saved models go through the
//! [`persist::ModelStore`] trait passed in, and the time is an argument.

pub mod accuracy;
pub mod backtest;
pub mod champion;
pub mod ensemble;
pub mod events;
pub mod features;
pub mod fleet;
pub mod forecaster;
pub mod global;
pub mod horizon;
pub mod learned;
pub mod live;
pub mod lstm;
pub mod members;
pub mod nodes;
pub mod persist;
pub mod prepared;
pub mod registry;
pub mod robust;
pub mod season;
pub mod selection;
pub mod trees;

pub use fleet::{sum_forecasts, sum_series};
pub use forecaster::{
    Forecaster, confidence, forecast_cluster, forecast_cluster_pinned, history_warning,
};
pub use horizon::{HORIZON_HOURS, origin_for};
pub use prepared::{Prepared, fingerprint, quantile};
