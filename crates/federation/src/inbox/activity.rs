//! The ActivityStreams shapes Cohort reads, as lenient as real servers require.
//!
//! One flat [`Object`] type reads activities, notes, actors, tags and links alike (AS2 is a
//! flat vocabulary; every server adds its own fields, which are ignored). Every property that
//! some server sends as a scalar and another as an array (`to`, `cc`, `tag`, `attachment`,
//! `url`, `icon`, `attributedTo`, Flag's `object`, `type`, `publicKey`) is read one-or-many;
//! references are an IRI or an embedded object ([`Reference`]); `null` reads as absent.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use cohort_model::Visibility;

/// The Public collection, in the three spellings servers use.
pub fn is_public(iri: &str) -> bool {
    matches!(
        iri,
        "https://www.w3.org/ns/activitystreams#Public" | "as:Public" | "Public"
    )
}

/// An IRI or an embedded object.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Reference {
    /// A bare IRI.
    Iri(String),
    /// An embedded object (its `id` may be absent).
    Object(Box<Object>),
}

impl Reference {
    /// The referenced id (the IRI, or the embedded object's `id`; for a Link, its `href`).
    pub fn id(&self) -> Option<&str> {
        match self {
            Reference::Iri(s) => Some(s),
            Reference::Object(o) => o.id.as_deref().or(o.href.as_deref()),
        }
    }

    /// The embedded object, if any.
    pub fn object(&self) -> Option<&Object> {
        match self {
            Reference::Iri(_) => None,
            Reference::Object(o) => Some(o),
        }
    }
}

