//! Text screens that read a post and explain what they found.
//!
//! Two screens live here, both fast, explainable rule engines (regex sets, dictionaries shipped
//! as data with their sources, context cues) rather than opaque models:
//!
//! - [`phi`]: the PHI guard's detectors. They find HIPAA Safe Harbor identifiers and decide
//!   whether a post identifies a patient other than its author in connection with care.
//! - [`urgent`]: the urgent-question router's classifier. It recognises possible emergencies,
//!   crises and sensitive questions about one's own care addressed to a clinician.
//!
//! This crate only *reads text*. What happens to a post that a screen flags (held, narrowed,
//! routed) is decided by the audience engine in `cohort-policy`, which depends on this crate.
//! Both screens must run in bounded, linear time on any input: the `regex` crate guarantees
//! that, and no backtracking engine may be added.

pub mod phi;
pub mod titles;
pub mod urgent;
