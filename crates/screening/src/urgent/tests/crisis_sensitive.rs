//! Crisis and sensitive-care rule families and their hard negatives.

use super::*;
use crate::urgent::{AuthorKind, UrgentLabel};

#[test]
fn suicidal_ideation_is_crisis() {
    assert_label(
        UrgentLabel::Crisis,
        &[
            "I keep thinking about ending my life",
            "honestly I wish I could go to sleep and never wake up",
            "everyone would be better off if I was gone",
        ],
    );
}

#[test]
fn spanish_suicidal_ideation_is_crisis() {
    assert_label(
        UrgentLabel::Crisis,
        &["no quiero seguir viviendo, ya no aguanto mas"],
    );
}

#[test]
fn french_suicidal_ideation_is_crisis() {
    assert_label(
        UrgentLabel::Crisis,
        &["j'ai envie de mourir, tout le monde serait mieux sans moi"],
    );
}

#[test]
fn method_seeking_is_crisis() {
    assert_label(
        UrgentLabel::Crisis,
        &[
            "what's the lethal dose of amitriptyline",
            "how many of my insulin pens would it take to not wake up",
        ],
    );
}

#[test]
fn goodbye_post_is_crisis() {
    assert_label(
        UrgentLabel::Crisis,
        &["this is my final goodbye. I can't go on. thank you all for everything"],
    );
}

#[test]
fn self_harm_is_crisis() {
    assert_label(
        UrgentLabel::Crisis,
        &[
            "I started cutting myself again last night",
            "me corto los brazos cuando me siento asi",
        ],
    );
}

#[test]
fn intent_to_harm_others_is_crisis() {
    assert_label(
        UrgentLabel::Crisis,
        &["I'm going to hurt someone at that clinic if they turn me away again"],
    );
}

#[test]
fn ongoing_abuse_is_crisis() {
    assert_label(
        UrgentLabel::Crisis,
        &[
            "my partner hits me when I ask for money for my meds, he's home now",
            "il me frappe et il va me tuer, je suis enfermee",
        ],
    );
}

#[test]
fn hyperbole_is_not_crisis() {
    assert_label(
        UrgentLabel::None,
        &[
            "this meeting is killing me",
            "if I have to redo this spreadsheet I'll kill myself lol",
            "me muero de ganas de ver a mi nieta",
            "I'm dying to try that new cafe",
        ],
    );
}

#[test]
fn lyrics_and_awareness_are_not_crisis() {
    assert_label(
        UrgentLabel::None,
        &[
            "the lyrics of that song, 'I want to die in your arms', are on repeat",
            "Suicide Prevention Week: if you're thinking about ending your life, our line is open",
        ],
    );
}

#[test]
fn past_crisis_recovery_is_not_crisis() {
    assert_label(
        UrgentLabel::None,
        &[
            "5 years since I tried to end my life. still here, still fighting",
            "two years self-harm free today",
        ],
    );
}

// ------------------------------------------------------------------ sensitive care

#[test]
fn dose_question_to_clinician_is_sensitive() {
    assert_eq!(
        label_to_clinician(
            "@dr.x@clinic.example should I cut my bisoprolol to 2.5 mg? pulse is 52"
        ),
        UrgentLabel::SensitiveCare
    );
    assert_eq!(
        label_to_clinician("@dra.x@h.example ¿puedo dejar la sertralina? ya me siento mejor"),
        UrgentLabel::SensitiveCare
    );
    assert_eq!(
        label_to_clinician("@dr.x@chu.example est-ce que je peux arreter la pilule avant la FIV ?"),
        UrgentLabel::SensitiveCare
    );
}

#[test]
fn sensitive_question_to_peers_is_none() {
    assert_eq!(
        label("should I cut my bisoprolol to 2.5 mg? pulse is 52. what did you all do?"),
        UrgentLabel::None
    );
}

#[test]
fn admin_thanks_and_general_questions_to_clinicians_are_none() {
    for t in [
        "@clinic@x.example can I move my appointment to Friday?",
        "@dr.x@x.example thank you so much for the care last week",
        "@dr.x@x.example general question: how does a statin actually work?",
    ] {
        assert_eq!(label_to_clinician(t), UrgentLabel::None, "{t}");
    }
}

#[test]
fn crisis_outranks_medication_question() {
    assert_eq!(
        label_to_clinician(
            "@dr.x@x.example can I up my sertraline? I keep thinking about killing myself"
        ),
        UrgentLabel::Crisis
    );
}

#[test]
fn emergency_outranks_dose_question() {
    assert_eq!(
        label_to_clinician(
            "@dr.x@x.example my lips and tongue are swelling after the new amoxicillin, should I stop it?"
        ),
        UrgentLabel::Emergency
    );
}

#[test]
fn organization_accounts_do_not_ask_sensitive_questions() {
    let f = run(
        "@dr.x@x.example can our members stop their statin before the walk?",
        true,
        AuthorKind::Organization,
    );
    assert_eq!(f.label, UrgentLabel::None, "{f:?}");
}
