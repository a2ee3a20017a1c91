//! What happens to an urgent or sensitive question (issue 10): the router in
//! `cohort-screening` labels a post (emergency, crisis, sensitive care); the rules here decide
//! whether it may go out as asked, must first be shown to its author with the instance's
//! contact routes, or is narrowed to a direct message; and what a crisis report tells the
//! moderators. Like the PHI guard's decision, this is an audience decision taken before
//! anything is stored, so it lives beside the other audience rules.

use cohort_model::Visibility;
use cohort_screening::urgent::{UrgentFinding, UrgentLabel};

use crate::facts::Audience;

/// One kind of contact route an instance can configure.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ContactKind {
    /// The local emergency number (`COHORT_CONTACT_EMERGENCY_NUMBER`).
    EmergencyNumber,
    /// A crisis line (`COHORT_CONTACT_CRISIS_LINE`).
    CrisisLine,
    /// The institution's phone (`COHORT_CONTACT_PHONE`).
    Phone,
    /// The institution's secure messaging (`COHORT_CONTACT_SECURE_MESSAGING_URL`).
    SecureMessaging,
}

impl ContactKind {
    /// The stable name apps read.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::EmergencyNumber => "emergency_number",
            ContactKind::CrisisLine => "crisis_line",
            ContactKind::Phone => "phone",
            ContactKind::SecureMessaging => "secure_messaging",
        }
    }

    /// How people read it.
    pub fn label(self) -> &'static str {
        match self {
            ContactKind::EmergencyNumber => "emergency number",
            ContactKind::CrisisLine => "crisis line",
            ContactKind::Phone => "phone",
            ContactKind::SecureMessaging => "secure messaging",
        }
    }
}

/// One configured route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRoute {
    /// Which route.
    pub kind: ContactKind,
    /// The number or address, as configured.
    pub value: String,
}

/// The instance's contact routes, each optional (validated by the server at start).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactRoutes {
    /// Phone number of the institution.
    pub phone: Option<String>,
    /// Secure messaging link.
    pub secure_messaging_url: Option<String>,
    /// Emergency number.
    pub emergency_number: Option<String>,
    /// Crisis line (a number or a link).
    pub crisis_line: Option<String>,
}

impl ContactRoutes {
    fn value(&self, kind: ContactKind) -> Option<&String> {
        match kind {
            ContactKind::EmergencyNumber => self.emergency_number.as_ref(),
            ContactKind::CrisisLine => self.crisis_line.as_ref(),
            ContactKind::Phone => self.phone.as_ref(),
            ContactKind::SecureMessaging => self.secure_messaging_url.as_ref(),
        }
    }

    /// The configured routes in the order to offer them for `label`: the emergency number
    /// first for an emergency, the crisis line first for a crisis, the institution's own
    /// channels first otherwise.
    pub fn for_label(&self, label: UrgentLabel) -> Vec<ContactRoute> {
        use ContactKind::*;
        let order = match label {
            UrgentLabel::Emergency => [EmergencyNumber, CrisisLine, Phone, SecureMessaging],
            UrgentLabel::Crisis => [CrisisLine, EmergencyNumber, Phone, SecureMessaging],
            UrgentLabel::SensitiveCare | UrgentLabel::None => {
                [SecureMessaging, Phone, EmergencyNumber, CrisisLine]
            }
        };
        order
            .into_iter()
            .filter_map(|kind| {
                self.value(kind).map(|v| ContactRoute {
                    kind,
                    value: v.clone(),
                })
            })
            .collect()
    }

    /// Every configured route, the institution's channels first.
    pub fn all(&self) -> Vec<ContactRoute> {
        self.for_label(UrgentLabel::None)
    }

