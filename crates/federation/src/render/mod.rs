//! ActivityStreams JSON for what Cohort sends: `Note`, and the activities `Create`,
//! `Update`, `Delete` (with a `Tombstone`), `Announce`, `Follow`, `Accept`, `Reject`, `Undo`,
//! `Block` and `Like`.
//!
//! Rendering is split in two on purpose. The functions here build an [`Unaddressed`]
//! activity: everything but `to`/`cc`. Only [`Unaddressed::addressed`] adds them, and it takes
//! the policy's [`Addressing`]: the delivery module calls it with the addressing of the
//! `DeliveryPermit` it is about to spend, so the audience on the wire is exactly the one the
//! policy computed for that inbox. `bto`/`bcc` are never written. Mention tags are kept only
//! for actors the addressing names, so a restricted post does not tell one instance whom it
//! was also sent to elsewhere.

use cohort_policy::{Addressing, Slot};
use serde_json::{Map, Value, json};

/// The ActivityStreams context.
pub const AS_CONTEXT: &str = "https://www.w3.org/ns/activitystreams";
/// The security vocabulary (`publicKey`); JSON-LD peers need it to see our keys.
pub const SECURITY_CONTEXT: &str = "https://w3id.org/security/v1";
/// The Public collection.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The `@context` of everything Cohort sends.
pub fn context() -> Value {
    json!([
        AS_CONTEXT,
        SECURITY_CONTEXT,
        {
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "blurhash": "toot:blurhash",
            "focalPoint": { "@container": "@list", "@id": "toot:focalPoint" },
            "toot": "http://joinmastodon.org/ns#"
        }
    ])
}

/// A mentioned actor, for a `Mention` tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mention {
    /// The actor id.
    pub href: String,
    /// `@user@host`.
    pub name: String,
}

/// The actor an activity is from.
#[derive(Clone, Debug)]
pub struct ActorRef {
    /// Its ActivityPub id.
    pub id: String,
    /// Its followers collection (the addressing's "author followers").
    pub followers: Option<String>,
}

/// A post's content, as stored, for rendering a `Note`.
#[derive(Clone, Debug)]
pub struct NoteSource {
    /// The Note's id.
    pub id: String,
    /// Its web page.
    pub url: Option<String>,
    /// The author's actor id.
    pub attributed_to: String,
    /// Sanitised HTML.
    pub content_html: String,
    /// Content warning (empty for none).
    pub summary: String,
    /// Media marked sensitive (or a content warning present).
    pub sensitive: bool,
    /// ISO 639 language.
    pub language: Option<String>,
    /// The parent's id, for replies.
    pub in_reply_to: Option<String>,
    /// Published, Unix ms.
    pub published_ms: i64,
    /// Last edited, Unix ms.
    pub updated_ms: Option<i64>,
    /// Mentioned actors (kept in the output only where the addressing names them).
    pub mentions: Vec<Mention>,
    /// The community's Group actor, for a post in a community (FEP-1b12 `audience`).
    pub audience: Option<String>,
    /// Its poll: the Note is then rendered as a `Question`.
    pub poll: Option<QuestionSource>,
    /// Media, in order (`attachment` Documents).
    pub attachments: Vec<Attachment>,
}

/// A poll, for rendering a `Question` as Mastodon sends and reads it: each option a `Note`
/// with its `name` and its vote count as `replies.totalItems`, under `oneOf` (one choice) or
/// `anyOf` (several), with `endTime`, `votersCount` and, once ended, `closed`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuestionSource {
    /// Option titles with their vote counts, in order.
    pub options: Vec<(String, i64)>,
    /// Several choices allowed (`anyOf`).
    pub multiple: bool,
    /// When voting ends, Unix ms.
    pub end_ms: Option<i64>,
    /// How many accounts voted.
    pub voters_count: i64,
    /// Voting has ended.
    pub closed: bool,
}

