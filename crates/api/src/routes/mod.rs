//! HTTP handlers, one module per area. Handlers stay thin: parse, call the store and the
//! policy, render.

pub mod accounts;
pub mod admin;
pub mod aggregates;
pub mod clinicians;
pub mod communities;
pub mod conversations;
pub mod domain_blocks;
pub mod evaluations;
pub mod filters;
pub mod instance;
pub mod interactions;
pub mod lists;
pub mod mod_log;
pub mod notifications;
pub mod oauth;
pub mod pages;
pub mod polls;
pub mod preferences;
pub mod reports;
pub mod scheduled;
pub mod search;
pub mod shared;
pub mod statuses;
pub mod tags;
pub mod timelines;
