//! The `cohort` binary's library half: configuration, the command line, wiring of the HTTP
//! application, operational endpoints and background tasks.
//!
//! Everything with a rule in it lives in the crates below; this crate only reads settings,
//! opens the store, builds the router and runs it. It is a library as well as a binary so
//! that the test network in `tests/` can start real instances in one process.

pub mod admin;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod error;
pub mod eval;
pub mod logging;
pub mod metrics;
pub mod serve;

pub use error::RunError;
