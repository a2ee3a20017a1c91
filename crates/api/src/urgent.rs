//! Urgent and sensitive questions in the posting path (issue 10), the HTTP side of
//! `cohort_policy::urgent`.
//!
//! A post that mentions or replies to a verified clinician or an institution and that the
//! urgent-question router labels emergency, crisis or sensitive care is not stored when it
//! would go wider than a direct message: the author gets a `422` naming the label, with the
//! instance's contact routes and the two ways on (`urgent_route=direct`: the post becomes a
//! direct message to the clinicians and institutions it addresses; `urgent_confirmed=true`:
//! published as asked). This follows the PHI guard's *warn* shape (a 422, then a confirmed
//! resend) rather than its hold: nothing is stored, so nothing can federate before the author
//! chooses, and a person in distress gets the routes at once instead of a silent hold.
//! A clinician or institution replying wider than direct to a flagged post gets the same
//! answer as a reminder to take it to a direct channel.
//!
//! A crisis addressed to a professional is reported to the moderators (`self_harm`, the
//! highest priority) once per post, with the router's explanation and not the text
//! (`cohort_policy::crisis_report_comment`), whatever the author then chooses.

use cohort_model::{AuthorKind, Id, Visibility};
use cohort_policy::{
    Audience, ContactRoute, ContactRoutes, Party, UrgentChoice, UrgentOutcome,
    clinicians_take_urgent_questions_to_a_direct_channel, crisis_posts_reach_moderators_first,
    crisis_report_comment, urgent_questions_leave_public_threads,
};
use cohort_screening::urgent::{UrgentFinding, UrgentLabel, UrgentRouter};
use cohort_store::{AccountRecord, StatusRecord, now_ms};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::ApiState;

/// The router, compiled once per process off the async workers.
async fn router() -> ApiResult<&'static UrgentRouter> {
    tokio::task::spawn_blocking(UrgentRouter::shared)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// The author's choice after being steered: `urgent_route=direct`, `urgent_confirmed=true`.
fn requested_choice(params: &Params) -> ApiResult<UrgentChoice> {
    let route = match params.string("urgent_route").as_deref().map(str::trim) {
        None | Some("") => false,
        Some("direct") => true,
        Some(other) => {
            return Err(ApiError::Unprocessable(format!(
                "Validation failed: urgent_route can only be direct, not {other:?}"
            )));
        }
    };
    let confirmed = params.bool("urgent_confirmed")?.unwrap_or(false);
    Ok(match (route, confirmed) {
        (true, true) => {
            return Err(ApiError::Unprocessable(
                "Validation failed: choose either urgent_route=direct or urgent_confirmed=true"
                    .into(),
            ));
        }
        (true, false) => UrgentChoice::Direct,
        (false, true) => UrgentChoice::Confirmed,
        (false, false) => UrgentChoice::Undecided,
    })
}

/// Whether an account is a professional the router's steering is about: a clinician
/// verified at `now` (here, or attested by a trusted instance), or a local institution.
async fn professionals_among(
    state: &ApiState,
    candidates: &[Id],
    now: i64,
) -> ApiResult<Vec<AccountRecord>> {
    let badges = state.store.clinician_badges(candidates, now).await?;
    let mut out = Vec::new();
    for id in candidates {
        let account = state.store.account_by_id(*id).await?;
        let institution = account.domain.is_none()
            && account.author_kind == AuthorKind::Organization
            && !account.is_group;
        if badges.contains_key(id) || institution {
            out.push(account);
        }
    }
    Ok(out)
}

/// `user` for a local account, `user@domain` for a remote one.
fn acct(account: &AccountRecord) -> String {
    match &account.domain {
        None => account.username.clone(),
        Some(d) => format!("{}@{}", account.username, d.as_str()),
    }
}

/// The text the router reads of an existing post.
fn text_of(record: &StatusRecord) -> String {
    if record.text_source.is_empty() {
        crate::filtering::plain_text(&record.content_html)
    } else {
        record.text_source.clone()
    }
}