/// Any ActivityStreams object or activity (only the properties Cohort reads).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Object {
    /// `id`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    /// `type` (one or many; the first known one is used).
    #[serde(rename = "type", default, deserialize_with = "one_or_many")]
    pub kind: Vec<String>,
    /// `actor`.
    #[serde(default, deserialize_with = "optional")]
    pub actor: Option<Reference>,
    /// `object` (one or many: Flag sends an array).
    #[serde(default, deserialize_with = "one_or_many")]
    pub object: Vec<Reference>,
    /// `target`.
    #[serde(default, deserialize_with = "optional")]
    pub target: Option<Reference>,
    /// `attributedTo` (PeerTube sends the person and the channel).
    #[serde(default, deserialize_with = "one_or_many")]
    pub attributed_to: Vec<Reference>,
    /// `to`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub to: Vec<Reference>,
    /// `cc`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub cc: Vec<Reference>,
    /// `audience` (FEP-1b12).
    #[serde(default, deserialize_with = "one_or_many")]
    pub audience: Vec<Reference>,
    /// `tag`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub tag: Vec<Reference>,
    /// `attachment`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub attachment: Vec<Reference>,
    /// `url` (strings, Links, or a mix).
    #[serde(default, deserialize_with = "one_or_many")]
    pub url: Vec<Reference>,
    /// `icon`.
    #[serde(default, deserialize_with = "one_or_many")]
    pub icon: Vec<Reference>,
    /// `href` (Links, Mentions).
    #[serde(default, deserialize_with = "lenient_string")]
    pub href: Option<String>,
    /// `name`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub name: Option<String>,
    /// `content` (HTML).
    #[serde(default, deserialize_with = "lenient_string")]
    pub content: Option<String>,
    /// `contentMap`.
    #[serde(default, deserialize_with = "string_map")]
    pub content_map: BTreeMap<String, String>,
    /// `mediaType`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub media_type: Option<String>,
    /// `blurhash` (Mastodon's attachments).
    #[serde(default, deserialize_with = "lenient_string")]
    pub blurhash: Option<String>,
    /// `width` (attachments).
    #[serde(default, deserialize_with = "lenient_number")]
    pub width: Option<i64>,
    /// `height` (attachments).
    #[serde(default, deserialize_with = "lenient_number")]
    pub height: Option<i64>,
    /// `summary` (content warning on notes).
    #[serde(default, deserialize_with = "lenient_string")]
    pub summary: Option<String>,
    /// `sensitive`.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub sensitive: Option<bool>,
    /// `inReplyTo`.
    #[serde(default, deserialize_with = "optional")]
    pub in_reply_to: Option<Reference>,
    /// `published`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub published: Option<String>,
    /// `updated`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub updated: Option<String>,
    /// Actors: `preferredUsername`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub preferred_username: Option<String>,
    /// Actors: `inbox`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub inbox: Option<String>,
    /// Actors: `outbox`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub outbox: Option<String>,
    /// Actors: `followers`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub followers: Option<String>,
    /// Actors: `endpoints` (`sharedInbox`).
    #[serde(default, deserialize_with = "optional")]
    pub endpoints: Option<Endpoints>,
    /// Misskey: a top-level `sharedInbox`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub shared_inbox: Option<String>,
    /// Actors: `publicKey` (one or many).
    #[serde(default, deserialize_with = "one_or_many")]
    pub public_key: Vec<PublicKey>,
    /// Actors: `manuallyApprovesFollowers`.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub manually_approves_followers: Option<bool>,
    /// Actors: `discoverable` (Mastodon's toot namespace).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub discoverable: Option<bool>,
    /// Actors: `indexable` (FEP-5feb).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub indexable: Option<bool>,
    /// `PropertyValue` (a profile field): `value`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub value: Option<String>,
    /// Actors: `alsoKnownAs` (Move checks).
    #[serde(default, deserialize_with = "one_or_many")]
    pub also_known_as: Vec<Reference>,
    /// Actors: `movedTo`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub moved_to: Option<String>,
    /// Actors: Cohort's `clinicianAttestation` link (see `crate::attestation`).
    #[serde(default, deserialize_with = "lenient_string")]
    pub clinician_attestation: Option<String>,
    /// Keys: `owner`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub owner: Option<String>,
    /// Keys: `publicKeyPem`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub public_key_pem: Option<String>,
    /// Questions: `oneOf` (options of a single-choice poll).
    #[serde(default, deserialize_with = "one_or_many")]
    pub one_of: Vec<Reference>,
    /// Questions: `anyOf` (options of a multiple-choice poll).
    #[serde(default, deserialize_with = "one_or_many")]
    pub any_of: Vec<Reference>,
    /// Questions: `endTime`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub end_time: Option<String>,
    /// Questions: `votersCount`.
    #[serde(default)]
    pub voters_count: Option<Value>,
    /// A poll option's `replies` (its vote count is their `totalItems`).
    #[serde(default, deserialize_with = "optional")]
    pub replies: Option<Reference>,
    /// Collections: `totalItems`.
    #[serde(default)]
    pub total_items: Option<Value>,
}

/// A `Question`'s poll as its origin sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemotePoll {
    /// Option titles with their vote counts, in order.
    pub options: Vec<(String, i64)>,
    /// `anyOf` (several choices).
    pub multiple: bool,
    /// `endTime`, Unix ms.
    pub end_ms: Option<i64>,
    /// `votersCount`, when sent.
    pub voters_count: Option<i64>,
}

impl Object {
    /// The poll of a `Question` (`oneOf` or `anyOf` options, each a `Note` with a `name` and
    /// `replies.totalItems`), or `None` for anything else.
    pub fn remote_poll(&self) -> Option<RemotePoll> {
        if self.kind() != "Question" {
            return None;
        }
        let multiple = self.one_of.is_empty() && !self.any_of.is_empty();
        let choices = if multiple { &self.any_of } else { &self.one_of };
        let options: Vec<(String, i64)> = choices
            .iter()
            .filter_map(Reference::object)
            .filter_map(|o| {
                let votes = o
                    .replies
                    .as_ref()
                    .and_then(Reference::object)
                    .and_then(|r| r.total_items.as_ref())
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    .max(0);
                o.name.clone().map(|name| (name, votes))
            })
            .collect();
        if options.is_empty() {
            return None;
        }
        let end_ms = self.end_time.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .ok()
                .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        });
        Some(RemotePoll {
            options,
            multiple,
            end_ms,
            voters_count: self.voters_count.as_ref().and_then(Value::as_i64),
        })
    }
}

