//! Moderation: reports, moderator actions, domain blocks and the mod log (issue 9).
//!
//! This crate owns the *vocabulary and rules* of the moderation workflow: which report
//! categories exist and which come first, which account actions a moderator can take, how
//! a domain block is graded, how long a report comment may be, how a comment that names a
//! patient is redacted before it leaves the instance, and how many reports one remote
//! instance may file per hour. The store (`cohort-store`'s `reports` and `moderation`
//! modules) applies these decisions transactionally; the API and federation parse wire
//! formats into these types.
//!
//! It *changes facts*; it never sends anything (a forwarded report is an outbox event that
//! `cohort-federation`'s delivery gate re-plans) and never decides visibility (a suspended
//! account disappears because `cohort-policy::can_see` reads the suspension).

pub mod blocklist;

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// Longest report comment, in characters (Mastodon's limit).
pub const MAX_COMMENT_CHARS: usize = 1000;

/// How many reports one remote instance may file per [`FLAG_WINDOW_MS`] before further
/// Flags from it are refused (report spam).
pub const FLAGS_PER_DOMAIN_PER_WINDOW: i64 = 20;

/// The rate limit's window: one hour.
pub const FLAG_WINDOW_MS: i64 = 3_600_000;

/// Why a moderation request is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModerationError {
    /// An unknown report category.
    #[error(
        "unknown category {0:?}; expected one of spam, legal, violation, other, patient_privacy, misinformation, clinician_impersonation, self_harm, unprofessional"
    )]
    UnknownCategory(String),
    /// An unknown account action.
    #[error(
        "unknown action type {0:?}; expected none, sensitive, disable, silence, suspend or delete_statuses"
    )]
    UnknownAction(String),
    /// An unknown domain block severity.
    #[error("unknown severity {0:?}; expected silence, suspend or noop")]
    UnknownSeverity(String),
    /// The comment is too long.
    #[error("comment is too long ({0} characters; at most 1000)")]
    CommentTooLong(usize),
    /// An appeal says nothing.
    #[error("text is missing: say why the decision should change")]
    AppealEmpty,
    /// An appeal is too long.
    #[error("text is too long ({0} characters; at most 2000)")]
    AppealTooLong(usize),
}

/// What a report is about. Mastodon's four, plus the health-care ones Cohort adds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Unsolicited advertising, repeated posts.
    Spam,
    /// Illegal content.
    Legal,
    /// Breaks one of the instance's rules (`rule_ids`).
    Violation,
    /// Anything else.
    Other,
    /// Exposes a patient's information (HIPAA Safe Harbor identifiers).
    PatientPrivacy,
    /// Medical misinformation.
    Misinformation,
    /// Someone posing as a clinician they are not.
    ClinicianImpersonation,
    /// Someone at risk of harming themselves: handled before everything else.
    SelfHarm,
    /// Unprofessional conduct by a clinician.
    Unprofessional,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 9] = [
        Category::Spam,
        Category::Legal,
        Category::Violation,
        Category::Other,
        Category::PatientPrivacy,
        Category::Misinformation,
        Category::ClinicianImpersonation,
        Category::SelfHarm,
        Category::Unprofessional,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Spam => "spam",
            Category::Legal => "legal",
            Category::Violation => "violation",
            Category::Other => "other",
            Category::PatientPrivacy => "patient_privacy",
            Category::Misinformation => "misinformation",
            Category::ClinicianImpersonation => "clinician_impersonation",
            Category::SelfHarm => "self_harm",
            Category::Unprofessional => "unprofessional",
        }
    }

    /// Queue order: higher first. A person at risk comes before everything; a patient's
    /// exposed information before the rest, because every hour it stays up it spreads.
    pub fn priority(self) -> i32 {
        match self {
            Category::SelfHarm => 100,
            Category::PatientPrivacy => 50,
            Category::Legal | Category::ClinicianImpersonation => 20,
            Category::Misinformation => 10,
            Category::Violation | Category::Unprofessional | Category::Spam | Category::Other => 0,
        }
    }
}

