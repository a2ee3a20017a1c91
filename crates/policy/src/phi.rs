//! What the PHI guard's finding means for a post: publish, hold for the author's review,
//! warn and ask for confirmation, or narrow the audience. The detectors live in
//! `cohort-screening`; the decision lives here, beside the other audience rules, because a
//! hold is an audience decision: a held post is seen only by its author and delivered to
//! nobody (see `read_gate::held_posts_are_seen_only_by_their_author`).

use cohort_model::{AuthorKind, Visibility};
use cohort_screening::phi::PhiFinding;

use crate::facts::Audience;

/// What to do with a post that identifies a patient, per kind of author (instance setting).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PhiAction {
    /// Store it visible to the author only until they edit, narrow or release it.
    Hold,
    /// Refuse it until the author confirms (the client resends with `phi_confirmed`).
    Warn,
    /// Publish it on this instance only (local-only), never federated.
    Narrow,
    /// Publish as asked.
    Off,
}

impl PhiAction {
    /// Parses a configuration value.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "hold" => Some(PhiAction::Hold),
            "warn" => Some(PhiAction::Warn),
            "narrow" => Some(PhiAction::Narrow),
            "off" => Some(PhiAction::Off),
            _ => None,
        }
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PhiAction::Hold => "hold",
            PhiAction::Warn => "warn",
            PhiAction::Narrow => "narrow",
            PhiAction::Off => "off",
        }
    }
}

/// The instance's PHI rules.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PhiRules {
    /// For clinicians and organisations (default: hold).
    pub professional: PhiAction,
    /// For patients and caregivers (default: warn).
    pub member: PhiAction,
}

impl Default for PhiRules {
    fn default() -> Self {
        PhiRules {
            professional: PhiAction::Hold,
            member: PhiAction::Warn,
        }
    }
}

/// The guard's verdict on one post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhiOutcome {
    /// Publish with the audience asked for.
    Publish,
    /// Store held, with the reason shown to the author.
    Hold {
        /// The guard's explanation.
        reason: String,
    },
    /// Refuse until confirmed.
    Warn {
        /// The guard's explanation.
        reason: String,
    },
    /// Publish with a narrower audience.
    Narrow {
        /// The audience to use instead.
        audience: Audience,
        /// The guard's explanation.
        reason: String,
    },
}

/// Rule: a post that identifies a patient does not leave the instance (or reach the public
/// local timeline) until its author has reviewed it. Posts addressed only to their
/// mentions, or kept on this instance, are not screened: that is where such a message
/// belongs.
pub fn phi_guard_decides_before_a_post_leaves(
    finding: &PhiFinding,
    author: AuthorKind,
    audience: Audience,
    confirmed: bool,
    rules: PhiRules,
) -> PhiOutcome {
    let sheltered = audience.visibility == Visibility::Direct || audience.local_only;
    if !finding.identifies_patient || sheltered {
        return PhiOutcome::Publish;
    }
    let action = match author {
        AuthorKind::Clinician | AuthorKind::Organization => rules.professional,
        AuthorKind::Patient | AuthorKind::Caregiver => rules.member,
    };
    let reason = finding.reason.clone();
    match action {
        PhiAction::Off => PhiOutcome::Publish,
        PhiAction::Hold => PhiOutcome::Hold { reason },
        PhiAction::Warn if confirmed => PhiOutcome::Publish,
        PhiAction::Warn => PhiOutcome::Warn { reason },
        PhiAction::Narrow => PhiOutcome::Narrow {
            audience: audience.local_only(),
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(identifies: bool) -> PhiFinding {
        PhiFinding {
            identifies_patient: identifies,
            spans: Vec::new(),
            reason: "patient name 'Bev' with location 'bed 2'".into(),
        }
    }

    #[test]
    fn phi_guard_decides_before_a_post_leaves() {
        let public = Audience::new(Visibility::Public);
        let rules = PhiRules::default();
        let hit = finding(true);
        assert!(matches!(
            super::phi_guard_decides_before_a_post_leaves(
                &hit,
                AuthorKind::Clinician,
                public,
                false,
                rules
            ),
            PhiOutcome::Hold { .. }
        ));
        assert!(
            matches!(
                super::phi_guard_decides_before_a_post_leaves(
                    &hit,
                    AuthorKind::Organization,
                    public,
                    true,
                    rules
                ),
                PhiOutcome::Hold { .. }
            ),
            "confirmation does not release a professional's hold"
        );
        assert!(matches!(
            super::phi_guard_decides_before_a_post_leaves(
                &hit,
                AuthorKind::Caregiver,
                public,
                false,
                rules
            ),
            PhiOutcome::Warn { .. }
        ));
        assert_eq!(
            super::phi_guard_decides_before_a_post_leaves(
                &hit,
                AuthorKind::Patient,
                public,
                true,
                rules
            ),
            PhiOutcome::Publish
        );
        for sheltered in [
            Audience::new(Visibility::Direct),
            Audience::new(Visibility::Local),
            public.local_only(),
        ] {
            assert_eq!(
                super::phi_guard_decides_before_a_post_leaves(
                    &hit,
                    AuthorKind::Clinician,
                    sheltered,
                    false,
                    rules
                ),
                PhiOutcome::Publish,
                "{sheltered:?}"
            );
        }
        assert_eq!(
            super::phi_guard_decides_before_a_post_leaves(
                &finding(false),
                AuthorKind::Clinician,
                public,
                false,
                rules
            ),
            PhiOutcome::Publish
        );
        let narrow = PhiRules {
            professional: PhiAction::Narrow,
            member: PhiAction::Off,
        };
        assert_eq!(
            super::phi_guard_decides_before_a_post_leaves(
                &hit,
                AuthorKind::Clinician,
                public,
                false,
                narrow
            ),
            PhiOutcome::Narrow {
                audience: public.local_only(),
                reason: hit.reason.clone()
            }
        );
        assert_eq!(
            super::phi_guard_decides_before_a_post_leaves(
                &hit,
                AuthorKind::Patient,
                public,
                false,
                narrow
            ),
            PhiOutcome::Publish
        );
    }
}