impl QuestionSource {
    /// The poll of a stored status as of `now`.
    pub fn of(poll: &cohort_store::PollRecord, now: i64) -> Self {
        QuestionSource {
            options: poll
                .options
                .iter()
                .cloned()
                .zip(poll.votes.iter().copied())
                .collect(),
            multiple: poll.multiple,
            end_ms: poll.expires_at,
            voters_count: poll.voters_count,
            closed: poll.expired_at(now),
        }
    }
}

/// A media attachment of a Note, as Mastodon reads it: a `Document` with `mediaType`, `url`,
/// `name` (the alt text), `blurhash`, `width`/`height` and `focalPoint`.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    /// Content type.
    pub media_type: String,
    /// The full file.
    pub url: String,
    /// Alt text.
    pub name: String,
    /// Placeholder hash.
    pub blurhash: Option<String>,
    /// Size, when known.
    pub width: Option<i64>,
    /// See `width`.
    pub height: Option<i64>,
    /// Focal point.
    pub focus: (f64, f64),
}

/// The attachments of a post from its media rows: local files at their URL here, remote
/// media at their origin. Media still processing (never attached) are skipped.
pub fn attachments(
    urls: &crate::urls::LocalUrls,
    media: &[cohort_store::MediaRecord],
) -> Vec<Attachment> {
    media
        .iter()
        .filter_map(|m| {
            let (url, media_type) = match (&m.remote_url, &m.files) {
                (Some(remote), _) => (
                    remote.clone(),
                    m.remote_content_type
                        .clone()
                        .unwrap_or_else(|| "application/octet-stream".into()),
                ),
                (None, Some(files)) => (
                    urls.media_file(m.id, &files.original_key),
                    files.content_type.clone(),
                ),
                (None, None) => return None,
            };
            let files = m.files.as_ref();
            Some(Attachment {
                media_type,
                url,
                name: m.description.clone(),
                blurhash: files.map(|f| f.blurhash.clone()).filter(|b| !b.is_empty()),
                width: files.map(|f| f.width).filter(|w| *w > 0),
                height: files.map(|f| f.height).filter(|h| *h > 0),
                focus: m.focus,
            })
        })
        .collect()
}

/// An activity without `to`/`cc`. Address it with [`Unaddressed::addressed`].
#[derive(Clone, Debug)]
pub struct Unaddressed {
    body: Map<String, Value>,
    /// Whether the embedded `object` carries the same addressing (a Create's or Update's
    /// Note: Mastodon reads the Note's `to`/`cc` for visibility).
    object_addressed: bool,
    followers: Option<String>,
    mentions: Vec<Mention>,
    /// A `@context` other than [`context`] (Cohort's own activities add Cohort's terms).
    own_context: Option<Value>,
}

impl Unaddressed {
    fn new(kind: &str, id: &str, actor: &ActorRef, object: Value) -> Self {
        let mut body = Map::new();
        body.insert("id".into(), Value::String(id.to_owned()));
        body.insert("type".into(), Value::String(kind.to_owned()));
        body.insert("actor".into(), Value::String(actor.id.clone()));
        body.insert("object".into(), object);
        Unaddressed {
            body,
            object_addressed: false,
            followers: actor.followers.clone(),
            mentions: Vec::new(),
            own_context: None,
        }
    }

    /// The activity's id.
    pub fn id(&self) -> &str {
        self.body.get("id").and_then(Value::as_str).unwrap_or("")
    }

    /// The activity's type.
    pub fn kind(&self) -> &str {
        self.body.get("type").and_then(Value::as_str).unwrap_or("")
    }

    /// Sets the activity's `summary` (a moderator's reason for a removal, as Lemmy sends it).
    pub fn set_summary(&mut self, summary: &str) {
        if !summary.is_empty() {
            self.body.insert("summary".into(), json!(summary));
        }
    }

    /// The activity as an embedded object (inside an `Undo`, `Accept`...): no `@context`,
    /// no addressing.
    pub fn into_embedded(self) -> Value {
        Value::Object(self.body)
    }

