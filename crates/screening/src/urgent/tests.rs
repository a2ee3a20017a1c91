//! Unit tests: one per rule family, named after it, plus robustness and the dev corpus.
//! The example posts are written for these tests; none is copied from the corpora.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::{AuthorKind, UrgentFinding, UrgentLabel, UrgentRouter};

fn router() -> &'static UrgentRouter {
    static ROUTER: OnceLock<UrgentRouter> = OnceLock::new();
    ROUTER.get_or_init(|| match UrgentRouter::new() {
        Ok(r) => r,
        Err(e) => panic!("embedded data must load: {e}"),
    })
}

fn run(text: &str, to_clinician: bool, author: AuthorKind) -> UrgentFinding {
    router().classify(text, to_clinician, author)
}

fn label(text: &str) -> UrgentLabel {
    run(text, false, AuthorKind::Patient).label
}

fn label_to_clinician(text: &str) -> UrgentLabel {
    run(text, true, AuthorKind::Patient).label
}

#[track_caller]
fn assert_label(want: UrgentLabel, texts: &[&str]) {
    for t in texts {
        let f = run(t, false, AuthorKind::Patient);
        assert_eq!(f.label, want, "{t:?} -> {f:?}");
    }
}

#[test]
fn router_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<UrgentRouter>();
}

#[test]
fn labels_have_stable_names() {
    let names: Vec<&str> = UrgentLabel::ALL.iter().map(|l| l.as_str()).collect();
    assert_eq!(names, ["emergency", "crisis", "sensitive_care", "none"]);
    for l in UrgentLabel::ALL {
        assert_eq!(UrgentLabel::from_name(l.as_str()), Some(l));
    }
}

#[test]
fn chest_pain_with_sweating_is_emergency() {
    let f = run(
        "chest pressure for half an hour now and I'm sweating, it goes into my left arm",
        false,
        AuthorKind::Patient,
    );
    assert_eq!(f.label, UrgentLabel::Emergency);
    assert!(f.cues.iter().any(|c| c.contains("chest")), "{f:?}");
    assert!(
        f.reason.contains("chest_pain_with_associated_symptom"),
        "{f:?}"
    );
}

fn dev_corpus() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/urgent/dev.jsonl");
    if p.exists() {
        Some(p)
    } else {
        println!("dev corpus not found at {}; skipping", p.display());
        None
    }
}

#[test]
fn dev_corpus_meets_recall_and_false_alarm_targets() {
    let Some(path) = dev_corpus() else { return };
    let report = match super::eval::evaluate_jsonl(&path) {
        Ok(r) => r,
        Err(e) => panic!("dev corpus must evaluate: {e}"),
    };
    for m in &report.mistakes {
        println!(
            "MISTAKE {} gold={} predicted={} ({})",
            m.id, m.gold, m.predicted, m.reason
        );
    }
    println!("{}", report.to_json_line());
    assert!(
        report.emergency_recall.unwrap_or(0.0) >= 0.95,
        "{}",
        report.to_json_line()
    );
    assert!(
        report.crisis_recall.unwrap_or(0.0) >= 0.95,
        "{}",
        report.to_json_line()
    );
    assert!(
        report.false_alarm_rate.unwrap_or(1.0) <= 0.05,
        "{}",
        report.to_json_line()
    );
}

// ------------------------------------------------------------------ emergency families

#[test]
fn chest_pain_cluster_multilingual_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "tight chest and feel like throwing up, it started 30 min ago while shovelling snow",
            "my husband says his chest feels heavy and he's grey and clammy",
            "me duele mucho el pecho y estoy sudando, me da miedo",
            "douleur dans la poitrine qui descend dans le bras gauche depuis ce matin",
        ],
    );
}

#[test]
fn chest_pain_alone_or_other_senses_is_not_emergency() {
    assert_label(
        UrgentLabel::None,
        &[
            "chest day done, arms are jelly",
            "finally got it off my chest with my sister",
            "bought a toy chest for the kids' room",
        ],
    );
}

#[test]
fn stroke_signs_are_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "mum's smile is lopsided all of a sudden and she's slurring",
            "my right arm went numb and weak 20 minutes ago and I keep mixing up words, words come out wrong",
            "a mi padre se le cayo la cara de un lado y habla raro",
            "mon pere a le visage de travers et n'arrive plus a parler",
        ],
    );
}

#[test]
fn anaphylaxis_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "ate a satay skewer at the party and my tongue is swelling up",
            "stung by a bee, hives everywhere and wheezing, used my epipen",
            "se me esta hinchando la garganta despues de comer mariscos",
        ],
    );
}

#[test]
fn severe_bleeding_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "cut my leg on the fence and it won't stop bleeding, soaked through two towels",
            "coughing up blood this morning, quite a lot",
        ],
    );
}

#[test]
fn overdose_taken_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "I took all my sleeping pills about an hour ago, I just want to sleep forever",
            "my son swallowed a button battery from a toy",
            "took 30 tylenol last night for my tooth, now my stomach hurts",
        ],
    );
}

#[test]
fn fever_in_young_infant_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "our 5 week old has a temperature of 38.3 and is not interested in feeding",
            "mi bebe de 3 semanas tiene fiebre de 38,5",
        ],
    );
}

#[test]
fn thunderclap_headache_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "sudden explosive headache out of nowhere, worst headache ever, throwing up",
            "le pire mal de tete de ma vie, d'un coup",
        ],
    );
}

#[test]
fn breathing_trouble_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "I can't breathe properly, lips look blue",
            "my son's breathing is really fast and his ribs are sucking in with each breath",
            "SOB getting worse all afternoon even at rest",
        ],
    );
}

#[test]
fn dka_signs_are_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &["blood sugar 420 and ketones are high, vomiting all morning"],
    );
}