fn label_text(label: UrgentLabel) -> &'static str {
    match label {
        UrgentLabel::Emergency => "a possible emergency",
        UrgentLabel::Crisis => "a possible crisis",
        UrgentLabel::SensitiveCare | UrgentLabel::None => {
            "a sensitive question about one's own care"
        }
    }
}

/// The routes as apps read them.
pub fn routes_json(routes: &[ContactRoute]) -> Value {
    Value::Array(
        routes
            .iter()
            .map(|r| json!({ "kind": r.kind.as_str(), "label": r.kind.label(), "value": r.value }))
            .collect(),
    )
}

/// The instance's contact routes as one object (`GET /api/v1/cohort/contact_routes`, and
/// `configuration.cohort.contact_routes` in `GET /api/v2/instance`).
pub fn contact_routes_json(routes: &ContactRoutes) -> Value {
    json!({
        "phone": routes.phone,
        "secure_messaging_url": routes.secure_messaging_url,
        "emergency_number": routes.emergency_number,
        "crisis_line": routes.crisis_line,
        "routes": routes_json(&routes.all()),
    })
}

/// The answer to a direct message refused by a clinician's `route` boundary: the
/// institution's contact routes.
pub fn routed_error(state: &ApiState, err: &cohort_policy::ComposeError) -> ApiError {
    let routes = &state.settings.contact_routes;
    ApiError::UnprocessableWith {
        message: format!(
            "Validation failed: {err}: {}",
            routes.describe(UrgentLabel::SensitiveCare)
        ),
        key: "cohort_contact_routes",
        detail: routes_json(&routes.for_label(UrgentLabel::SensitiveCare)),
    }
}

/// What the posting path does after [`steer`]: the audience to store, who a narrowed post
/// addresses, and the crisis report still to file once the post exists.
#[derive(Debug)]
pub(crate) struct Steering {
    /// The audience to store.
    pub audience: Audience,
    /// When the post was narrowed to a direct message: the only accounts it addresses.
    pub narrowed_to: Option<Vec<Id>>,
    pending_report: Option<PendingReport>,
}

#[derive(Debug)]
struct PendingReport {
    finding: UrgentFinding,
    fingerprint: String,
    outcome: &'static str,
    attach: bool,
}

/// One post's text, for "once per post" before the post has an id: the author steered
/// first and posting again with a choice is the same post.
fn fingerprint(text: &str) -> String {
    let normalised = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let digest = Sha256::digest(normalised.to_lowercase().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("text:{hex}")
}

/// Files the automatic crisis report (once per post). A failure is logged, never shown:
/// the author's answer must not depend on it.
async fn file_crisis_report(
    state: &ApiState,
    author: Id,
    pending: &PendingReport,
    status: Option<Id>,
) {
    let report = cohort_moderation::automatic_report(
        cohort_moderation::Category::SelfHarm,
        author,
        status.filter(|_| pending.attach).into_iter().collect(),
        crisis_report_comment(&pending.finding, pending.outcome),
    );
    if let Err(e) = state
        .store
        .create_urgent_report(author, &pending.fingerprint, "crisis", &report)
        .await
    {
        tracing::error!(error = %e, %author, "the automatic crisis report could not be filed");
    }
}

impl Steering {
    /// Files the crisis report due for the post now stored as `status`.
    pub(crate) async fn file_report(&self, state: &ApiState, author: Id, status: Id) {
        if let Some(pending) = &self.pending_report {
            file_crisis_report(state, author, pending, Some(status)).await;
        }
    }
}

/// Whether a post is a new one (the author can still narrow it) or an edit of a stored
/// post (its audience is fixed).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Writing {
    New,
    Edit(Id),
}

/// A post being written, as the urgent-question rules see it.
pub(crate) struct Draft<'a> {
    /// The author.
    pub account: &'a AccountRecord,
    /// The text as typed.
    pub text: &'a str,
    /// The audience the audience rules gave it.
    pub audience: Audience,
    /// The accounts its text mentions.
    pub mentioned: &'a [Party],
    /// The post it answers.
    pub parent: Option<&'a StatusRecord>,
    /// New, or an edit.
    pub writing: Writing,
    /// An edit's text before the edit.
    pub previous_text: Option<&'a str>,
}

