//! The urgent-question rules (issue 10), one test per rule, named after it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cohort_model::{Id, Visibility};
use cohort_policy as policy;
use cohort_policy::{
    Audience, ContactKind, ContactRoutes, UrgentChoice, UrgentOutcome, crisis_report_comment,
};
use cohort_screening::urgent::{UrgentFinding, UrgentLabel};

fn audience(visibility: Visibility) -> Audience {
    Audience::new(visibility)
}

const FLAGGED: [UrgentLabel; 3] = [
    UrgentLabel::Emergency,
    UrgentLabel::Crisis,
    UrgentLabel::SensitiveCare,
];

#[test]
fn urgent_questions_leave_public_threads() {
    let community = Id::from_i64(7 << 20).unwrap();
    for label in FLAGGED {
        for visibility in [
            Visibility::Public,
            Visibility::Unlisted,
            Visibility::Followers,
            Visibility::Local,
        ] {
            let asked = audience(visibility);
            assert_eq!(
                policy::urgent_questions_leave_public_threads(
                    label,
                    true,
                    asked,
                    UrgentChoice::Undecided
                ),
                UrgentOutcome::Steer { label },
                "{label} {visibility:?}"
            );
            assert_eq!(
                policy::urgent_questions_leave_public_threads(
                    label,
                    true,
                    asked,
                    UrgentChoice::Confirmed
                ),
                UrgentOutcome::Confirmed { label }
            );
            // Nothing to steer without a professional addressed.
            assert_eq!(
                policy::urgent_questions_leave_public_threads(
                    label,
                    false,
                    asked,
                    UrgentChoice::Undecided
                ),
                UrgentOutcome::Publish
            );
        }
        // Narrowing keeps local-only and leaves the community.
        let asked = Audience {
            community: Some(community),
            ..audience(Visibility::Public).local_only()
        };
        assert_eq!(
            policy::urgent_questions_leave_public_threads(label, true, asked, UrgentChoice::Direct),
            UrgentOutcome::Narrow {
                label,
                audience: Audience {
                    visibility: Visibility::Direct,
                    local_only: true,
                    community: None,
                },
            }
        );
        // A direct message is already where such a question belongs.
        assert_eq!(
            policy::urgent_questions_leave_public_threads(
                label,
                true,
                audience(Visibility::Direct),
                UrgentChoice::Undecided
            ),
            UrgentOutcome::Publish
        );
    }
    // Unflagged posts pass whatever the choice.
    for choice in [
        UrgentChoice::Undecided,
        UrgentChoice::Direct,
        UrgentChoice::Confirmed,
    ] {
        assert_eq!(
            policy::urgent_questions_leave_public_threads(
                UrgentLabel::None,
                true,
                audience(Visibility::Public),
                choice
            ),
            UrgentOutcome::Publish
        );
    }
}

#[test]
fn clinicians_take_urgent_questions_to_a_direct_channel() {
    let public = audience(Visibility::Public);
    for label in FLAGGED {
        assert_eq!(
            policy::clinicians_take_urgent_questions_to_a_direct_channel(
                true,
                label,
                public,
                UrgentChoice::Undecided
            ),
            UrgentOutcome::Steer { label }
        );
        assert_eq!(
            policy::clinicians_take_urgent_questions_to_a_direct_channel(
                true,
                label,
                public,
                UrgentChoice::Confirmed
            ),
            UrgentOutcome::Confirmed { label }
        );
        assert!(matches!(
            policy::clinicians_take_urgent_questions_to_a_direct_channel(
                true,
                label,
                public,
                UrgentChoice::Direct
            ),
            UrgentOutcome::Narrow { audience, .. } if audience.visibility == Visibility::Direct
        ));
        // Patients replying to each other are not reminded.
        assert_eq!(
            policy::clinicians_take_urgent_questions_to_a_direct_channel(
                false,
                label,
                public,
                UrgentChoice::Undecided
            ),
            UrgentOutcome::Publish
        );
    }
    assert_eq!(
        policy::clinicians_take_urgent_questions_to_a_direct_channel(
            true,
            UrgentLabel::None,
            public,
            UrgentChoice::Undecided
        ),
        UrgentOutcome::Publish
    );
}

#[test]
fn crisis_posts_reach_moderators_first() {
    assert!(policy::crisis_posts_reach_moderators_first(
        UrgentLabel::Crisis,
        true
    ));
    assert!(!policy::crisis_posts_reach_moderators_first(
        UrgentLabel::Crisis,
        false
    ));
    for label in [
        UrgentLabel::Emergency,
        UrgentLabel::SensitiveCare,
        UrgentLabel::None,
    ] {
        assert!(
            !policy::crisis_posts_reach_moderators_first(label, true),
            "{label}"
        );
    }
}

#[test]
fn the_crisis_report_explains_without_the_posts_text() {
    let finding = UrgentFinding {
        label: UrgentLabel::Crisis,
        cues: vec!["ending my life".to_owned()],
        reason: "crisis: suicidal_ideation".to_owned(),
        language: Some("en"),
    };
    let comment = crisis_report_comment(&finding, "The author published it as asked.");
    assert!(comment.contains("crisis: suicidal_ideation"), "{comment}");
    assert!(comment.contains("\"ending my life\""), "{comment}");
    assert!(comment.ends_with("The author published it as asked."));
    let long = UrgentFinding {
        reason: "x".repeat(5000),
        ..finding
    };
    assert_eq!(crisis_report_comment(&long, "").chars().count(), 1000);
}

#[test]
fn contact_routes_are_offered_in_the_order_the_label_needs() {
    let routes = ContactRoutes {
        phone: Some("+1 555 0100".into()),
        secure_messaging_url: Some("https://portal.example/messages".into()),
        emergency_number: Some("911".into()),
        crisis_line: Some("988".into()),
    };
    let kinds =
        |label| -> Vec<ContactKind> { routes.for_label(label).iter().map(|r| r.kind).collect() };
    assert_eq!(
        kinds(UrgentLabel::Emergency)[0],
        ContactKind::EmergencyNumber
    );
    assert_eq!(kinds(UrgentLabel::Crisis)[0], ContactKind::CrisisLine);
    assert_eq!(
        kinds(UrgentLabel::SensitiveCare)[0],
        ContactKind::SecureMessaging
    );
    assert_eq!(routes.all().len(), 4);
    assert!(
        routes
            .describe(UrgentLabel::Crisis)
            .starts_with("crisis line 988; emergency number 911")
    );
    let only_phone = ContactRoutes {
        phone: Some("+1 555 0100".into()),
        ..ContactRoutes::default()
    };
    assert_eq!(only_phone.for_label(UrgentLabel::Crisis).len(), 1);
    assert!(
        ContactRoutes::default()
            .describe(UrgentLabel::Emergency)
            .contains("emergency number")
    );
}
