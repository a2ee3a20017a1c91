//! The audience and privacy engine: who may see a post, and who may receive it.
//!
//! Cohort's promise is that a post federates only after its audience and privacy rules have
//! been enforced, and is shown only to those entitled to it. This crate holds both gates:
//!
//! - [`can_see`], the **read gate**: every read path (timelines, a status, its context,
//!   account statuses, search, notifications, boosts, streaming, ActivityPub GETs of objects
//!   and collections) asks it, and renders only the [`Visible`] values it returns.
//! - [`plan_delivery`], the **delivery gate**: decides every candidate recipient inbox and
//!   issues [`DeliveryPermit`]s, the only values that let the federation layer send anything.
//!   Permits cannot be built, cloned or deserialised outside this crate, and carry the
//!   `to`/`cc` addressing the policy computed.
//!
//! Both gates share one set of rules (each a function with a test named after it, see
//! [`read_gate`]): a recipient receives a post exactly when, as a viewer, it could see it.
//! [`compose`] holds the rules for writing (a reply's audience never exceeds its parent's;
//! non-public posts cannot be boosted).
//!
//! The engine is pure and synchronous: it decides over [`Facts`] gathered beforehand (the
//! store loads a [`FactSet`] in bulk), so a decision costs microseconds and tests need no
//! database. It knows nothing of JSON, HTTP or SQL.

pub mod compose;
pub mod delivery;
pub mod facts;
pub mod phi;
pub mod read_gate;
pub mod rule;
pub mod urgent;

pub use compose::{
    ComposeError, audience_for_reply, check_boost, check_new_post,
    direct_messages_respect_professional_boundaries, only_members_post_in_a_community,
};
pub use delivery::{
    Addressing, DeliveryPermit, DeliveryPlan, Denial, DomainDecision, Recipient, RecordedInbox,
    Slot, Subject, plan_delivery,
};
pub use facts::{
    Audience, CommunityFacts, DomainStanding, FactSet, Facts, FederationMode, Party, PostFacts,
    Viewer,
};
pub use phi::{PhiAction, PhiOutcome, PhiRules, phi_guard_decides_before_a_post_leaves};
pub use read_gate::{AsPostFacts, Hidden, Visible, can_see, decide_view};
pub use rule::Rule;
pub use urgent::{
    ContactKind, ContactRoute, ContactRoutes, UrgentChoice, UrgentOutcome,
    clinicians_take_urgent_questions_to_a_direct_channel, crisis_posts_reach_moderators_first,
    crisis_report_comment, urgent_questions_leave_public_threads,
};