/// The urgent-question rules for a post being written. Refuses (422) a post to steer, and
/// returns what to store otherwise.
pub(crate) async fn steer(
    state: &ApiState,
    draft: Draft<'_>,
    params: &Params,
) -> ApiResult<Steering> {
    let Draft {
        account,
        text,
        audience,
        mentioned,
        parent,
        writing,
        previous_text,
    } = draft;
    let choice = requested_choice(params)?;
    let publish = Steering {
        audience,
        narrowed_to: None,
        pending_report: None,
    };
    let now = now_ms();
    let mut candidates: Vec<Id> = mentioned.iter().map(|m| m.id).collect();
    if let Some(p) = parent {
        candidates.push(p.facts.author.id);
    }
    candidates.retain(|id| *id != account.id);
    candidates.sort_unstable();
    candidates.dedup();
    let professionals = professionals_among(state, &candidates, now).await?;
    let author_is_professional = account.author_kind == AuthorKind::Organization
        || state.store.is_verified_clinician(account.id, now).await?;
    let parent_by_other = parent.filter(|p| p.facts.author.id != account.id);
    if professionals.is_empty() && !(author_is_professional && parent_by_other.is_some()) {
        return Ok(publish);
    }
    let router = router().await?;

    // The author's own question to a professional.
    let mut reminder = false;
    let mut targets = professionals;
    let mut finding = None;
    let mut outcome = UrgentOutcome::Publish;
    if !targets.is_empty() {
        let own = router.classify(text, true, account.author_kind);
        // An edit of a post that read the same way already: its author chose when it was
        // written (and a crisis was reported then), so a corrected typo is not steered again.
        if previous_text.is_some_and(|before| {
            router.classify(before, true, account.author_kind).label == own.label
        }) {
            return Ok(publish);
        }
        outcome = urgent_questions_leave_public_threads(own.label, true, audience, choice);
        finding = Some(own);
    }
    // A professional answering a flagged post in public (when writing it: an edit of a reply
    // already published is not reminded again).
    if outcome == UrgentOutcome::Publish
        && writing == Writing::New
        && author_is_professional
        && let Some(parent) = parent_by_other
    {
        let asker = state.store.account_by_id(parent.facts.author.id).await?;
        let asked = router.classify(&text_of(parent), true, asker.author_kind);
        outcome = clinicians_take_urgent_questions_to_a_direct_channel(
            true,
            asked.label,
            audience,
            choice,
        );
        if outcome != UrgentOutcome::Publish {
            reminder = true;
            targets = vec![asker];
        }
    }

    let crisis = finding
        .as_ref()
        .filter(|f| crisis_posts_reach_moderators_first(f.label, true))
        .cloned();
    // Once per post: a new post by its text (it has no id while it is steered), an edited
    // one by its id.
    let key = match writing {
        Writing::New => fingerprint(text),
        Writing::Edit(id) => format!("status:{id}"),
    };
    let pending = |outcome: &'static str, attach: bool| {
        crisis.clone().map(|finding| PendingReport {
            finding,
            fingerprint: key.clone(),
            outcome,
            attach,
        })
    };
    let existing = match writing {
        Writing::Edit(id) => Some(id),
        Writing::New => None,
    };
    match outcome {
        UrgentOutcome::Publish => Ok(Steering {
            pending_report: pending("It was sent as a direct message.", false),
            ..publish
        }),
        UrgentOutcome::Confirmed { .. } => Ok(Steering {
            pending_report: pending(
                "The author saw the contact routes and published it as asked (attached).",
                audience.visibility != Visibility::Direct,
            ),
            ..publish
        }),
        UrgentOutcome::Narrow { audience, label } => {
            if existing.is_some() {
                return Err(ApiError::Unprocessable(
                    "Validation failed: an edit cannot narrow a post that is already published; \
                     delete it and post it again as a direct message"
                        .into(),
                ));
            }
            let reachable = reachable(state, account, &targets, parent, now).await?;
            if reachable.is_empty() {
                return Err(steer_error(state, label, reminder, &[], writing));
            }
            Ok(Steering {
                audience,
                narrowed_to: Some(reachable.iter().map(|a| a.id).collect()),
                pending_report: pending(
                    "The author saw the contact routes and sent it as a direct message to the clinician or institution.",
                    false,
                ),
            })
        }
        UrgentOutcome::Steer { label } => {
            let told = match existing {
                None => {
                    "The author was shown the contact routes; nothing is published until they choose."
                }
                Some(_) => {
                    "An edit of the attached post; the author was shown the contact routes and the edit is not saved until they choose."
                }
            };
            if let Some(p) = pending(told, existing.is_some()) {
                file_crisis_report(state, account.id, &p, existing).await;
            }
            let reachable = reachable(state, account, &targets, parent, now).await?;
            Err(steer_error(state, label, reminder, &reachable, writing))
        }
    }
}

