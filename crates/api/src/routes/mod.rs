//! HTTP handlers, one module per area. Handlers stay thin: parse, call the store and the
//! policy, render.

pub mod accounts;
pub mod filters;
pub mod instance;
pub mod interactions;
pub mod lists;
pub mod notifications;
pub mod oauth;
pub mod pages;
pub mod preferences;
pub mod shared;
pub mod statuses;
pub mod timelines;
