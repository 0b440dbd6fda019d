//! `taishan-edge`: what every listener of Taishan puts before its routes, in one place.
//!
//! A part serves its routes; the composition hands each listener's router to
//! [`Edge::wrap`], which applies the layers that listener gets. Today that is the
//! [`csrf`] check on the API address (the pages, the query, control and alerter APIs
//! under it); authentication and roles, request limits and security headers join here,
//! so no part applies a layer of its own and no listener is forgotten.
#![forbid(unsafe_code)]

pub mod config;
pub mod csrf;
mod layers;

pub use config::ServerConfig;
pub use csrf::CsrfGuard;
pub use layers::{Edge, ListenerKind};
