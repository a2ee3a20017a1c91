//! The Mastodon-compatible client API.
//!
//! This is the only crate that knows Mastodon's JSON (issues 5 and 6): OAuth, accounts,
//! statuses, timelines, notifications, streaming, the admin API and the server-rendered
//! pages (sign-in, consent, moderation dashboard). Handlers stay thin: parse, call the store
//! and the policy, render. Every status it renders comes from a value that
//! `cohort_policy::can_see` returned ([`routes::shared::visible_statuses`]), so nothing is
//! shown without a decision.

pub mod auth;
pub mod entities;
pub mod error;
pub mod filtering;
pub mod impersonation;
pub mod params;
pub mod passwords;
pub mod rate_limit;
pub mod routes;
pub mod state;
pub mod streaming;
pub mod text;
pub mod urgent;

use axum::Router;
use axum::routing::{delete, get, post};

pub use state::{ApiSettings, ApiState, MediaSettings, PublicModLog, RegistrationMode};

use routes::{
    accounts, admin, aggregates, blocklists, clinicians, communities, conversations, dashboard,
    domain_blocks, evaluations, filters, instance, interactions, lists, media, notifications,
    oauth, pages, polls, preferences, reports, scheduled, search, statuses, strikes, tags,
    timelines,
};

/// Every client API route.
pub fn router(state: ApiState) -> Router {
    // Routes that take files accept bodies up to the upload limit plus room for the form.
    let upload_limit =
        axum::extract::DefaultBodyLimit::max(state.media.limits.max_bytes.saturating_add(1 << 20));
    Router::new()
        // Media
        .route("/api/v1/media", post(media::upload_v1).layer(upload_limit))
        .route("/api/v2/media", post(media::upload_v2).layer(upload_limit))
        .route("/api/v1/media/{id}", get(media::show).put(media::update))
        .route("/media/{id}/{file}", get(media::serve))
        .route("/avatars/original/missing.png", get(media::default_avatar))
        .route("/headers/original/missing.png", get(media::default_header))
        // OAuth
        .route("/api/v1/apps", post(oauth::create_app))
        .route("/api/v1/apps/verify_credentials", get(oauth::verify_app))
        .route(
            "/oauth/authorize",
            get(oauth::authorize_form).post(oauth::authorize_submit),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        // Instance and start-up calls
        .route("/api/v1/instance", get(instance::v1))
        .route("/api/v2/instance", get(instance::v2))
        .route("/api/v1/preferences", get(instance::preferences))
        .route("/api/v1/custom_emojis", get(instance::empty_list))
        .route("/api/v1/announcements", get(instance::empty_list))
        .route("/api/v1/trends", get(instance::empty_list))
        .route("/api/v1/trends/tags", get(instance::empty_list))
        .route("/api/v1/trends/statuses", get(instance::empty_list))
        .route("/api/v1/instance/rules", get(instance::empty_list))
        .route(
            "/api/v1/markers",
            get(preferences::markers).post(preferences::save_markers),
        )
        // Accounts
        .route("/api/v1/accounts", post(accounts::register))
        .route(
            "/api/v1/accounts/verify_credentials",
            get(accounts::verify_credentials),
        )
        .route(
            "/api/v1/accounts/update_credentials",
            axum::routing::patch(accounts::update_credentials).layer(upload_limit),
        )
        .route(
            "/api/v1/accounts/relationships",
            get(accounts::relationships),
        )
        .route("/api/v1/accounts/lookup", get(accounts::lookup))
        .route("/api/v2/search", get(search::search))
        .route("/api/v1/accounts/{id}", get(accounts::show))
        .route("/api/v1/accounts/{id}/statuses", get(accounts::statuses))
        .route("/api/v1/accounts/{id}/follow", post(accounts::follow))
        .route("/api/v1/accounts/{id}/unfollow", post(accounts::unfollow))
        .route("/api/v1/accounts/{id}/block", post(accounts::block))
        .route("/api/v1/accounts/{id}/unblock", post(accounts::unblock))
        .route("/api/v1/accounts/{id}/followers", get(accounts::followers))
        .route("/api/v1/accounts/{id}/following", get(accounts::following))
        .route("/api/v1/follow_requests", get(accounts::follow_requests))
        .route(
            "/api/v1/follow_requests/{id}/authorize",
            post(accounts::authorize_request),
        )
        .route(
            "/api/v1/follow_requests/{id}/reject",
            post(accounts::reject_request),
        )
        // Statuses
        .route("/api/v1/statuses", post(statuses::create))
        .route(
            "/api/v1/statuses/{id}",
            get(statuses::show)
                .delete(statuses::delete)
                .put(statuses::edit),
        )
        .route("/api/v1/statuses/{id}/history", get(statuses::history))
        .route("/api/v1/statuses/{id}/source", get(statuses::source))
        .route("/api/v1/statuses/{id}/context", get(statuses::context))
        .route("/api/v1/statuses/{id}/audience", get(statuses::audience))
        .route("/api/v1/statuses/{id}/release", post(statuses::release))
        .route("/api/v1/cohort/held_statuses", get(statuses::held))
        .route(
            "/api/v1/cohort/contact_routes",
            get(routes::instance::contact_routes),
        )
        .route(
            "/api/v1/admin/cohort/audience_decisions",
            get(statuses::decisions_by_domain),
        )
        .route(
            "/api/v1/statuses/{id}/favourite",
            post(interactions::favourite),
        )
        .route(
            "/api/v1/statuses/{id}/unfavourite",
            post(interactions::unfavourite),
        )
        .route("/api/v1/statuses/{id}/reblog", post(interactions::reblog))
        .route(
            "/api/v1/statuses/{id}/unreblog",
            post(interactions::unreblog),
        )
        .route(
            "/api/v1/statuses/{id}/bookmark",
            post(interactions::bookmark),
        )
        .route(
            "/api/v1/statuses/{id}/unbookmark",
            post(interactions::unbookmark),
        )
        .route(
            "/api/v1/statuses/{id}/favourited_by",
            get(interactions::favourited_by),
        )
        .route(
            "/api/v1/statuses/{id}/reblogged_by",
            get(interactions::reblogged_by),
        )
        .route("/api/v1/favourites", get(interactions::favourites))
        .route("/api/v1/bookmarks", get(interactions::bookmarks))
        .route("/api/v1/statuses/{id}/pin", post(preferences::pin))
        .route("/api/v1/statuses/{id}/unpin", post(preferences::unpin))
        .route("/api/v1/accounts/{id}/mute", post(preferences::mute))
        .route("/api/v1/accounts/{id}/unmute", post(preferences::unmute))
        // Notifications
        .route(
            "/api/v1/communities",
            get(communities::index).post(communities::create),
        )
        .route("/api/v1/directory", get(communities::directory))
        .route("/api/v1/mutes", get(preferences::mutes))
        .route("/api/v1/blocks", get(preferences::blocks))
        .route("/api/v1/cohort/mod_log", get(routes::mod_log::public_log))
        .route(
            "/api/v1/communities/{id}",
            get(communities::show)
                .patch(communities::update)
                .layer(upload_limit),
        )
        .route(
            "/api/v1/communities/{id}/members",
            get(communities::members),
        )
        .route(
            "/api/v1/communities/{id}/join_requests",
            get(communities::join_requests),
        )
        .route(
            "/api/v1/communities/{id}/join_requests/{account_id}/authorize",
            post(communities::authorize_request),
        )
        .route(
            "/api/v1/communities/{id}/join_requests/{account_id}/reject",
            post(communities::reject_request),
        )
        .route(
            "/api/v1/communities/{id}/invites",
            post(communities::create_invite),
        )
        .route("/api/v1/communities/{id}/join", post(communities::join))
        .route("/api/v1/communities/{id}/leave", post(communities::leave))
        .route(
            "/api/v1/communities/{id}/moderators",
            get(communities::moderators).post(communities::add_moderator),
        )
        .route(
            "/api/v1/communities/{id}/moderators/{account_id}",
            delete(communities::remove_moderator),
        )
        .route(
            "/api/v1/communities/{id}/reports",
            get(communities::reports),
        )
        .route(
            "/api/v1/communities/{id}/reports/{report_id}/resolve",
            post(communities::resolve_report),
        )
        .route("/api/v1/communities/{id}/bans", post(communities::ban))
        .route(
            "/api/v1/communities/{id}/bans/{account_id}",
            delete(communities::unban),
        )
        .route(
            "/api/v1/communities/{id}/statuses",
            get(communities::statuses),
        )
        .route(
            "/api/v1/communities/{id}/statuses/{status_id}",
            delete(communities::remove_status),
        )
        .route(
            "/api/v1/communities/{id}/statuses/{status_id}/pin",
            post(communities::pin),
        )
        .route(
            "/api/v1/communities/{id}/statuses/{status_id}/unpin",
            post(communities::unpin),
        )
        .route("/api/v1/communities/{id}/aggregates", get(aggregates::show))
        // Treatment evaluations (docs/EVALUATIONS.md)
        .route(
            "/api/v1/cohort/evaluations",
            get(evaluations::index).post(evaluations::create),
        )
        .route(
            "/api/v1/cohort/evaluations/{id}",
            get(evaluations::show)
                .patch(evaluations::update)
                .delete(evaluations::delete),
        )
        .route(
            "/api/v1/cohort/vocabularies/{name}",
            get(evaluations::vocabulary),
        )
        .route("/api/v1/notifications", get(notifications::list))
        .route("/api/v1/notifications/clear", post(notifications::clear))
        .route("/api/v1/notifications/{id}", get(notifications::show))
        .route(
            "/api/v1/notifications/{id}/dismiss",
            post(notifications::dismiss),
        )
        // Timelines
        .route("/api/v1/timelines/home", get(timelines::home))
        .route("/api/v1/timelines/public", get(timelines::public))
        .route("/api/v1/timelines/tag/{hashtag}", get(timelines::tag))
        // Reports and the admin API (moderators)
        .route("/api/v1/reports", post(reports::create))
        .route("/api/v1/admin/reports", get(admin::reports))
        .route("/api/v1/admin/reports/{id}", get(admin::report))
        .route(
            "/api/v1/admin/reports/{id}/assign_to_self",
            post(admin::assign_to_self),
        )
        .route("/api/v1/admin/reports/{id}/unassign", post(admin::unassign))
        .route("/api/v1/admin/reports/{id}/resolve", post(admin::resolve))
        .route("/api/v1/admin/reports/{id}/reopen", post(admin::reopen))
        .route("/api/v1/admin/accounts", get(admin::accounts_v1))
        .route("/api/v2/admin/accounts", get(admin::accounts_v2))
        .route("/api/v1/admin/accounts/{id}", get(admin::account))
        .route(
            "/api/v1/admin/accounts/{id}/action",
            post(admin::account_action),
        )
        .route("/api/v1/admin/accounts/{id}/approve", post(admin::approve))
        .route("/api/v1/admin/accounts/{id}/reject", post(admin::reject))
        .route("/api/v1/admin/accounts/{id}/enable", post(admin::enable))
        .route(
            "/api/v1/admin/accounts/{id}/unsilence",
            post(admin::unsilence),
        )
        .route(
            "/api/v1/admin/accounts/{id}/unsuspend",
            post(admin::unsuspend),
        )
        .route(
            "/api/v1/admin/accounts/{id}/unsensitive",
            post(admin::unsensitive),
        )
        .route(
            "/api/v1/admin/domain_blocks",
            get(admin::domain_blocks).post(admin::create_domain_block),
        )
        .route(
            "/api/v1/admin/domain_blocks/{id}",
            get(admin::domain_block)
                .put(admin::update_domain_block)
                .delete(admin::delete_domain_block),
        )
        .route(
            "/api/v1/admin/domain_allows",
            get(admin::domain_allows).post(admin::create_domain_allow),
        )
        .route(
            "/api/v1/admin/domain_allows/{id}",
            get(admin::domain_allow).delete(admin::delete_domain_allow),
        )
        .route(
            "/api/v1/admin/cohort/reports/{id}/forward",
            post(admin::forward),
        )
        .route("/api/v1/admin/cohort/mod_log", get(admin::mod_log))
        .route(
            "/api/v1/admin/cohort/clinicians/{id}/verification",
            post(clinicians::verify)
                .get(clinicians::show)
                .delete(clinicians::revoke),
        )
        // Blocklist CSV export and reviewed imports (docs/MODERATION.md)
        .route(
            "/api/v1/admin/cohort/domain_blocks/export",
            get(blocklists::export),
        )
        .route(
            "/api/v1/admin/cohort/domain_blocks/imports",
            get(blocklists::imports).post(blocklists::create_import),
        )
        .route(
            "/api/v1/admin/cohort/domain_blocks/imports/{id}",
            get(blocklists::import),
        )
        .route(
            "/api/v1/admin/cohort/domain_blocks/imports/{id}/confirm",
            post(blocklists::confirm_import),
        )
        .route(
            "/api/v1/admin/cohort/domain_blocks/imports/{id}/discard",
            post(blocklists::discard_import),
        )
        // Subscriptions to shared blocklists (docs/MODERATION.md)
        .route(
            "/api/v1/admin/blocklist_subscriptions",
            get(blocklists::subscriptions).post(blocklists::create_subscription),
        )
        .route(
            "/api/v1/admin/blocklist_subscriptions/{id}",
            get(blocklists::subscription).delete(blocklists::delete_subscription),
        )
        .route(
            "/api/v1/admin/blocklist_subscriptions/{id}/refresh",
            post(blocklists::refresh),
        )
        // Strikes and appeals (docs/MODERATION.md)
        .route("/api/v1/cohort/strikes", get(strikes::mine))
        .route("/api/v1/cohort/strikes/{id}", get(strikes::one))
        .route("/api/v1/cohort/strikes/{id}/appeal", post(strikes::appeal))
        .route("/api/v1/admin/cohort/appeals", get(strikes::appeals))
        .route(
            "/api/v1/admin/cohort/appeals/{id}/approve",
            post(strikes::approve),
        )
        .route(
            "/api/v1/admin/cohort/appeals/{id}/reject",
            post(strikes::reject),
        )
        .route("/api/v1/timelines/list/{id}", get(timelines::list))
        // Polls, scheduled statuses, conversations, tags, endorsements, domain blocks
        .route("/api/v1/polls/{id}", get(polls::show))
        .route("/api/v1/polls/{id}/votes", post(polls::vote))
        .route("/api/v1/scheduled_statuses", get(scheduled::index))
        .route(
            "/api/v1/scheduled_statuses/{id}",
            get(scheduled::show)
                .put(scheduled::update)
                .delete(scheduled::delete),
        )
        .route("/api/v1/conversations", get(conversations::index))
        .route("/api/v1/conversations/{id}", delete(conversations::delete))
        .route("/api/v1/conversations/{id}/read", post(conversations::read))
        .route("/api/v1/followed_tags", get(tags::followed))
        .route("/api/v1/tags/{name}", get(tags::show))
        .route("/api/v1/tags/{name}/follow", post(tags::follow))
        .route("/api/v1/tags/{name}/unfollow", post(tags::unfollow))
        .route(
            "/api/v1/featured_tags",
            get(tags::featured).post(tags::feature),
        )
        .route("/api/v1/featured_tags/suggestions", get(tags::suggestions))
        .route("/api/v1/featured_tags/{id}", delete(tags::unfeature))
        .route(
            "/api/v1/accounts/{id}/featured_tags",
            get(tags::featured_of_account),
        )
        .route("/api/v1/endorsements", get(tags::endorsements))
        .route(
            "/api/v1/accounts/{id}/endorsements",
            get(tags::endorsements_of_account),
        )
        .route("/api/v1/accounts/{id}/pin", post(tags::endorse))
        .route("/api/v1/accounts/{id}/unpin", post(tags::unendorse))
        .route(
            "/api/v1/domain_blocks",
            post(domain_blocks::create)
                .get(domain_blocks::index)
                .delete(domain_blocks::delete),
        )
        // Lists
        .route("/api/v1/lists", get(lists::index).post(lists::create))
        .route(
            "/api/v1/lists/{id}",
            get(lists::show).put(lists::update).delete(lists::delete),
        )
        .route(
            "/api/v1/lists/{id}/accounts",
            post(lists::add_members)
                .get(lists::members)
                .delete(lists::remove_members),
        )
        .route("/api/v1/accounts/{id}/lists", get(lists::of_account))
        // Filters (v2, and v1 mapped onto v2). Mastodon routes one keyword or status at
        // /api/v2/filters/{keywords,statuses}/:id; the /api/v2/filter_{keywords,statuses}/:id
        // spellings answer too.
        .route("/api/v2/filters", get(filters::index).post(filters::create))
        .route(
            "/api/v2/filters/{id}",
            get(filters::show)
                .put(filters::update)
                .delete(filters::delete),
        )
        .route(
            "/api/v2/filters/{id}/keywords",
            get(filters::keywords).post(filters::add_keyword),
        )
        .route(
            "/api/v2/filters/keywords/{id}",
            get(filters::show_keyword)
                .put(filters::update_keyword)
                .delete(filters::delete_keyword),
        )
        .route(
            "/api/v2/filter_keywords/{id}",
            get(filters::show_keyword)
                .put(filters::update_keyword)
                .delete(filters::delete_keyword),
        )
        .route(
            "/api/v2/filters/{id}/statuses",
            get(filters::statuses).post(filters::add_status),
        )
        .route(
            "/api/v2/filters/statuses/{id}",
            get(filters::show_status).delete(filters::delete_status),
        )
        .route(
            "/api/v2/filter_statuses/{id}",
            get(filters::show_status).delete(filters::delete_status),
        )
        .route(
            "/api/v1/filters",
            get(filters::v1_index).post(filters::v1_create),
        )
        .route(
            "/api/v1/filters/{id}",
            get(filters::v1_show)
                .put(filters::v1_update)
                .delete(filters::v1_delete),
        )
        .merge(streaming::routes())
        // Pages for browsers
        .route("/@{username}", get(pages::profile))
        .route("/@{username}/{id}", get(pages::status))
        .route("/about", get(pages::about))
        .route("/communities/{name}/aggregates", get(aggregates::page))
        // The moderator dashboard (server-rendered; docs/MODERATION.md)
        .route("/admin", get(dashboard::home))
        .route(
            "/admin/login",
            get(dashboard::login_form).post(dashboard::login),
        )
        .route("/admin/logout", post(dashboard::logout))
        .route("/admin/reports", get(dashboard::reports))
        .route("/admin/reports/{id}", get(dashboard::report_page))
        .route("/admin/reports/{id}/action", post(dashboard::report_action))
        .route(
            "/admin/reports/{id}/resolve",
            post(dashboard::report_resolve),
        )
        .route("/admin/reports/{id}/assign", post(dashboard::report_assign))
        .route("/admin/appeals", get(dashboard::appeals))
        .route(
            "/admin/appeals/{id}/approve",
            post(dashboard::approve_appeal),
        )
        .route("/admin/appeals/{id}/reject", post(dashboard::reject_appeal))
        .route("/admin/domain_blocks", get(dashboard::domain_blocks))
        .route("/admin/domain_blocks/export", get(dashboard::export))
        .route(
            "/admin/domain_blocks/import",
            post(dashboard::import_submit),
        )
        .route(
            "/admin/domain_blocks/imports/{id}",
            get(dashboard::import_page),
        )
        .route(
            "/admin/domain_blocks/imports/{id}/confirm",
            post(dashboard::confirm_import),
        )
        .route(
            "/admin/domain_blocks/imports/{id}/discard",
            post(dashboard::discard_import),
        )
        .route("/admin/mod_log", get(dashboard::mod_log))
        .layer(axum::middleware::from_fn_with_state(
            rate_limit::RateLimiter::new(
                state.settings.rate_limit,
                state.settings.anonymous_rate_limit,
                state.settings.trusted_proxies.clone(),
            ),
            rate_limit::limit_requests,
        ))
        .with_state(state)
}
