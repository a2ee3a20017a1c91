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
mod blocklists;
mod clinicians;
mod communities;
mod conversations;
mod db;
mod delivery;
mod domain_blocks;
mod error;
mod evaluation_seed;
mod evaluations;
mod filters;
mod ids;
mod inbox;
mod inbox_posts;
mod interactions;
mod lists;
mod media;
mod moderation;
mod oauth;
mod outbox;
mod polls;
mod preferences;
mod profiles;
mod relations;
mod reports;
mod row;
mod scheduled;
mod search;
mod sql;
mod statuses;
mod stream;
mod strikes;
mod subscriptions;
mod tags;
#[cfg(feature = "testing")]
pub mod testing;
mod timelines;

pub use accounts::{AccountCounts, AccountRecord, NewLocalAccount, ProfileUpdate};
pub use audience::StoredDecision;
pub use bench_seed::{SeededTimeline, TimelineSeed};
pub use blocklists::{AppliedImport, BlockImportRecord};
pub use clinicians::{ClinicianBadge, ClinicianVerification, NewVerification, RemoteAttestation};
pub use communities::{
    CommunityRecord, CommunityUpdate, InviteRecord, JOIN_REQUESTS_PER_HOUR, JoinOutcome,
    MemberRecord, MemberState, NewLocalCommunity, RemovalNotice,
};
pub use conversations::ConversationRecord;
pub use db::{DatabaseSettings, Engine, PoolStats, Store, mask_password};
pub use delivery::{
    DeliveryActor, DeliveryCompletion, DomainDeliveryState, FailureOutcome, MAX_BACKOFF_MS,
    PLANNER_LOOKBACK_MS, QueuedDelivery, UNREACHABLE_AFTER_MS, backoff_ms,
};
pub use error::StoreError;
pub use evaluation_seed::EvaluationSeed;
pub use evaluations::{
    CommunityAggregates, EvaluationFilter, EvaluationPlacement, EvaluationRecord,
};
pub use filters::{
    FilterAction, FilterContext, FilterFields, FilterKeyword, FilterRecord, FilterStatus,
    KeywordChanges, NewKeyword,
};
pub use ids::now_ms;
pub use inbox::{INBOX_MAX_ATTEMPTS, InboxItem, LocalActorProfile, NewInboxActivity, RemoteKey};
pub use inbox_posts::{KnownStatus, RemoteAuthorFacts, RemotePost};
pub use interactions::{NotificationRecord, StatusCounts, TagQuery, ViewerMarks};
pub use lists::{ListFields, ListMemberError, ListRecord, RepliesPolicy};
pub use media::{
    INTERRUPTED_UPLOAD, MAX_ATTACHMENTS, MediaFiles, MediaPurpose, MediaRecord, MediaState,
    NewRemoteMedia, NewUpload, PostMedia,
};
pub use moderation::{
    AccountModeration, AccountState, AdminAccountFilter, DomainBlockRecord, DomainBlockWrite,
    ModLogEntry, ModerationState,
};
pub use oauth::{AccessToken, AuthorizationCode, CodeProblem, OAuthApp};
pub use outbox::{NewOutboxEvent, OutboxDepth, OutboxEvent, OutboxKind};
pub use polls::{
    EndedPoll, MAX_POLL_OPTION_CHARS, MAX_POLL_OPTIONS, NewPoll, PollRecord, VoteError,
};
pub use preferences::Marker;
pub use profiles::{
    MAX_PROFILE_FIELDS, PostingDefaults, ProfileDetails, ProfileDetailsUpdate, ProfileField,
    RemoteProfile,
};
pub use relations::{DomainPolicy, FollowState, NewCommunity, NewRemoteAccount, Relationship};
pub use reports::{NewReport, ReportFilter, ReportRecord};
pub use scheduled::{MAX_SCHEDULED_STATUSES, ScheduledStatusRecord};
pub use search::{StatusSearch, search_words};
pub use statuses::{MAX_ANCESTORS, NewStatus, StatusEdit, StatusRecord, StatusVersion};
pub use stream::{STREAM_CHANNEL, StatusRouting, StreamEvent, StreamEventKind};
pub use strikes::{AppealRecord, NewStrike, SUSPENSION_GRACE_MS, StrikeRecord};
pub use subscriptions::{NewSubscription, SubscriptionRecord};
pub use tags::{FeaturedTagRecord, FollowedTag, TagDay};
pub use timelines::{Page, PublicScope};
