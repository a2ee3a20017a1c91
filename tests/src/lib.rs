//! Cohort's cross-crate tests.
//!
//! - `tests/tidy.rs`: architecture checks that run as ordinary tests (rust-analyzer's
//!   "tidy" style): nothing sends to another server except the delivery module, with a
//!   permit.
//! - The multi-instance test network (issue 7) will live here: two or three real instances
//!   on loopback, federating over real HTTP with real signatures, drained with `settle()`.
//!
//! - [`harness`]: real instances over HTTP on both engines, with OAuth sign-in as a browser
//!   does it.
//!
//! [`tidy`] holds the scanner so that its own unit tests can prove it catches violations.

pub mod harness;
pub mod tidy;
