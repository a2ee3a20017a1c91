//! Mastodon's JSON entities. Every documented key is present (null or empty when unknown):
//! clients crash on missing keys. A [`Status`] can only be rendered from a
//! [`cohort_policy::Visible`] value: nothing is shown without the read gate's decision.

use cohort_model::Visibility;
use cohort_policy::Visible;
use cohort_store::{AccountCounts, AccountRecord, ClinicianBadge, ProfileDetails, StatusRecord};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::state::ApiState;

/// RFC 3339 with milliseconds, UTC: `2024-05-01T00:29:32.391Z`.
pub fn datetime(unix_ms: i64) -> String {
    let nanos = i128::from(unix_ms) * 1_000_000;
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return "1970-01-01T00:00:00.000Z".to_owned();
    };
    let t = t
        .replace_nanosecond((t.nanosecond() / 1_000_000) * 1_000_000)
        .unwrap_or(t);
    let formatted = t.format(&Rfc3339).unwrap_or_default();
    // Rfc3339 drops trailing zero fractions; clients expect exactly three digits.
    match formatted.split_once('.') {
        Some((head, _)) => format!("{head}.{:03}Z", t.millisecond()),
        None => format!(
            "{}.{:03}Z",
            formatted.trim_end_matches('Z'),
            t.millisecond()
        ),
    }
}

/// A plain date (`2024-05-01`), as `last_status_at` is.
pub fn date(unix_ms: i64) -> String {
    datetime(unix_ms).chars().take(10).collect()
}

/// The Mastodon spelling of a visibility, and whether it is local-only.
pub fn visibility_name(visibility: Visibility) -> &'static str {
    match visibility {
        Visibility::Public => "public",
        Visibility::Unlisted => "unlisted",
        Visibility::Followers => "private",
        Visibility::Direct => "direct",
        Visibility::Community => "community",
        Visibility::Local => "local",
    }
}

/// The visibility of a new post whose client named none: the account's choice, else public
/// (followers-only for a locked account, as Mastodon).
pub fn default_visibility(
    account: &cohort_store::AccountRecord,
    posting: &cohort_store::PostingDefaults,
) -> Visibility {
    posting.visibility.unwrap_or(if account.locked {
        Visibility::Followers
    } else {
        Visibility::Public
    })
}

/// Where the default avatar is served (never an empty URL: clients crash on one).
pub const DEFAULT_AVATAR_PATH: &str = "/avatars/original/missing.png";
/// Where the default header is served.
pub const DEFAULT_HEADER_PATH: &str = "/headers/original/missing.png";

/// An account's stored image reference as an absolute URL: a path served here gets the
/// base URL, a remote URL stays as it is, nothing stays nothing.
fn image_url(base: &str, stored: Option<&str>) -> Option<String> {
    match stored.filter(|s| !s.is_empty())? {
        path if path.starts_with('/') => Some(format!("{base}{path}")),
        url => Some(url.to_owned()),
    }
}

/// The path a stored media file is served at: `/media/ID/original.jpg`.
pub fn media_path(media: cohort_model::Id, key: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or(key);
    format!("/media/{media}/{file}")
}