    /// The complete activity, with `@context` and the `to`/`cc` computed by the policy.
    pub fn addressed(&self, addressing: &Addressing) -> Value {
        let (to, cc) = audience_lists(addressing, self.followers.as_deref());
        let mut out = Map::new();
        out.insert(
            "@context".into(),
            self.own_context.clone().unwrap_or_else(context),
        );
        for (k, v) in &self.body {
            out.insert(k.clone(), v.clone());
        }
        out.insert("to".into(), json!(to));
        out.insert("cc".into(), json!(cc));
        if self.object_addressed
            && let Some(Value::Object(object)) = out.get_mut("object")
        {
            object.insert("to".into(), json!(to));
            object.insert("cc".into(), json!(cc));
            // A wrapped activity's own object (the Note of an announced Create) is addressed
            // alike: Lemmy checks both.
            if let Some(Value::Object(inner)) = object.get_mut("object") {
                inner.insert("to".into(), json!(to));
                inner.insert("cc".into(), json!(cc));
            }
            let tags: Vec<Value> = self
                .mentions
                .iter()
                .filter(|m| to.contains(&m.href) || cc.contains(&m.href))
                .map(|m| json!({"type": "Mention", "href": m.href, "name": m.name}))
                .collect();
            object.insert("tag".into(), Value::Array(tags));
        }
        Value::Object(out)
    }
}

/// `to` and `cc` from the policy's addressing.
pub fn audience_lists(
    addressing: &Addressing,
    followers: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    let mut to: Vec<String> = Vec::new();
    let mut cc: Vec<String> = Vec::new();
    let slot = |s: Slot, to: &mut Vec<String>, cc: &mut Vec<String>, v: &str| match s {
        Slot::To => to.push(v.to_owned()),
        Slot::Cc => cc.push(v.to_owned()),
    };
    if let Some(s) = addressing.public {
        slot(s, &mut to, &mut cc, PUBLIC);
    }
    if let (Some(s), Some(f)) = (addressing.author_followers, followers) {
        slot(s, &mut to, &mut cc, f);
    }
    for a in addressing.to.iter() {
        if !to.contains(a) {
            to.push(a.clone());
        }
    }
    for a in addressing.cc.iter() {
        if !to.contains(a) && !cc.contains(a) {
            cc.push(a.clone());
        }
    }
    (to, cc)
}

