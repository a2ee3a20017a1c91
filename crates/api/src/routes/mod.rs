//! HTTP handlers, one module per area. Handlers stay thin: parse, call the store and the
//! policy, render.

pub mod accounts;
pub mod admin;
pub mod blocklists;
pub mod communities;
pub mod dashboard;
pub mod filters;
pub mod instance;
pub mod interactions;
pub mod lists;
pub mod mod_log;
pub mod notifications;
pub mod oauth;
pub mod pages;
pub mod preferences;
pub mod reports;
pub mod shared;
pub mod statuses;
pub mod strikes;
pub mod timelines;