/// Mastodon's MediaAttachment entity. A processing upload has `url: null`; remote media are
/// served from here (`/media/ID/remote`, fetched from the origin for whoever may see the
/// post), with the origin's address as `remote_url`. A remote file of type `unknown` (any
/// kind apps cannot show, and every attachment from a domain blocked with `reject_media`) is
/// neither fetched nor previewed: apps show the origin's address as a link.
pub fn render_media(base_url: &str, media: &cohort_store::MediaRecord) -> Value {
    let local = media.remote_url.is_none();
    let (url, preview_url) = match (&media.files, &media.remote_url) {
        (_, Some(remote)) if media.kind == "unknown" => (Some(remote.clone()), None),
        (_, Some(_)) => {
            let here = format!("{base_url}/media/{}/remote", media.id);
            (Some(here.clone()), Some(here))
        }
        (Some(files), None) => (
            Some(format!(
                "{base_url}{}",
                media_path(media.id, &files.original_key)
            )),
            Some(format!(
                "{base_url}{}",
                media_path(media.id, &files.small_key)
            )),
        ),
        (None, None) => (None, None),
    };
    let dimensions = |width: i64, height: i64| {
        if width <= 0 || height <= 0 {
            return Value::Null;
        }
        json!({
            "width": width,
            "height": height,
            "size": format!("{width}x{height}"),
            "aspect": width as f64 / height as f64,
        })
    };
    let meta = match &media.files {
        Some(files) => json!({
            "original": dimensions(files.width, files.height),
            "small": dimensions(files.small_width, files.small_height),
            "focus": { "x": media.focus.0, "y": media.focus.1 },
        }),
        None => json!({ "focus": { "x": media.focus.0, "y": media.focus.1 } }),
    };
    let blurhash = media
        .files
        .as_ref()
        .map(|f| f.blurhash.clone())
        .filter(|b| !b.is_empty());
    json!({
        "id": media.id.to_string(),
        "type": media.kind,
        "url": url,
        "preview_url": preview_url,
        "remote_url": if local { Value::Null } else { json!(media.remote_url) },
        "preview_remote_url": null,
        "text_url": null,
        "meta": meta,
        "description": if media.description.is_empty() { Value::Null } else { json!(media.description) },
        "blurhash": blurhash,
    })
}

/// The Account entity.
#[derive(Debug, Serialize)]
pub struct Account {
    id: String,
    username: String,
    acct: String,
    display_name: String,
    locked: bool,
    bot: bool,
    discoverable: bool,
    indexable: bool,
    group: bool,
    created_at: String,
    note: String,
    url: String,
    uri: String,
    avatar: String,
    avatar_static: String,
    header: String,
    header_static: String,
    followers_count: i64,
    following_count: i64,
    statuses_count: i64,
    last_status_at: Option<String>,
    hide_collections: bool,
    noindex: bool,
    emojis: Vec<Value>,
    roles: Vec<Value>,
    fields: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Value>,
}

impl Account {
    /// Renders an account with its counts, without the profile details (bio, fields).
    pub fn render(state: &ApiState, account: &AccountRecord, counts: AccountCounts) -> Account {
        Self::render_with_profile(state, account, counts, &ProfileDetails::default())
    }

    /// Renders an account with its counts and profile details. A local person's bio and
    /// field values are plain text, rendered here as safe HTML; a remote one's were sanitized
    /// when they arrived.
    pub fn render_with_profile(
        state: &ApiState,
        account: &AccountRecord,
        counts: AccountCounts,
        profile: &ProfileDetails,
    ) -> Account {
        let base = &state.settings.base_url;
        let local = account.domain.is_none();
        let url = match &account.domain {
            None => format!("{base}/@{}", account.username),
            Some(_) => account.actor_uri.clone(),
        };
        let avatar = image_url(base, account.avatar_url.as_deref())
            .unwrap_or_else(|| format!("{base}{DEFAULT_AVATAR_PATH}"));
        let header = image_url(base, account.header_url.as_deref())
            .unwrap_or_else(|| format!("{base}{DEFAULT_HEADER_PATH}"));
        // A community's description is stored as safe HTML already (routes/communities.rs).
        let as_html = |text: &str| {
            if !local || account.is_group {
                text.to_owned()
            } else if text.is_empty() {
                String::new()
            } else {
                crate::text::to_html(text, &[], &|tag| format!("{base}/tags/{tag}"))
            }
        };
        let fields = profile
            .fields
            .iter()
            .map(|field| {
                json!({
                    "name": field.name,
                    "value": if local {
                        crate::text::field_value_html(&field.value, &|tag| format!("{base}/tags/{tag}"))
                    } else {
                        field.value.clone()
                    },
                    "verified_at": field.verified_at.map(datetime),
                })
            })
            .collect();
        Account {
            id: account.id.to_string(),
            username: account.username.clone(),
            acct: account.acct(),
            display_name: account.display_name.clone(),
            locked: account.locked,
            bot: account.bot,
            discoverable: profile.discoverable,
            indexable: profile.indexable,
            group: account.is_group,
            created_at: datetime(account.created_at),
            note: as_html(&profile.note),
            url,
            uri: account.actor_uri.clone(),
            avatar: avatar.clone(),
            avatar_static: avatar,
            header: header.clone(),
            header_static: header,
            followers_count: counts.followers,
            following_count: counts.following,
            statuses_count: counts.statuses,
            last_status_at: counts.last_status_at.map(date),
            hide_collections: profile.hide_collections,
            noindex: !profile.indexable,
            emojis: Vec::new(),
            roles: Vec::new(),
            fields,
            source: None,
            role: None,
        }
    }

