//! Cohort's storage: one interface over SQLite and PostgreSQL.
//!
//! SQLite is the embedded default (one file, WAL, foreign keys on, a busy timeout, and a
//! single writer connection so that writers queue in the pool instead of failing with
//! `SQLITE_BUSY`); PostgreSQL serves deployments where several `cohort` processes share one
//! database. Both run the same queries through sqlx's `Any` driver: the SQL is written once,
//! with `$1`-style placeholders that both engines accept, and the few statements that must
//! differ (queue claims with `FOR UPDATE SKIP LOCKED`) branch on [`Engine`].
//!
//! Migrations are embedded in the binary (`migrations/sqlite` and `migrations/postgres`, the
//! same schema in each dialect) and applied at start, each in its own transaction, so a
//! failing migration leaves the database at the previous version.
//!
//! Conventions that hold for every table: ids are time-ordered i64 issued here
//! ([`Store::next_id`]); times are Unix milliseconds; flags are `BOOLEAN` on PostgreSQL and
//! `INTEGER` 0/1 on SQLite, read through [`row::flag`].

mod accounts;
mod audience;
mod bench_seed;
mod communities;
mod db;
mod delivery;
mod error;
mod filters;
mod ids;
mod inbox;
mod interactions;
mod lists;
mod moderation;
mod oauth;
mod outbox;
mod preferences;
mod relations;
mod reports;
mod row;
mod sql;
mod statuses;
mod stream;
#[cfg(feature = "testing")]
pub mod testing;
mod timelines;

pub use accounts::{AccountCounts, AccountRecord, NewLocalAccount, ProfileUpdate};
pub use audience::StoredDecision;
pub use bench_seed::{SeededTimeline, TimelineSeed};
pub use communities::{
    CommunityRecord, CommunityUpdate, InviteRecord, JOIN_REQUESTS_PER_HOUR, JoinOutcome,
    MemberRecord, MemberState, NewLocalCommunity,
};
pub use db::{DatabaseSettings, Engine, PoolStats, Store, mask_password};
pub use delivery::{
    DeliveryActor, DomainDeliveryState, FailureOutcome, MAX_BACKOFF_MS, PLANNER_LOOKBACK_MS,
    QueuedDelivery, UNREACHABLE_AFTER_MS, backoff_ms,
};
pub use error::StoreError;
pub use filters::{
    FilterAction, FilterContext, FilterFields, FilterKeyword, FilterRecord, FilterStatus,
    KeywordChanges, NewKeyword,
};
pub use ids::now_ms;
pub use inbox::{INBOX_MAX_ATTEMPTS, InboxItem, LocalActorProfile, RemoteKey};
pub use interactions::{NotificationRecord, StatusCounts, ViewerMarks};
pub use lists::{ListFields, ListMemberError, ListRecord, RepliesPolicy};
pub use moderation::{
    AccountModeration, AccountState, AdminAccountFilter, DomainBlockRecord, DomainBlockWrite,
    ModLogEntry, ModerationState,
};
pub use oauth::{AccessToken, AuthorizationCode, CodeProblem, OAuthApp};
pub use outbox::{NewOutboxEvent, OutboxDepth, OutboxEvent, OutboxKind};
pub use preferences::Marker;
pub use relations::{DomainPolicy, FollowState, NewCommunity, NewRemoteAccount, Relationship};
pub use reports::{NewReport, ReportFilter, ReportRecord};
pub use statuses::{MAX_ANCESTORS, NewStatus, StatusEdit, StatusRecord, StatusVersion};
pub use stream::{STREAM_CHANNEL, StatusRouting, StreamEvent, StreamEventKind};
pub use timelines::{Page, PublicScope};
