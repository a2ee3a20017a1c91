//! Unit tests: one per rule family, named after it, plus robustness and the dev corpus.
//! The example posts are written for these tests; none is copied from the corpora.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::{AuthorKind, UrgentFinding, UrgentLabel, UrgentRouter};

mod crisis_sensitive;
mod emergency;

pub(super) fn router() -> &'static UrgentRouter {
    static ROUTER: OnceLock<UrgentRouter> = OnceLock::new();
    ROUTER.get_or_init(|| match UrgentRouter::new() {
        Ok(r) => r,
        Err(e) => panic!("embedded data must load: {e}"),
    })
}

pub(super) fn run(text: &str, to_clinician: bool, author: AuthorKind) -> UrgentFinding {
    router().classify(text, to_clinician, author)
}

pub(super) fn label(text: &str) -> UrgentLabel {
    run(text, false, AuthorKind::Patient).label
}

pub(super) fn label_to_clinician(text: &str) -> UrgentLabel {
    run(text, true, AuthorKind::Patient).label
}

#[track_caller]
pub(super) fn assert_label(want: UrgentLabel, texts: &[&str]) {
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

#[test]
fn negated_symptoms_are_not_emergency() {
    assert_label(
        UrgentLabel::None,
        &[
            "no chest pain, no sweating, just a cough that won't quit. anyone tried honey?",
            "I'm not suicidal, just worn out by this flare. venting",
        ],
    );
    // "not just" adds a symptom rather than denying one.
    assert_label(
        UrgentLabel::Emergency,
        &["it's not just chest pain, I'm sweating and my jaw aches"],
    );
}

#[test]
fn reported_questions_are_not_crisis() {
    assert_label(
        UrgentLabel::None,
        &["my GP asked if I ever had thoughts of ending my life. I said no"],
    );
}

#[test]
fn insulin_dosing_error_is_emergency() {
    assert_label(
        UrgentLabel::Emergency,
        &["injected 30 units instead of 3 by mistake, what now"],
    );
}

#[test]
fn clinician_case_presentation_is_not_emergency() {
    let f = run(
        "Tonight in resus: 40M, crushing chest pain, diaphoresis. Cath lab in 12 minutes.",
        false,
        AuthorKind::Clinician,
    );
    assert_eq!(f.label, UrgentLabel::None, "{f:?}");
}