    /// Shows a valid clinician verification: a `roles` badge (Mastodon 4.x apps show it next
    /// to the name) and a profile field with `verified_at` (apps show it with a check mark),
    /// both placed first. Rendered apart from other profile fields so that code adding
    /// fields merges without touching this. The licence number is never part of a badge.
    pub fn with_clinician_badge(mut self, badge: Option<&ClinicianBadge>) -> Account {
        let Some(badge) = badge else {
            return self;
        };
        let role_name = match &badge.verified_by_domain {
            None => "Verified clinician".to_owned(),
            Some(domain) => format!("Verified clinician (verified by {domain})"),
        };
        self.roles.insert(
            0,
            json!({
                "id": "cohort-verified-clinician",
                "name": role_name,
                "color": "#1a7f5a",
            }),
        );
        let mut value = badge.profession.clone();
        if let Some(specialty) = badge.specialty.as_deref().filter(|s| !s.is_empty()) {
            value.push_str(" (");
            value.push_str(specialty);
            value.push(')');
        }
        value.push_str(", ");
        value.push_str(&badge.institution);
        if let Some(domain) = &badge.verified_by_domain {
            value.push_str(&format!(" (verified by {domain})"));
        }
        self.fields.insert(
            0,
            json!({
                "name": "Verified clinician",
                "value": crate::text::escape(&value),
                "verified_at": datetime(badge.verified_at),
            }),
        );
        self
    }

    /// Adds, to what only the account itself sees, its choice of who may send it direct
    /// messages (`null`: the instance default).
    pub fn with_direct_messages_from(
        mut self,
        choice: Option<cohort_model::DirectMessagesFrom>,
    ) -> Account {
        if let Some(Value::Object(source)) = &mut self.source {
            source.insert(
                "direct_messages_from".into(),
                json!(choice.map(cohort_model::DirectMessagesFrom::as_str)),
            );
        }
        self
    }

    /// Adds what only the account itself sees (`verify_credentials`): its bio and fields as
    /// typed, and its posting defaults.
    pub fn with_credentials(
        mut self,
        account: &AccountRecord,
        profile: &ProfileDetails,
    ) -> Account {
        let privacy = default_visibility(account, &profile.posting);
        let fields: Vec<Value> = profile
            .fields
            .iter()
            .map(|f| json!({"name": f.name, "value": f.value, "verified_at": f.verified_at.map(datetime)}))
            .collect();
        self.source = Some(json!({
            "privacy": visibility_name(privacy),
            "sensitive": profile.posting.sensitive,
            "language": profile.posting.language,
            "note": profile.note,
            "fields": fields,
            "follow_requests_count": 0,
            "hide_collections": profile.hide_collections,
            "discoverable": profile.discoverable,
            "indexable": profile.indexable,
        }));
        self.role = Some(json!({
            "id": account.role.as_str(),
            "name": account.role.as_str(),
            "color": "",
            "permissions": if account.role.can_moderate() { "1" } else { "0" },
            "highlighted": account.role.can_moderate(),
        }));
        self
    }
}

