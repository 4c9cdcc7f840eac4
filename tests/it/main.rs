//! The one integration-test binary (the dependency graph links once).

mod backtest_cli;
mod config;
mod e2e;
mod fake_http;
mod fixture;
mod flow;
mod forecast;
mod kube_mock;
mod kube_objects;
mod live_cloudwatch;
mod live_kube;
mod live_prometheus;
mod lstm;
mod mix;
mod models;
mod nodes;
mod peers;
mod plan;
mod prices;
mod render;
mod replay;
mod season;
mod simulate_cli;
mod spot;
mod store;
mod trees;
