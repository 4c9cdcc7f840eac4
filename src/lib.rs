//! nodecast: forecast and plan the capacity of Kubernetes clusters on AWS (EKS).
//!
//! Data flows one way: sources -> store -> forecast -> app state -> view.

pub mod app;
pub mod aws;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod domain;
pub mod exec;
pub mod forecast;
pub mod group_facts;
pub mod health;
pub mod logging;
pub mod placement;
pub mod plan;
pub mod runtime;
pub mod series_csv;
pub mod setup;
pub mod snapshot;
pub mod sources;
pub mod store;
pub mod tls;
pub mod ui;
pub mod workloads;