/// The accounts among `targets` a direct message from `account` would reach: remote ones
/// (their own instance applies their boundaries), and local ones whose boundary lets
/// `account` write (a colleague, or a conversation they opened).
async fn reachable(
    state: &ApiState,
    account: &AccountRecord,
    targets: &[AccountRecord],
    parent: Option<&StatusRecord>,
    now: i64,
) -> ApiResult<Vec<AccountRecord>> {
    let local: Vec<Id> = targets
        .iter()
        .filter(|t| t.domain.is_none())
        .map(|t| t.id)
        .collect();
    let boundaries = state
        .store
        .direct_message_boundaries(&local, state.settings.clinician_direct_messages, now)
        .await?;
    let colleague =
        account.role.can_moderate() || state.store.is_verified_clinician(account.id, now).await?;
    let direct = Audience::new(Visibility::Direct);
    Ok(targets
        .iter()
        .filter(|t| {
            boundaries
                .iter()
                .filter(|(id, _)| *id == t.id)
                .all(|boundary| {
                    cohort_policy::direct_messages_respect_professional_boundaries(
                        &direct,
                        account.id,
                        colleague,
                        parent.map(|p| &p.facts),
                        std::slice::from_ref(boundary),
                    )
                    .is_ok()
                })
        })
        .cloned()
        .collect())
}

/// The 422 of a steered post: what the router saw, the routes, and how to go on.
fn steer_error(
    state: &ApiState,
    label: UrgentLabel,
    reminder: bool,
    reachable: &[AccountRecord],
    writing: Writing,
) -> ApiError {
    let routes = &state.settings.contact_routes;
    let accts: Vec<String> = reachable.iter().map(acct).collect();
    let mentions = accts
        .iter()
        .map(|a| format!("@{a}"))
        .collect::<Vec<_>>()
        .join(", ");
    let what = label_text(label);
    let name = label.as_str();
    let routes_line = routes.describe(label);
    let mut message = if reminder {
        format!(
            "The post you are replying to reads as {what} ({name}). Please take this \
             conversation to a direct channel. Contact routes: {routes_line}."
        )
    } else {
        format!(
            "This post reads as {what} ({name}) and is addressed to a clinician or an \
             institution; it has not been published. Contact routes: {routes_line}."
        )
    };
    match writing {
        Writing::New if !accts.is_empty() => message.push_str(&format!(
            " Post it again with urgent_route=direct to send it only to {mentions} as a \
             direct message, or with urgent_confirmed=true to publish it as it is."
        )),
        Writing::New => message.push_str(
            " The clinicians it addresses do not take direct messages from you; post it again \
             with urgent_confirmed=true to publish it as it is.",
        ),
        Writing::Edit(_) => message.push_str(
            " Delete it and post it again as a direct message, or save the edit with \
             urgent_confirmed=true to publish it as it is.",
        ),
    }
    ApiError::UnprocessableWith {
        message,
        key: "cohort_urgent",
        detail: json!({
            "label": name,
            "reply_reminder": reminder,
            "routes": routes_json(&routes.for_label(label)),
            "narrow_to": accts,
            "choices": {
                "narrow": (writing == Writing::New && !reachable.is_empty())
                    .then_some("urgent_route=direct"),
                "confirm": "urgent_confirmed=true",
            },
        }),
    }
}