impl FromStr for Category {
    type Err = ModerationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ModerationError::UnknownCategory(s.to_owned()))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A moderator's action on an account (Mastodon's `POST /api/v1/admin/accounts/:id/action`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AccountAction {
    /// No change to the account (a warning, or closing the report).
    None,
    /// Its media is always shown as sensitive.
    Sensitive,
    /// It cannot sign in (local accounts); its content stays.
    Disable,
    /// Limited: hidden from public timelines.
    Silence,
    /// Suspended: cannot sign in, its posts disappear everywhere on this instance, and a
    /// remote account's activities are refused.
    Suspend,
    /// The reported posts are deleted (Cohort's; needs a report naming them).
    DeleteStatuses,
}

impl AccountAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::None => "none",
            AccountAction::Sensitive => "sensitive",
            AccountAction::Disable => "disable",
            AccountAction::Silence => "silence",
            AccountAction::Suspend => "suspend",
            AccountAction::DeleteStatuses => "delete_statuses",
        }
    }
}

impl FromStr for AccountAction {
    type Err = ModerationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "none" => AccountAction::None,
            "sensitive" => AccountAction::Sensitive,
            "disable" => AccountAction::Disable,
            "silence" => AccountAction::Silence,
            "suspend" => AccountAction::Suspend,
            "delete_statuses" => AccountAction::DeleteStatuses,
            other => return Err(ModerationError::UnknownAction(other.to_owned())),
        })
    }
}

/// How hard a domain block is (Mastodon's severities).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The instance's accounts are limited; it still federates.
    Silence,
    /// Nothing is exchanged with the instance.
    Suspend,
    /// No federation restriction; only the flags (reject media, reject reports) apply.
    Noop,
}

impl Severity {
    /// The wire and stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Silence => "silence",
            Severity::Suspend => "suspend",
            Severity::Noop => "noop",
        }
    }
}

impl FromStr for Severity {
    type Err = ModerationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "silence" => Severity::Silence,
            "suspend" => Severity::Suspend,
            "noop" => Severity::Noop,
            other => return Err(ModerationError::UnknownSeverity(other.to_owned())),
        })
    }
}

/// A report the instance files itself (the impersonation guard, the urgent-question
/// router): no reporter, never forwarded, with the category's priority.
pub fn automatic_report(
    category: Category,
    target: cohort_model::Id,
    status_ids: Vec<cohort_model::Id>,
    comment: String,
) -> cohort_store::NewReport {
    cohort_store::NewReport {
        reporter: None,
        target,
        status_ids,
        comment,
        category: category.as_str().to_owned(),
        priority: category.priority(),
        rule_ids: Vec::new(),
        forward: false,
        forward_comment: None,
        forward_domains: Vec::new(),
        comment_phi_reason: None,
        origin_domain: None,
        uri: None,
        origin_actor: None,
    }
}

/// Longest appeal of a strike, in characters (Mastodon's limit).
pub const MAX_APPEAL_CHARS: usize = 2000;

/// Refuses an empty appeal, or one over [`MAX_APPEAL_CHARS`] characters.
pub fn check_appeal(text: &str) -> Result<(), ModerationError> {
    if text.trim().is_empty() {
        return Err(ModerationError::AppealEmpty);
    }
    let n = text.chars().count();
    if n > MAX_APPEAL_CHARS {
        return Err(ModerationError::AppealTooLong(n));
    }
    Ok(())
}

/// Refuses a comment over [`MAX_COMMENT_CHARS`] characters.
pub fn check_comment(comment: &str) -> Result<(), ModerationError> {
    let n = comment.chars().count();
    if n > MAX_COMMENT_CHARS {
        return Err(ModerationError::CommentTooLong(n));
    }
    Ok(())
}

