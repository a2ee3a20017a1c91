//! ActivityPub for Cohort.
//!
//! This is the only crate that knows ActivityStreams JSON and the only one that talks to other
//! servers (issue 7): WebFinger, NodeInfo, actors, objects and collections, the inbox with its
//! signature and origin checks, signed fetches, and the delivery workers that walk the durable
//! outbox. Every outgoing request is made with a `DeliveryPermit` from `cohort-policy`, and
//! every object served passes `cohort_policy::can_see`; this crate never decides an audience.
//! It depends on `activitypub_federation` (axum integration) and
//! `http-signature-normalization`, pinned in the workspace manifest.
//!
//! Modules: the shape of local actor URLs ([`urls`]), actor key generation ([`keys`]),
//! discovery, served objects and signed fetches ([`http`]), the inbox and its processor
//! ([`inbox`], with the FEP-1b12 community rules in `inbox/community.rs`), ActivityStreams
//! rendering of what Cohort sends ([`render`]), what a community's Group does for posts
//! written here ([`communities`]), and the durable, signed, permit-gated delivery pipeline
//! ([`delivery`]: the only module that sends).

pub mod aggregates;
pub mod attestation;
mod batch;
pub mod communities;
pub mod delivery;
pub mod http;
pub mod inbox;
pub mod keys;
pub mod render;
pub mod urls;

pub use delivery::{
    Delivery, DeliveryConfig, DeliveryError, DeliveryHandle, DeliveryStats, expire_due_statuses,
};
pub use http::{FederationConfig, FederationError, FederationState, router};
pub use inbox::{InboxProcessor, InboxProcessorHandle};