/// `endpoints`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    /// `sharedInbox`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub shared_inbox: Option<String>,
}

/// `publicKey`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    /// The keyId.
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
    /// The owning actor.
    #[serde(default, deserialize_with = "lenient_string")]
    pub owner: Option<String>,
    /// SPKI PEM.
    #[serde(default, deserialize_with = "lenient_string")]
    pub public_key_pem: Option<String>,
}

/// Why a document is not an activity Cohort can read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, or not an object.
    #[error("not a JSON object: {0}")]
    Json(String),
    /// No `type`.
    #[error("no type")]
    NoType,
    /// An activity without `id` or `actor`.
    #[error("an activity needs an id and an actor")]
    NoIdOrActor,
}

/// Activity types Cohort reads in its inbox.
pub const ACTIVITY_TYPES: &[&str] = &[
    "Create",
    "Update",
    "Delete",
    "Follow",
    "Accept",
    "Reject",
    "Undo",
    "Like",
    "Dislike",
    "EmojiReact",
    "Announce",
    "Block",
    "Move",
    "Flag",
    "EvaluationContribution",
    "Add",
    "Remove",
    "View",
];

impl Object {
    /// Parses any ActivityStreams document.
    pub fn parse(bytes: &[u8]) -> Result<Object, ParseError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ParseError::Json(e.to_string()))?;
        Object::from_value(value)
    }

    /// Reads a JSON value.
    pub fn from_value(value: Value) -> Result<Object, ParseError> {
        if !value.is_object() {
            return Err(ParseError::Json("not an object".into()));
        }
        let object: Object =
            serde_json::from_value(value).map_err(|e| ParseError::Json(e.to_string()))?;
        if object.kind.is_empty() {
            return Err(ParseError::NoType);
        }
        Ok(object)
    }

    /// Parses an inbound activity: it must have a type, an `id` and an `actor`.
    pub fn parse_activity(bytes: &[u8]) -> Result<Object, ParseError> {
        let object = Object::parse(bytes)?;
        if object.id.is_none() || object.actor_id().is_none() {
            return Err(ParseError::NoIdOrActor);
        }
        Ok(object)
    }

    /// The main type: the first one Cohort knows, else the first given.
    pub fn kind(&self) -> &str {
        self.kind
            .iter()
            .find(|k| ACTIVITY_TYPES.contains(&k.as_str()) || OBJECT_TYPES.contains(&k.as_str()))
            .or(self.kind.first())
            .map_or("", String::as_str)
    }

    /// Whether any of its types is `kind`.
    pub fn is(&self, kind: &str) -> bool {
        self.kind.iter().any(|k| k == kind)
    }

    /// The actor's id.
    pub fn actor_id(&self) -> Option<&str> {
        self.actor.as_ref().and_then(Reference::id)
    }

    /// The first `object`.
    pub fn first_object(&self) -> Option<&Reference> {
        self.object.first()
    }

    /// The first `attributedTo` that is an actor (PeerTube lists the Person before the
    /// channel; a typed Group entry is skipped when a Person is given).
    pub fn attributed_to_id(&self) -> Option<&str> {
        let person = self.attributed_to.iter().find(|r| {
            r.object()
                .is_some_and(|o| o.is("Person") || o.is("Service") || o.is("Application"))
        });
        person
            .or(self.attributed_to.first())
            .and_then(Reference::id)
    }

    /// The HTML content: `content`, else the first `contentMap` value.
    pub fn content_html(&self) -> Option<&str> {
        self.content
            .as_deref()
            .or_else(|| self.content_map.values().next().map(String::as_str))
    }

    /// The language of `contentMap`, if one.
    pub fn language(&self) -> Option<&str> {
        self.content_map.keys().next().map(String::as_str)
    }

    /// The ids in `to`.
    pub fn to_ids(&self) -> Vec<&str> {
        self.to.iter().filter_map(Reference::id).collect()
    }

    /// The ids in `cc`.
    pub fn cc_ids(&self) -> Vec<&str> {
        self.cc.iter().filter_map(Reference::id).collect()
    }

    /// The `href`s of `Mention` tags.
    pub fn mention_hrefs(&self) -> Vec<&str> {
        self.tag
            .iter()
            .filter_map(Reference::object)
            .filter(|t| t.is("Mention"))
            .filter_map(|t| t.href.as_deref())
            .collect()
    }

    /// The names of `Hashtag` tags, lowercased and without the `#` that Mastodon, Fedify and
    /// Misskey put in `name`, so remote posts land on the same tag timelines as local ones.
    /// Only names a local post could tag are kept (letters, digits and `_`, with a letter);
    /// duplicates are dropped.
    pub fn hashtag_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for tag in self.tag.iter().filter_map(Reference::object) {
            if !tag.is("Hashtag") {
                continue;
            }
            let Some(name) = tag.name.as_deref() else {
                continue;
            };
            let name = name.trim().trim_start_matches('#').to_lowercase();
            let valid = name.chars().all(|c| c.is_alphanumeric() || c == '_')
                && name.chars().any(char::is_alphabetic);
            if valid && !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    /// The shared inbox (`endpoints.sharedInbox`, or Misskey's top-level `sharedInbox`).
    pub fn shared_inbox_uri(&self) -> Option<&str> {
        self.endpoints
            .as_ref()
            .and_then(|e| e.shared_inbox.as_deref())
            .or(self.shared_inbox.as_deref())
    }

    /// The attachments of a post, as remote media kept by URL (at most four, http(s) only,
    /// nothing downloaded). The kind comes from `mediaType` (or the object's type).
    pub fn remote_media(&self) -> Vec<cohort_store::NewRemoteMedia> {
        self.attachment
            .iter()
            .filter_map(|reference| {
                let object = reference.object();
                let url = match object {
                    Some(o) => o.url.first().and_then(Reference::id).or(o.href.as_deref()),
                    None => reference.id(),
                }?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return None;
                }
                let media_type = object.and_then(|o| o.media_type.clone());
                let type_name = object
                    .and_then(|o| o.kind.first())
                    .map(String::as_str)
                    .unwrap_or("");
                let kind = match (media_type.as_deref(), type_name) {
                    (Some(m), _) if m.starts_with("image/gif") => "gifv",
                    (Some(m), _) if m.starts_with("image/") => "image",
                    (Some(m), _) if m.starts_with("video/") => "video",
                    (Some(m), _) if m.starts_with("audio/") => "audio",
                    (None, "Image") => "image",
                    (None, "Video") => "video",
                    (None, "Audio") => "audio",
                    _ => "unknown",
                };
                Some(cohort_store::NewRemoteMedia {
                    url: url.to_owned(),
                    kind: kind.to_owned(),
                    content_type: media_type,
                    description: object
                        .and_then(|o| o.name.clone())
                        .unwrap_or_default()
                        .chars()
                        .take(1500)
                        .collect(),
                    blurhash: object
                        .and_then(|o| o.blurhash.clone())
                        .filter(|b| b.len() <= 100),
                    width: object.and_then(|o| o.width).filter(|w| *w > 0),
                    height: object.and_then(|o| o.height).filter(|h| *h > 0),
                })
            })
            .take(cohort_store::MAX_ATTACHMENTS)
            .collect()
    }

    /// The first `url` that is a string or an HTML Link.
    pub fn url_string(&self) -> Option<&str> {
        self.url
            .iter()
            .find(|r| match r {
                Reference::Iri(_) => true,
                Reference::Object(o) => o
                    .media_type
                    .as_deref()
                    .is_none_or(|m| m.starts_with("text/html")),
            })
            .and_then(Reference::id)
    }

    /// Mastodon's visibility rule over this object's `to`/`cc`, with `followers` the
    /// sender's followers collection (when unknown, `ACTOR/followers` is assumed).
    pub fn visibility(&self, actor: &str, followers: Option<&str>) -> Visibility {
        visibility_of(&self.to_ids(), &self.cc_ids(), actor, followers)
    }
}