/// RFC 3339 in UTC with second precision, as Mastodon writes it.
pub fn timestamp(unix_ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(unix_ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// A `Note` (without addressing; see [`create`] and [`update`]).
pub fn note(src: &NoteSource) -> Value {
    let mut note = Map::new();
    note.insert("id".into(), json!(src.id));
    note.insert("type".into(), json!("Note"));
    note.insert("attributedTo".into(), json!(src.attributed_to));
    if let Some(group) = &src.audience {
        note.insert("audience".into(), json!(group));
    }
    note.insert("content".into(), json!(src.content_html));
    if let Some(lang) = &src.language {
        note.insert(
            "contentMap".into(),
            json!({ lang.as_str(): src.content_html }),
        );
    }
    note.insert(
        "summary".into(),
        if src.summary.is_empty() {
            Value::Null
        } else {
            json!(src.summary)
        },
    );
    note.insert(
        "sensitive".into(),
        json!(src.sensitive || !src.summary.is_empty()),
    );
    note.insert("inReplyTo".into(), json!(src.in_reply_to));
    note.insert("published".into(), json!(timestamp(src.published_ms)));
    if let Some(updated) = src.updated_ms {
        note.insert("updated".into(), json!(timestamp(updated)));
    }
    if let Some(url) = &src.url {
        note.insert("url".into(), json!(url));
    }
    if let Some(poll) = &src.poll {
        note.insert("type".into(), json!("Question"));
        let options: Vec<Value> = poll
            .options
            .iter()
            .map(|(name, votes)| {
                json!({"type": "Note", "name": name, "replies": {"type": "Collection", "totalItems": votes}})
            })
            .collect();
        let key = if poll.multiple { "anyOf" } else { "oneOf" };
        note.insert(key.into(), Value::Array(options));
        if let Some(end) = poll.end_ms {
            note.insert("endTime".into(), json!(timestamp(end)));
            if poll.closed {
                note.insert("closed".into(), json!(timestamp(end)));
            }
        }
        note.insert("votersCount".into(), json!(poll.voters_count));
    }
    if !src.attachments.is_empty() {
        let documents: Vec<Value> = src
            .attachments
            .iter()
            .map(|a| {
                let mut doc = json!({
                    "type": "Document",
                    "mediaType": a.media_type,
                    "url": a.url,
                    "name": if a.name.is_empty() { Value::Null } else { json!(a.name) },
                    "focalPoint": [a.focus.0, a.focus.1],
                });
                if let Value::Object(map) = &mut doc {
                    if let Some(hash) = &a.blurhash {
                        map.insert("blurhash".into(), json!(hash));
                    }
                    if let (Some(w), Some(h)) = (a.width, a.height) {
                        map.insert("width".into(), json!(w));
                        map.insert("height".into(), json!(h));
                    }
                }
                doc
            })
            .collect();
        note.insert("attachment".into(), Value::Array(documents));
    }
    Value::Object(note)
}

fn with_note(kind: &str, id: &str, actor: &ActorRef, src: &NoteSource) -> Unaddressed {
    let mut activity = Unaddressed::new(kind, id, actor, note(src));
    activity.object_addressed = true;
    activity.mentions = src.mentions.clone();
    let when = if kind == "Update" {
        src.updated_ms.unwrap_or(src.published_ms)
    } else {
        src.published_ms
    };
    activity
        .body
        .insert("published".into(), json!(timestamp(when)));
    activity
}

/// A Group's `Announce` of an activity in its community (FEP-1b12): the activity is
/// embedded, and it and its object carry the Announce's addressing.
pub fn group_announce(id: &str, group: &ActorRef, activity: Unaddressed) -> Unaddressed {
    let mut announce = Unaddressed::new("Announce", id, group, activity.into_embedded());
    announce.object_addressed = true;
    announce
}

/// `Create(Note)`.
pub fn create(id: &str, actor: &ActorRef, src: &NoteSource) -> Unaddressed {
    with_note("Create", id, actor, src)
}

/// `Update(Note)`.
pub fn update(id: &str, actor: &ActorRef, src: &NoteSource) -> Unaddressed {
    with_note("Update", id, actor, src)
}

/// `Delete(Tombstone)` of a post.
pub fn delete(id: &str, actor: &ActorRef, object_id: &str) -> Unaddressed {
    Unaddressed::new(
        "Delete",
        id,
        actor,
        json!({"id": object_id, "type": "Tombstone", "atomUri": object_id}),
    )
}

/// `Delete` of the actor itself (a purged account), in Mastodon's shape: `object` is the
/// actor's id.
pub fn delete_actor(id: &str, actor: &ActorRef) -> Unaddressed {
    Unaddressed::new("Delete", id, actor, json!(actor.id))
}

/// `Announce` (a boost) of `object_id`.
pub fn announce(id: &str, actor: &ActorRef, object_id: &str, published_ms: i64) -> Unaddressed {
    let mut a = Unaddressed::new("Announce", id, actor, json!(object_id));
    a.body
        .insert("published".into(), json!(timestamp(published_ms)));
    a
}

/// `Follow` of `object_actor`.
pub fn follow(id: &str, actor: &ActorRef, object_actor: &str) -> Unaddressed {
    Unaddressed::new("Follow", id, actor, json!(object_actor))
}

/// The remote follow being answered, as the object of an `Accept` or `Reject`.
pub fn incoming_follow(follow_id: Option<&str>, follower: &str, followed: &str) -> Value {
    let mut f = Map::new();
    if let Some(id) = follow_id {
        f.insert("id".into(), json!(id));
    }
    f.insert("type".into(), json!("Follow"));
    f.insert("actor".into(), json!(follower));
    f.insert("object".into(), json!(followed));
    Value::Object(f)
}

/// `Accept(Follow)`.
pub fn accept(id: &str, actor: &ActorRef, follow: Value) -> Unaddressed {
    Unaddressed::new("Accept", id, actor, follow)
}

/// `Reject(Follow)`.
pub fn reject(id: &str, actor: &ActorRef, follow: Value) -> Unaddressed {
    Unaddressed::new("Reject", id, actor, follow)
}

/// `Undo` of an earlier activity (given unaddressed; it is embedded).
pub fn undo(id: &str, actor: &ActorRef, undone: Unaddressed) -> Unaddressed {
    Unaddressed::new("Undo", id, actor, undone.into_embedded())
}

/// `Block` of `object_actor`.
pub fn block(id: &str, actor: &ActorRef, object_actor: &str) -> Unaddressed {
    Unaddressed::new("Block", id, actor, json!(object_actor))
}

/// `Update` of the sender's own actor document (a profile or verification change).
pub fn update_actor(id: &str, actor: &ActorRef, document: Value) -> Unaddressed {
    Unaddressed::new("Update", id, actor, document)
}

/// A community ban, Lemmy's shape: `Block` of `object_actor` with `target` the Group.
pub fn community_ban(id: &str, group: &ActorRef, object_actor: &str) -> Unaddressed {
    let mut ban = Unaddressed::new("Block", id, group, json!(object_actor));
    ban.body.insert("target".into(), json!(group.id));
    ban
}

/// `Add` of `object` to the collection `target` (a Group's moderators or `featured`).
pub fn collection_add(id: &str, actor: &ActorRef, object: &str, target: &str) -> Unaddressed {
    let mut add = Unaddressed::new("Add", id, actor, json!(object));
    add.body.insert("target".into(), json!(target));
    add
}

/// `Remove` of `object` from the collection `target`.
pub fn collection_remove(id: &str, actor: &ActorRef, object: &str, target: &str) -> Unaddressed {
    let mut remove = Unaddressed::new("Remove", id, actor, json!(object));
    remove.body.insert("target".into(), json!(target));
    remove
}

/// `Like` of `object_id`.
pub fn like(id: &str, actor: &ActorRef, object_id: &str) -> Unaddressed {
    Unaddressed::new("Like", id, actor, json!(object_id))
}

/// A vote in a remote poll, as Mastodon sends it: `Create` of a `Note` whose `name` is the
/// chosen option's title and whose `inReplyTo` is the `Question`, one per choice, addressed
/// (activity and Note) to the poll's author only.
pub fn poll_vote(id: &str, actor: &ActorRef, question_uri: &str, option: &str) -> Unaddressed {
    let note = json!({
        "id": format!("{id}#note"),
        "type": "Note",
        "name": option,
        "attributedTo": actor.id,
        "inReplyTo": question_uri,
    });
    let mut vote = Unaddressed::new("Create", id, actor, note);
    vote.object_addressed = true;
    vote
}

/// `Flag` (a forwarded report), in Mastodon's shape: `object` lists the reported account
/// first, then the reported statuses; `content` is the comment (already redacted by the PHI
/// guard where it named a patient). Sent by the instance actor, so it names no reporter.
/// A report about posts of a community hosted here, relayed to the community's moderators on
/// other instances, names the community's Group as `audience` (Lemmy's FEP-1b12 property;
/// Mastodon ignores it).
pub fn flag(
    id: &str,
    actor: &ActorRef,
    objects: &[String],
    content: &str,
    audience: Option<&str>,
) -> Unaddressed {
    let mut f = Unaddressed::new("Flag", id, actor, json!(objects));
    f.body.insert("content".into(), json!(content));
    if let Some(community) = audience {
        f.body.insert("audience".into(), json!(community));
    }
    f
}

/// `Flag` to a community's Group in Lemmy's shape: `object` the reported post (one),
/// `summary` the reason (and `content`, for others), `audience` the community.
pub fn flag_to_community(
    id: &str,
    actor: &ActorRef,
    post: &str,
    community: &str,
    content: &str,
) -> Unaddressed {
    let mut f = Unaddressed::new("Flag", id, actor, json!(post));
    f.body.insert("summary".into(), json!(content));
    f.body.insert("content".into(), json!(content));
    f.body.insert("audience".into(), json!(community));
    f
}

/// `EvaluationContribution` (a Cohort term): this instance's published, k-anonymous
/// evaluation cells of a community hosted elsewhere, sent by the instance actor to the
/// community's Group, which combines them with its own (see `crate::aggregates`).
pub fn evaluation_contribution(
    id: &str,
    actor: &ActorRef,
    group: &str,
    cells: Value,
    min_patients: u64,
    published: i64,
) -> Unaddressed {
    let mut c = Unaddressed::new(crate::aggregates::CONTRIBUTION, id, actor, json!(group));
    c.body.insert("cells".into(), cells);
    c.body.insert("minPatients".into(), json!(min_patients));
    c.body
        .insert("published".into(), json!(timestamp(published)));
    c.own_context = Some(crate::aggregates::context());
    c
}

/// `Resolve` of a received `Flag` (Lemmy's report resolution), telling the instance that
/// sent it the outcome: the Flag is embedded (its id and sender), `content` is the outcome
/// note the moderator chose (already screened by the PHI guard).
pub fn resolve(
    id: &str,
    actor: &ActorRef,
    flag_id: &str,
    flag_actor: &str,
    outcome: &str,
) -> Unaddressed {
    let mut r = Unaddressed::new(
        "Resolve",
        id,
        actor,
        json!({"id": flag_id, "type": "Flag", "actor": flag_actor}),
    );
    r.body.insert("content".into(), json!(outcome));
    r
}

/// A local account's bio (plain text) as the actor's `summary`: escaped, paragraphs and line
/// breaks kept.
pub fn bio_html(note: &str) -> String {
    note.replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p
                .split('\n')
                .map(crate::inbox::sanitize::escape_html)
                .collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect()
}

/// A local account's profile fields as the actor's `attachment` (`PropertyValue`s, as
/// Mastodon sends them): values escaped, a value that is a web address (with no quote, so it
/// is safe in the attribute) made a `rel="me"` link (which is how the other side verifies it).
pub fn profile_attachments(fields: &[cohort_store::ProfileField]) -> Value {
    Value::Array(
        fields
            .iter()
            .map(|field| {
                let value = field.value.trim();
                let html = if (value.starts_with("https://") || value.starts_with("http://"))
                    && !value.contains(|c: char| c.is_whitespace() || c == '"')
                {
                    let href = crate::inbox::sanitize::escape_html(value);
                    format!(
                        "<a href=\"{href}\" target=\"_blank\" rel=\"nofollow noopener noreferrer me\">{href}</a>"
                    )
                } else {
                    crate::inbox::sanitize::escape_html(value)
                };
                json!({"type": "PropertyValue", "name": field.name, "value": html})
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pat() -> ActorRef {
        ActorRef {
            id: "https://a.example/users/pat".into(),
            followers: Some("https://a.example/users/pat/followers".into()),
        }
    }

    fn source() -> NoteSource {
        NoteSource {
            id: "https://a.example/users/pat/statuses/1".into(),
            url: Some("https://a.example/@pat/1".into()),
            attributed_to: pat().id,
            audience: None,
            content_html: "<p>hi @bob</p>".into(),
            summary: String::new(),
            sensitive: false,
            language: Some("en".into()),
            in_reply_to: None,
            published_ms: 1_700_000_000_123,
            updated_ms: None,
            poll: None,
            attachments: Vec::new(),
            mentions: vec![
                Mention {
                    href: "https://b.example/users/bob".into(),
                    name: "@bob@b.example".into(),
                },
                Mention {
                    href: "https://c.example/users/cy".into(),
                    name: "@cy@c.example".into(),
                },
            ],
        }
    }

    #[test]
    fn a_report_relayed_to_a_communitys_moderators_names_the_community_as_audience() {
        let instance = ActorRef {
            id: "https://a.example/actor".into(),
            followers: None,
        };
        let objects = vec![
            "https://a.example/users/mallory".to_owned(),
            "https://a.example/users/mallory/statuses/9".to_owned(),
        ];
        let relayed = flag(
            "https://a.example/activities/5",
            &instance,
            &objects,
            "Preying on caregivers",
            Some("https://a.example/users/caregivers"),
        );
        assert_eq!(relayed.body["type"], "Flag");
        assert_eq!(relayed.body["actor"], "https://a.example/actor");
        assert_eq!(relayed.body["object"], json!(objects));
        assert_eq!(relayed.body["content"], "Preying on caregivers");
        assert_eq!(
            relayed.body["audience"],
            "https://a.example/users/caregivers"
        );
        // A report forwarded to the reported account's instance names no community.
        let forwarded = flag(
            "https://a.example/activities/6",
            &instance,
            &objects,
            "",
            None,
        );
        assert!(forwarded.body.get("audience").is_none());
    }

    #[test]
    fn an_outgoing_note_carries_its_media_as_documents() {
        let mut src = source();
        src.attachments = vec![Attachment {
            media_type: "image/jpeg".into(),
            url: "https://a.example/media/7/original.jpg".into(),
            name: "an X-ray".into(),
            blurhash: Some("LEHV6nWB2yk8pyo0adR*.7kCMdnj".into()),
            width: Some(640),
            height: Some(480),
            focus: (0.5, -0.25),
        }];
        let json = note(&src);
        let doc = &json["attachment"][0];
        assert_eq!(doc["type"], "Document");
        assert_eq!(doc["mediaType"], "image/jpeg");
        assert_eq!(doc["url"], "https://a.example/media/7/original.jpg");
        assert_eq!(doc["name"], "an X-ray");
        assert_eq!(doc["blurhash"], "LEHV6nWB2yk8pyo0adR*.7kCMdnj");
        assert_eq!(
            (doc["width"].clone(), doc["height"].clone()),
            (json!(640), json!(480))
        );
        assert_eq!(doc["focalPoint"], json!([0.5, -0.25]));
        // A note without media has no `attachment` key.
        assert!(note(&source()).get("attachment").is_none());
    }

    #[test]
    fn a_group_announce_wraps_the_create_and_addresses_every_level() {
        let group = ActorRef {
            id: "https://a.example/users/diabetes".into(),
            followers: Some("https://a.example/users/diabetes/followers".into()),
        };
        let mut src = source();
        src.audience = Some(group.id.clone());
        let create = create(
            "https://a.example/users/pat/statuses/1#create",
            &pat(),
            &src,
        );
        let announce = group_announce("https://a.example/activities/9", &group, create);
        let addressing = Addressing {
            public: Some(Slot::To),
            author_followers: Some(Slot::Cc),
            to: std::sync::Arc::from(Vec::<String>::new()),
            cc: std::sync::Arc::from(Vec::<String>::new()),
        };
        let json = announce.addressed(&addressing);
        assert_eq!(json["type"], "Announce");
        assert_eq!(json["actor"], group.id);
        assert_eq!(json["object"]["type"], "Create");
        assert_eq!(json["object"]["actor"], pat().id);
        assert_eq!(json["object"]["object"]["audience"], group.id);
        for level in [&json, &json["object"], &json["object"]["object"]] {
            assert_eq!(level["to"], json!([PUBLIC]), "{level}");
            assert_eq!(level["cc"], json!([group.followers.clone().unwrap()]));
        }
    }

    #[test]
    fn a_public_create_carries_public_in_to_and_followers_in_cc_on_activity_and_note() {
        let a = create("https://a.example/activities/9", &pat(), &source());
        let json = a.addressed(&Addressing {
            public: Some(Slot::To),
            author_followers: Some(Slot::Cc),
            to: vec![].into(),
            cc: vec!["https://b.example/users/bob".into()].into(),
        });
        assert_eq!(json["@context"][0], AS_CONTEXT);
        assert_eq!(json["@context"][1], SECURITY_CONTEXT);
        assert_eq!(json["type"], "Create");
        assert_eq!(json["to"], json!([PUBLIC]));
        assert_eq!(
            json["cc"],
            json!([
                "https://a.example/users/pat/followers",
                "https://b.example/users/bob"
            ])
        );
        assert_eq!(json["object"]["to"], json["to"]);
        assert_eq!(json["object"]["cc"], json["cc"]);
        assert_eq!(json["object"]["type"], "Note");
        assert_eq!(json["object"]["published"], "2023-11-14T22:13:20Z");
        // Only the addressed mention is tagged.
        assert_eq!(json["object"]["tag"].as_array().unwrap().len(), 1);
        assert_eq!(json["object"]["tag"][0]["name"], "@bob@b.example");
        let text = json.to_string();
        assert!(!text.contains("bto") && !text.contains("bcc"));
        assert!(!text.contains("cy@c.example"), "unaddressed mention leaked");
    }

    #[test]
    fn a_restricted_create_names_only_the_permitted_recipients() {
        let a = create("https://a.example/activities/9", &pat(), &source());
        let json = a.addressed(&Addressing {
            public: None,
            author_followers: None,
            to: vec!["https://b.example/users/bob".into()].into(),
            cc: vec![].into(),
        });
        assert_eq!(json["to"], json!(["https://b.example/users/bob"]));
        assert_eq!(json["cc"], json!([]));
        assert!(!json.to_string().contains("followers"));
        assert!(!json.to_string().contains(PUBLIC));
    }

    #[test]
    fn a_post_with_a_poll_is_a_question_with_counts_as_replies() {
        let mut src = source();
        src.poll = Some(QuestionSource {
            options: vec![("Yes".into(), 2), ("No".into(), 1)],
            multiple: false,
            end_ms: Some(1_700_000_360_000),
            voters_count: 3,
            closed: false,
        });
        let question = note(&src);
        assert_eq!(question["type"], "Question");
        assert_eq!(question["oneOf"][0]["name"], "Yes");
        assert_eq!(question["oneOf"][0]["replies"]["totalItems"], 2);
        assert_eq!(question["oneOf"][1]["replies"]["totalItems"], 1);
        assert_eq!(question["endTime"], "2023-11-14T22:19:20Z");
        assert_eq!(question["votersCount"], 3);
        assert!(question.get("anyOf").is_none() && question.get("closed").is_none());
        src.poll = src.poll.map(|p| QuestionSource {
            multiple: true,
            closed: true,
            ..p
        });
        let question = note(&src);
        assert_eq!(question["anyOf"][1]["name"], "No");
        assert_eq!(question["closed"], "2023-11-14T22:19:20Z");
    }

    #[test]
    fn delete_is_a_tombstone_and_undo_embeds_without_context() {
        let d = delete(
            "https://a.example/activities/10",
            &pat(),
            "https://a.example/s/1",
        );
        let json = d.addressed(&Addressing {
            public: Some(Slot::To),
            author_followers: None,
            to: vec![].into(),
            cc: vec![].into(),
        });
        assert_eq!(json["object"]["type"], "Tombstone");
        assert_eq!(json["to"], json!([PUBLIC]));
        let u = undo(
            "https://a.example/activities/11",
            &pat(),
            follow(
                "https://a.example/activities/3",
                &pat(),
                "https://b.example/users/bob",
            ),
        );
        let json = u.addressed(&Addressing {
            public: None,
            author_followers: None,
            to: vec!["https://b.example/users/bob".into()].into(),
            cc: vec![].into(),
        });
        assert_eq!(json["object"]["type"], "Follow");
        assert_eq!(json["object"]["id"], "https://a.example/activities/3");
        assert!(json["object"].get("@context").is_none());
    }
}