/// The comment with every span replaced by `[redacted LABEL]`, for forwarding a report whose
/// comment identifies a patient: the remote moderators get the reason for the report
/// without the identifiers. Spans are counted in Unicode code points, as the PHI guard
/// reports them (`PhiSpan`), not bytes: a comment with an accent before a name would
/// otherwise be cut in the wrong place, or the name skipped and left in. Overlapping spans
/// are merged and out-of-bounds ones skipped, never a panic.
pub fn redact(comment: &str, spans: &[(Range<usize>, &str)]) -> String {
    // Byte offset of every code point, and of the end.
    let bytes: Vec<usize> = comment
        .char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(comment.len()))
        .collect();
    let mut spans: Vec<(Range<usize>, &str)> = spans
        .iter()
        .filter_map(|(r, label)| {
            let (start, end) = (bytes.get(r.start)?, bytes.get(r.end)?);
            (start < end).then_some((*start..*end, *label))
        })
        .collect();
    spans.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(comment.len());
    let mut at = 0;
    for (range, label) in spans {
        if range.end <= at {
            continue;
        }
        let start = range.start.max(at);
        out.push_str(&comment[at..start]);
        if start == range.start {
            out.push_str("[redacted ");
            out.push_str(label);
            out.push(']');
        }
        at = range.end;
    }
    out.push_str(&comment[at..]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn categories_round_trip_and_unknown_ones_are_refused() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), c);
        }
        assert_eq!(
            "gossip".parse::<Category>(),
            Err(ModerationError::UnknownCategory("gossip".into()))
        );
    }

    #[test]
    fn self_harm_reports_come_first() {
        let top = Category::ALL.into_iter().max_by_key(|c| c.priority());
        assert_eq!(top, Some(Category::SelfHarm));
        assert!(Category::PatientPrivacy.priority() > Category::Spam.priority());
    }

    #[test]
    fn actions_and_severities_parse() {
        assert_eq!(
            "suspend".parse::<AccountAction>().unwrap(),
            AccountAction::Suspend
        );
        assert!("ban".parse::<AccountAction>().is_err());
        assert_eq!(
            "delete_statuses".parse::<AccountAction>().unwrap(),
            AccountAction::DeleteStatuses
        );
        assert_eq!("noop".parse::<Severity>().unwrap(), Severity::Noop);
        assert!("nuke".parse::<Severity>().is_err());
    }

    #[test]
    fn comments_over_a_thousand_characters_are_refused() {
        assert!(check_comment(&"é".repeat(1000)).is_ok());
        assert_eq!(
            check_comment(&"a".repeat(1001)),
            Err(ModerationError::CommentTooLong(1001))
        );
    }

    #[test]
    fn appeals_must_say_something_in_at_most_two_thousand_characters() {
        assert_eq!(check_appeal("  "), Err(ModerationError::AppealEmpty));
        assert!(check_appeal(&"a".repeat(2000)).is_ok());
        assert_eq!(
            check_appeal(&"a".repeat(2001)),
            Err(ModerationError::AppealTooLong(2001))
        );
    }

    #[test]
    fn redaction_replaces_the_identifying_spans_only() {
        let text = "Patient John Smith in bed 4 was posted about";
        let name = text.find("John Smith").unwrap();
        let bed = text.find("bed 4").unwrap();
        let out = redact(
            text,
            &[
                (bed..bed + 5, "location"),
                (name..name + 10, "name"),
                (name + 5..name + 10, "name"),
            ],
        );
        assert_eq!(
            out,
            "Patient [redacted name] in [redacted location] was posted about"
        );
    }

    #[test]
    fn redaction_counts_code_points_as_the_phi_guard_does() {
        let comment = "Café nurse: Mrs. Whitfield in bed 12B";
        // "Whitfield" is code points 17..26 (bytes 18..27: "é" is two bytes).
        let start = comment.chars().take_while(|c| *c != 'W').count();
        assert_eq!(start, 17);
        assert_eq!(
            redact(comment, &[(start..start + 9, "name")]),
            "Café nurse: Mrs. [redacted name] in bed 12B"
        );
    }

    #[test]
    fn redaction_skips_spans_out_of_bounds_or_empty() {
        let text = "é1";
        assert_eq!(redact(text, &[(1..1, "x"), (5..9, "y"), (2..3, "z")]), "é1");
        assert_eq!(redact(text, &[(0..1, "x")]), "[redacted x]1");
    }
}