/// Object types Cohort reads as posts (or knows as actors or tombstones).
pub const OBJECT_TYPES: &[&str] = &[
    "Note",
    "Article",
    "Page",
    "Question",
    "ChatMessage",
    "Video",
    "Image",
    "Event",
    "Tombstone",
    "Person",
    "Group",
    "Service",
    "Application",
    "Organization",
];

/// Types stored as statuses.
pub const POST_TYPES: &[&str] = &[
    "Note",
    "Article",
    "Page",
    "Question",
    "ChatMessage",
    "Video",
    "Image",
    "Event",
];

/// Mastodon's rule: `to` has Public → public; else `cc` has Public → unlisted; else `to`
/// has the sender's followers → followers; else direct.
pub fn visibility_of(to: &[&str], cc: &[&str], actor: &str, followers: Option<&str>) -> Visibility {
    if to.iter().any(|i| is_public(i)) {
        return Visibility::Public;
    }
    if cc.iter().any(|i| is_public(i)) {
        return Visibility::Unlisted;
    }
    let guessed = format!("{}/followers", actor.trim_end_matches('/'));
    let followers = followers.unwrap_or(&guessed);
    if to.contains(&followers) {
        return Visibility::Followers;
    }
    Visibility::Direct
}

fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(d)?;
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => Ok(items
            .into_iter()
            .filter(|v| !v.is_null())
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect()),
        other => Ok(serde_json::from_value(other).ok().into_iter().collect()),
    }
}

