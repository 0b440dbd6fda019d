//! `taishan-dashboards`: the web UI served by `taishan up` on the API address.
//!
//! Dashboards are code: YAML files of rows of PromQL panels ([`spec`]), validated with every
//! problem at file:line; the built-in ones and a directory of the user's own, reloaded on
//! change ([`catalog`]); each open view evaluated once per refresh on the query engine
//! ([`evaluate`]) and pushed to every page showing it ([`live`]); pages rendered with tera
//! and drawn in the browser with uPlot, both served from the binary ([`web`]).
#![forbid(unsafe_code)]

pub mod catalog;
pub mod evaluate;
pub mod grafana;
pub mod live;
pub mod spec;
pub mod views;
pub mod web;

pub use catalog::Catalog;
pub use live::LiveHub;
pub use spec::{parse_dashboard, Dashboard};
pub use web::{ui_routes, UiState};