/// What a status needs besides itself to render: its author, and for the viewer whether
/// they favourited, boosted or bookmarked it.
pub struct StatusContext<'a> {
    /// The author, rendered.
    pub author: &'a Value,
    /// The boosted status, rendered (for boosts).
    pub reblog: Option<Value>,
    /// Replies, boosts and favourites.
    pub counts: cohort_store::StatusCounts,
    /// Whether the viewer favourited, boosted, bookmarked it.
    pub favourited: bool,
    /// See `favourited`.
    pub reblogged: bool,
    /// See `favourited`.
    pub bookmarked: bool,
    /// Pinned by its author (shown to the author).
    pub pinned: bool,
    /// Mention entities of the accounts the status addresses.
    pub mentions: Vec<Value>,
    /// Tag entities of its hashtags.
    pub tags: Vec<Value>,
    /// Its Poll entity, if it has a poll.
    pub poll: Option<Value>,
    /// MediaAttachment entities, in order.
    pub media: Vec<Value>,
}

/// Renders a status the read gate let through.
pub fn render_status(visible: &Visible<StatusRecord>, ctx: StatusContext<'_>) -> Value {
    let status = visible.get();
    let audience = status.facts.audience;
    let url = status.url.clone().unwrap_or_else(|| status.uri.clone());
    let in_reply_to_account = status
        .facts
        .parent
        .as_ref()
        .map(|p| p.author.id.to_string());
    json!({
        "id": status.facts.id.to_string(),
        "uri": status.uri,
        "url": url,
        "created_at": datetime(status.created_at),
        "edited_at": status.edited_at.map(datetime),
        "account": ctx.author,
        "content": status.content_html,
        "text": if status.facts.is_local() { Value::String(status.text_source.clone()) } else { Value::Null },
        "visibility": visibility_name(audience.visibility),
        "local_only": audience.local_only,
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "media_attachments": ctx.media,
        "application": null,
        "mentions": ctx.mentions,
        "tags": ctx.tags,
        "emojis": [],
        "reblogs_count": ctx.counts.reblogs,
        "favourites_count": ctx.counts.favourites,
        "replies_count": ctx.counts.replies,
        "in_reply_to_id": status.in_reply_to_id.map(|i| i.to_string()),
        "in_reply_to_account_id": in_reply_to_account,
        "reblog": ctx.reblog,
        "poll": ctx.poll,
        "card": null,
        "language": status.language,
        "favourited": ctx.favourited,
        "reblogged": ctx.reblogged,
        "muted": false,
        "bookmarked": ctx.bookmarked,
        "pinned": ctx.pinned,
        "filtered": held_marker(status),
        "held_for_review": status.facts.held,
        "hold_reason": status.hold_reason,
    })
}

/// A held post carries, besides `held_for_review` and `hold_reason`, a Mastodon filter result
/// with the `warn` action: every Mastodon client already shows such a status behind a
/// "Filtered: Held for PHI review" banner, so the author notices without a custom client.
fn held_marker(status: &StatusRecord) -> Value {
    if !status.facts.held {
        return json!([]);
    }
    json!([{
        "filter": {
            "id": "cohort-phi-hold",
            "title": "Held for PHI review: only you can see this post",
            "context": ["home", "public", "thread", "account", "notifications"],
            "expires_at": null,
            "filter_action": "warn",
            "keywords": [],
            "statuses": [],
        },
        "keyword_matches": null,
        "status_matches": null,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_have_exactly_three_fraction_digits() {
        assert_eq!(datetime(1_714_523_372_391), "2024-05-01T00:29:32.391Z");
        assert_eq!(datetime(1_714_523_372_000), "2024-05-01T00:29:32.000Z");
        assert_eq!(date(1_714_523_372_391), "2024-05-01");
    }
}
