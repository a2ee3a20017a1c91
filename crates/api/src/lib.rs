//! The Mastodon-compatible client API.
//!
//! This is the only crate that knows Mastodon's JSON (issues 5 and 6): OAuth, accounts,
//! statuses, timelines, notifications, streaming, the admin API and the server-rendered
//! pages (sign-in, consent, moderation dashboard). Handlers stay thin: parse, call one
//! function of the layer below, render. Every status it renders comes from a value that
//! `cohort_policy::can_see` returned, so nothing is shown without a decision.

pub mod passwords;
