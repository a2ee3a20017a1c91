//! Mastodon's JSON entities. Every documented key is present (null or empty when unknown):
//! clients crash on missing keys. A [`Status`] can only be rendered from a
//! [`cohort_policy::Visible`] value: nothing is shown without the read gate's decision.

use cohort_model::Visibility;
use cohort_policy::Visible;
use cohort_store::{AccountCounts, AccountRecord, StatusRecord};
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

/// Mastodon's MediaAttachment entity. A processing upload has `url: null`; remote media
/// point at their origin (nothing is downloaded).
pub fn render_media(base_url: &str, media: &cohort_store::MediaRecord) -> Value {
    let local = media.remote_url.is_none();
    let (url, preview_url) = match (&media.files, &media.remote_url) {
        (_, Some(remote)) => (Some(remote.clone()), Some(remote.clone())),
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
    /// Renders an account with its counts.
    pub fn render(state: &ApiState, account: &AccountRecord, counts: AccountCounts) -> Account {
        Self::render_with_note(state, account, counts, "")
    }

    /// Renders an account with its counts and bio (plain text, rendered as safe HTML).
    pub fn render_with_note(
        state: &ApiState,
        account: &AccountRecord,
        counts: AccountCounts,
        note: &str,
    ) -> Account {
        let base = &state.settings.base_url;
        let url = match &account.domain {
            None => format!("{base}/@{}", account.username),
            Some(_) => account.actor_uri.clone(),
        };
        let avatar = image_url(base, account.avatar_url.as_deref())
            .unwrap_or_else(|| format!("{base}{DEFAULT_AVATAR_PATH}"));
        let header = image_url(base, account.header_url.as_deref())
            .unwrap_or_else(|| format!("{base}{DEFAULT_HEADER_PATH}"));
        Account {
            id: account.id.to_string(),
            username: account.username.clone(),
            acct: account.acct(),
            display_name: account.display_name.clone(),
            locked: account.locked,
            bot: account.bot,
            discoverable: false,
            indexable: false,
            group: account.is_group,
            created_at: datetime(account.created_at),
            note: if note.is_empty() {
                String::new()
            } else {
                crate::text::to_html(note, &[], &|tag| {
                    format!("{}/tags/{tag}", state.settings.base_url)
                })
            },
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
            hide_collections: false,
            noindex: true,
            emojis: Vec::new(),
            roles: Vec::new(),
            fields: Vec::new(),
            source: None,
            role: None,
        }
    }

    /// Adds what only the account itself sees (`verify_credentials`); `note` is the bio as
    /// typed.
    pub fn with_credentials(mut self, account: &AccountRecord, note: &str) -> Account {
        self.source = Some(json!({
            "privacy": if account.locked { "private" } else { "public" },
            "sensitive": false,
            "language": null,
            "note": note,
            "fields": [],
            "follow_requests_count": 0,
            "hide_collections": false,
            "discoverable": false,
            "indexable": false,
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
        "poll": null,
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