#[test]
fn seizure_now_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "he has been seizing for 6 minutes and won't come round",
            "my wife just had her first ever seizure, she's very confused",
        ],
    );
}

#[test]
fn playing_it_down_does_not_lower_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &[
            "lol probably nothing but my face is drooping on the left and my arm feels weak",
            "prob just anxiety haha but crushing chest pain and sweating, gonna sleep it off",
        ],
    );
}

#[test]
fn past_emergency_story_is_not_urgent() {
    assert_label(
        UrgentLabel::None,
        &[
            "Three years ago my face drooped and my arm went weak. Today I ran a half marathon!",
            "Remember when I had crushing chest pain and sweating on the plane? Cardiac rehab graduate now",
            "in 2018 my throat swelled shut at a wedding. carry your epipens, folks",
            "hace dos anos tuve un infarto con dolor en el pecho y sudor frio. hoy estoy bien",
        ],
    );
}

#[test]
fn teaching_and_awareness_are_not_urgent() {
    assert_label(
        UrgentLabel::None,
        &[
            "Teaching point: crushing chest pain with sweating in a diabetic is an MI until proven otherwise.",
            "Know the signs: face drooping, arm weakness, speech difficulty. #StrokeAwareness",
            "Quiz for the residents: 4 week old, fever 38.5, what next?",
        ],
    );
}

#[test]
fn fiction_and_tv_are_not_urgent() {
    assert_label(
        UrgentLabel::None,
        &[
            "watching the new medical drama and the main character can't breathe, lips blue, so dramatic",
            "in my novel the heroine wants to die after the war. too bleak?",
        ],
    );
}

#[test]
fn animals_are_not_urgent() {
    assert_label(
        UrgentLabel::None,
        &[
            "my dog is having a seizure right now and won't stop shaking, which vet is open?",
            "our cat can't breathe properly, taking her to the emergency vet",
        ],
    );
}

// ------------------------------------------------------------------ crisis families

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

// ------------------------------------------------------------------ robustness

#[test]
fn empty_and_huge_inputs_do_not_panic() {
    assert_eq!(label(""), UrgentLabel::None);
    assert_eq!(label("   \n\n  "), UrgentLabel::None);
    let huge = "lorem ipsum chest ".repeat(30_000) + "crushing chest pain and sweating now";
    assert!(huge.len() > 500_000);
    assert_eq!(label(&huge), UrgentLabel::Emergency);
    let repeated = "a".repeat(600_000);
    assert_eq!(label(&repeated), UrgentLabel::None);
    let emoji = "😂🫠".repeat(100_000);
    assert_eq!(label(&emoji), UrgentLabel::None);
}

#[test]
fn finding_reports_language_and_cues() {
    let f = run(
        "tengo un dolor muy fuerte en el pecho y estoy sudando",
        false,
        AuthorKind::Patient,
    );
    assert_eq!(f.language, Some("es"));
    assert!(!f.cues.is_empty());
    let none = run("new wheelchair cushion arrived", false, AuthorKind::Patient);
    assert!(none.cues.is_empty());
    assert_eq!(none.reason, "no rule matched");
}

proptest! {
    #[test]
    fn classify_never_panics(s in ".{0,400}", to in any::<bool>(), k in 0usize..4) {
        let f = router().classify(&s, to, AuthorKind::ALL[k]);
        prop_assert!(UrgentLabel::ALL.contains(&f.label));
    }
}

/// Evaluates an extra corpus named by `URGENT_CORPUS` and prints its mistakes; run with
/// `cargo test -p cohort-screening urgent::tests::extra_corpus -- --ignored --nocapture`.
#[test]
#[ignore = "needs URGENT_CORPUS"]
fn extra_corpus_report() {
    let Ok(path) = std::env::var("URGENT_CORPUS") else {
        return;
    };
    match super::eval::evaluate_jsonl(std::path::Path::new(&path)) {
        Ok(report) => {
            for m in &report.mistakes {
                println!(
                    "MISTAKE {} gold={} predicted={} ({})",
                    m.id, m.gold, m.predicted, m.reason
                );
            }
            println!("{}", report.to_json_line());
        }
        Err(e) => println!("cannot evaluate {path}: {e}"),
    }
}

#[test]
#[ignore = "debug helper"]
fn debug_signals() {
    let Ok(text) = std::env::var("URGENT_TEXT") else {
        return;
    };
    let r = router();
    let folded = super::text::fold(&text);
    let (hits, masked) = r.lex.scan(&folded);
    println!("folded: {folded}\nmasked: {masked:?}");
    for (i, h) in hits.iter().enumerate() {
        if !h.spans.is_empty() {
            let parts: Vec<&str> = h
                .spans
                .iter()
                .filter_map(|&(s, e)| folded.get(s..e))
                .collect();
            println!("{} {:?}", r.lex.names[i], parts);
        }
    }
    println!("{:?}", r.classify(&text, false, AuthorKind::Patient));
}

#[test]
fn every_text_signal_is_used_by_a_rule() {
    let r = router();
    let mut used = vec![false; r.names.len()];
    for rule in &r.rules {
        for t in &rule.terms {
            for &s in &t.any_of {
                used[s] = true;
            }
        }
    }
    for name in ["time_past", "time_now", "mood_irrealis", "subj_animal"] {
        if let Some(&i) = r.lex.ids.get(name) {
            used[i] = true;
        }
    }
    let unused: Vec<&str> = r
        .lex
        .names
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(n, _)| n.as_str())
        .collect();
    let unused: Vec<&str> = unused
        .into_iter()
        .filter(|n| !n.starts_with("author_") && *n != "to_clinician")
        .collect();
    assert!(unused.is_empty(), "signals no rule reads: {unused:?}");
}
