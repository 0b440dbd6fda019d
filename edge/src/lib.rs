//! `taishan-edge`: what every listener of Taishan puts before its routes, in one place.
//!
//! A part serves its routes; the composition hands each listener's router to
//! [`Edge::wrap`], which applies the layers that listener gets. Today that is the
//! [`auth`] check on every listener (who is asking, with the credentials of the
//! [`webconfig`], and whether the route's role in the one table allows it) and the
//! [`csrf`] check on the API address (the pages, the query, control and alerter APIs
//! under it), and the [`browser`] headers and Host check; the [`audit`] trail records
//! what callers changed. [`tls`] serves the web config's certificate on every listener.
//! No part applies a layer of its own, so no listener is forgotten.
#![forbid(unsafe_code)]

pub mod audit;
pub mod auth;
pub mod browser;
pub mod config;
pub mod csrf;
mod layers;
pub mod tls;
pub mod webconfig;

pub use auth::credentials::Credentials;
pub use auth::Authority;
pub use browser::BrowserPolicy;
pub use config::ServerConfig;
pub use csrf::CsrfGuard;
pub use layers::{Edge, ListenerKind};
pub use tls::ServerTls;