fn optional<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(d)?;
    match value {
        Value::Null => Ok(None),
        Value::Array(items) => Ok(items
            .into_iter()
            .find_map(|v| serde_json::from_value(v).ok())),
        other => Ok(serde_json::from_value(other).ok()),
    }
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Array(items) => items.into_iter().find_map(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        }),
        _ => None,
    })
}

fn lenient_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) => Some(s == "true"),
        _ => None,
    })
}

fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_questions_poll_is_read_from_any_of_with_counts_as_replies() {
        let question = Object::parse(
            br#"{"type":"Question","endTime":"2024-05-01T00:29:32Z","votersCount":3,
                "anyOf":[{"type":"Note","name":"A","replies":{"type":"Collection","totalItems":2}},
                         {"type":"Note","name":"B","replies":{"totalItems":"x"}}]}"#,
        )
        .unwrap();
        let poll = question.remote_poll().unwrap();
        assert_eq!(poll.options, vec![("A".into(), 2), ("B".into(), 0)]);
        assert!(poll.multiple);
        assert_eq!(poll.end_ms, Some(1_714_523_372_000));
        assert_eq!(poll.voters_count, Some(3));
        let note =
            Object::parse(br#"{"type":"Note","oneOf":[{"type":"Note","name":"A"}]}"#).unwrap();
        assert_eq!(note.remote_poll(), None, "only a Question has a poll");
    }

    #[test]
    fn incoming_attachments_become_remote_media_by_url() {
        // Mastodon's shape, a bare IRI, a Link-valued url, a non-http URL and a fifth one.
        let note: Object = serde_json::from_value(serde_json::json!({
            "type": "Note",
            "attachment": [
                {
                    "type": "Document", "mediaType": "image/jpeg",
                    "url": "https://m.example/system/a.jpg", "name": "an X-ray",
                    "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "width": 640, "height": "480",
                    "focalPoint": [0.0, 0.0]
                },
                "https://m.example/system/b.bin",
                { "type": "Video", "url": { "type": "Link", "href": "https://m.example/v.mp4" } },
                { "type": "Document", "mediaType": "image/png", "url": "data:image/png;base64,AAAA" },
                { "type": "Document", "mediaType": "image/png", "url": "https://m.example/c.png" },
                { "type": "Document", "mediaType": "image/png", "url": "https://m.example/d.png" }
            ]
        }))
        .unwrap();
        let media = note.remote_media();
        assert_eq!(media.len(), 4, "{media:?}");
        assert_eq!(media[0].url, "https://m.example/system/a.jpg");
        assert_eq!(media[0].kind, "image");
        assert_eq!(media[0].content_type.as_deref(), Some("image/jpeg"));
        assert_eq!(media[0].description, "an X-ray");
        assert_eq!(
            media[0].blurhash.as_deref(),
            Some("LEHV6nWB2yk8pyo0adR*.7kCMdnj")
        );
        assert_eq!((media[0].width, media[0].height), (Some(640), Some(480)));
        assert_eq!(
            (media[1].url.as_str(), media[1].kind.as_str()),
            ("https://m.example/system/b.bin", "unknown")
        );
        assert_eq!(
            (media[2].url.as_str(), media[2].kind.as_str()),
            ("https://m.example/v.mp4", "video")
        );
        assert_eq!(media[3].url, "https://m.example/c.png");
    }

    #[test]
    fn public_is_recognised_in_all_three_spellings() {
        for p in [
            "https://www.w3.org/ns/activitystreams#Public",
            "as:Public",
            "Public",
        ] {
            assert_eq!(
                visibility_of(&[p], &[], "https://x.example/u/a", None),
                Visibility::Public
            );
            assert_eq!(
                visibility_of(&[], &[p], "https://x.example/u/a", None),
                Visibility::Unlisted
            );
        }
    }

    #[test]
    fn scalars_and_arrays_read_alike() {
        let one = Object::parse(br#"{"type":"Note","to":"as:Public","tag":{"type":"Mention","href":"https://c.example/users/pat"}}"#).unwrap();
        let many = Object::parse(br#"{"type":"Note","to":["as:Public"],"tag":[{"type":"Mention","href":"https://c.example/users/pat"}]}"#).unwrap();
        assert_eq!(one.to_ids(), many.to_ids());
        assert_eq!(one.mention_hrefs(), many.mention_hrefs());
    }

    #[test]
    fn hashtag_names_drop_the_hash_and_case_and_skip_what_no_post_could_tag() {
        // Fedify compacts a single tag to an object; Mastodon sends an array with Mentions.
        let one = Object::parse(
            br##"{"type":"Note","tag":{"type":"Hashtag","href":"https://f.example/tags/x","name":"#FedifyInterop"}}"##,
        )
        .unwrap();
        assert_eq!(one.hashtag_names(), vec!["fedifyinterop".to_owned()]);
        let many = Object::parse(
            r##"{"type":"Note","tag":[
                {"type":"Mention","href":"https://c.example/users/pat","name":"@pat"},
                {"type":"Hashtag","name":"#Café_2"},
                {"type":"Hashtag","name":"cafe_2"},
                {"type":"Hashtag","name":"#café_2"},
                {"type":"Hashtag","name":"#2024"},
                {"type":"Hashtag","name":"#no space"},
                {"type":"Hashtag"},
                {"type":"Emoji","name":":blob:"}
            ]}"##
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            many.hashtag_names(),
            vec!["café_2".to_owned(), "cafe_2".to_owned()]
        );
    }

    #[test]
    fn followers_only_needs_the_senders_followers_in_to() {
        let v = visibility_of(
            &["https://x.example/u/a/followers"],
            &[],
            "https://x.example/u/a",
            None,
        );
        assert_eq!(v, Visibility::Followers);
        let v = visibility_of(
            &["https://c.example/users/pat"],
            &[],
            "https://x.example/u/a",
            None,
        );
        assert_eq!(v, Visibility::Direct);
    }
}
