//! Moderation: reports, moderator actions, domain blocks, strikes and the mod log.
//!
//! This crate will own the moderation workflow (issue 9): turning a report into a decision,
//! applying actions (warn, limit, suspend, domain blocks with severities, blocklist imports),
//! recording each in the mod log, and notifying those concerned. It *changes facts* in the
//! store; it never sends anything (delivery goes through `cohort-policy`'s permits, in
//! `cohort-federation`) and never decides visibility (that is `cohort-policy::can_see`).
//! The base tables it will use (`reports`, `mod_log`, `domain_policies`) already exist in the
//! first migration.
