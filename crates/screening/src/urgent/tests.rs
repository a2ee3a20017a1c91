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
    let f = run("chest pressure for half an hour now and I'm sweating, it goes into my left arm", false, AuthorKind::Patient);
    assert_eq!(f.label, UrgentLabel::Emergency);
    assert!(f.cues.iter().any(|c| c.contains("chest")), "{f:?}");
    assert!(f.reason.contains("chest_pain_with_associated_symptom"), "{f:?}");
}

fn dev_corpus() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/urgent/dev.jsonl");
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
        println!("MISTAKE {} gold={} predicted={} ({})", m.id, m.gold, m.predicted, m.reason);
    }
    println!("{}", report.to_json_line());
    assert!(report.emergency_recall.unwrap_or(0.0) >= 0.95, "{}", report.to_json_line());
    assert!(report.crisis_recall.unwrap_or(0.0) >= 0.95, "{}", report.to_json_line());
    assert!(report.false_alarm_rate.unwrap_or(1.0) <= 0.05, "{}", report.to_json_line());
}