    /// The routes as one line of text ("crisis line 988; phone +1 555 0100"), or a fallback
    /// sentence when none is configured.
    pub fn describe(&self, label: UrgentLabel) -> String {
        let routes = self.for_label(label);
        if routes.is_empty() {
            return "this instance has not configured contact routes; in an emergency call your \
                    local emergency number"
                .to_owned();
        }
        routes
            .iter()
            .map(|r| format!("{} {}", r.kind.label(), r.value))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What the author asked for when posting again after being steered (`urgent_route=direct`
/// or `urgent_confirmed=true`), or nothing yet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UrgentChoice {
    /// No choice made: a flagged post is steered.
    Undecided,
    /// Narrow the post to a direct message to the professionals it addresses.
    Direct,
    /// Publish as asked (the author's choice; every other gate still applies).
    Confirmed,
}

/// The decision on one post.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum UrgentOutcome {
    /// Not flagged, or already private: publish with the audience asked for.
    Publish,
    /// Flagged: store nothing and show the author the contact routes and the choices.
    Steer {
        /// The router's label.
        label: UrgentLabel,
    },
    /// Flagged, and the author chose a direct message: the audience to use instead.
    Narrow {
        /// The router's label.
        label: UrgentLabel,
        /// Direct, otherwise the audience asked for (local-only kept, no community).
        audience: Audience,
    },
    /// Flagged, and the author confirmed: publish as asked.
    Confirmed {
        /// The router's label.
        label: UrgentLabel,
    },
}

fn steer(label: UrgentLabel, audience: Audience, choice: UrgentChoice) -> UrgentOutcome {
    if label == UrgentLabel::None || audience.visibility == Visibility::Direct {
        return UrgentOutcome::Publish;
    }
    match choice {
        UrgentChoice::Undecided => UrgentOutcome::Steer { label },
        UrgentChoice::Confirmed => UrgentOutcome::Confirmed { label },
        UrgentChoice::Direct => UrgentOutcome::Narrow {
            label,
            audience: Audience {
                visibility: Visibility::Direct,
                local_only: audience.local_only,
                community: None,
            },
        },
    }
}

/// Rule: a post that mentions or replies to a clinician or an institution and reads as an
/// emergency, a crisis or a sensitive question about the author's own care does not go out
/// wider than a direct message until its author has seen the instance's contact routes and
/// chosen: a direct message to the professionals it addresses, or publication as asked.
/// Posts that address no professional, and direct messages, pass.
pub fn urgent_questions_leave_public_threads(
    label: UrgentLabel,
    addresses_professional: bool,
    audience: Audience,
    choice: UrgentChoice,
) -> UrgentOutcome {
    if !addresses_professional {
        return UrgentOutcome::Publish;
    }
    steer(label, audience, choice)
}

/// Rule: a clinician or institution replying wider than a direct message to a post the
/// router flags is reminded to take it to a direct channel first; the reply goes out as
/// asked once confirmed, or narrowed to a direct message to the post's author.
pub fn clinicians_take_urgent_questions_to_a_direct_channel(
    replier_is_professional: bool,
    parent_label: UrgentLabel,
    audience: Audience,
    choice: UrgentChoice,
) -> UrgentOutcome {
    if !replier_is_professional {
        return UrgentOutcome::Publish;
    }
    steer(parent_label, audience, choice)
}

/// Rule: a crisis post addressed to a clinician or an institution is reported to the
/// moderators with the priority category `self_harm`, whatever the author then chooses
/// (narrow, confirm, or give up) and whatever its visibility. The caller files it once per
/// post.
pub fn crisis_posts_reach_moderators_first(
    label: UrgentLabel,
    addresses_professional: bool,
) -> bool {
    label == UrgentLabel::Crisis && addresses_professional
}

/// Longest automatic report comment (the moderation comment limit).
const MAX_REPORT_COMMENT_CHARS: usize = 1000;

/// The comment of an automatic crisis report: the router's explanation (its rule names and
/// the phrases that matched, which are crisis wording, not identifiers) and what became of
/// the post, never the post's text. A crisis is often told in a direct message to a
/// clinician, and the moderators need to know that someone may be at risk and why the router
/// thought so, not the rest of what they wrote; a published post is attached to the report
/// by the caller, so moderators read it where it is public anyway.
pub fn crisis_report_comment(finding: &UrgentFinding, outcome: &str) -> String {
    let cues = if finding.cues.is_empty() {
        String::new()
    } else {
        format!(
            " Matched: {}.",
            finding
                .cues
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let comment = format!(
        "Automatic: a post addressed to a clinician or institution reads as a crisis \
         (urgent-question router: {}).{cues} {outcome}",
        finding.reason
    );
    comment.chars().take(MAX_REPORT_COMMENT_CHARS).collect()
}
