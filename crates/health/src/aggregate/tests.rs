//! The k-anonymity rules, each attacked the way a curious reader would: by adding one
//! patient and comparing, by changing an answer back and forth, by computing complements,
//! and by combining instances.

use proptest::prelude::*;

use super::*;
use crate::evaluation::Severity;

const K: u64 = 10;

fn report(patient: i64, effectiveness: Effectiveness) -> PatientReport {
    PatientReport {
        patient,
        evaluation: patient * 100,
        treatment: "rxnorm:metformin".into(),
        effectiveness,
        started_day: 20_000,
        duration_days: None,
        side_effects: Vec::new(),
    }
}

fn with_effect(mut r: PatientReport, name: &str, severity: Severity) -> PatientReport {
    r.side_effects.push(SideEffect {
        name: name.into(),
        severity,
    });
    r
}

fn only_cell(reports: &[PatientReport]) -> CurrentCell {
    let mut cells = summarize(reports, K);
    assert_eq!(cells.len(), 1);
    cells.remove(0)
}

/// Runs the publication rules the way the store does: decide, and record what was
/// published. Returns the view shown afterwards.
fn refresh(
    history: &mut Vec<(PastSnapshot, Option<CellView>)>,
    reports: &[PatientReport],
) -> Option<CellView> {
    let current = only_cell(reports);
    let past: Vec<PastSnapshot> = history.iter().map(|(s, _)| s.clone()).collect();
    match decide(&current, &past, K) {
        Decision::Keep => {}
        Decision::Publish => history.push((
            PastSnapshot {
                members: current.members.clone(),
                shown: true,
            },
            current.view.clone(),
        )),
        Decision::Withdraw => history.push((
            PastSnapshot {
                members: current.members.clone(),
                shown: false,
            },
            None,
        )),
    }
    history.last().and_then(|(_, v)| v.clone())
}

#[test]
fn a_cell_under_k_patients_is_not_shown() {
    let reports: Vec<PatientReport> = (1..K as i64)
        .map(|p| report(p, Effectiveness::Major))
        .collect();
    assert_eq!(only_cell(&reports).view, None);
    let mut history = Vec::new();
    assert_eq!(refresh(&mut history, &reports), None);
}

#[test]
fn each_patient_counts_once_with_their_latest_course() {
    let mut reports: Vec<PatientReport> = (1..=K as i64)
        .map(|p| report(p, Effectiveness::Major))
        .collect();
    // Patient 1 tried it twice; the later course says "none".
    let mut again = report(1, Effectiveness::None);
    again.started_day += 400;
    again.evaluation += 1;
    reports.push(again);
    let view = only_cell(&reports).view.unwrap_or_else(|| panic!("shown"));
    assert_eq!(view.patients, K);
    // 1 "none" and 9 "major" cannot be shown apart; merged buckets are 1 + 9 too: nothing.
    assert_eq!(view.effectiveness, None);
}

#[test]
fn adding_one_patient_and_comparing_reveals_nothing() {
    let mut reports: Vec<PatientReport> = (1..=K as i64)
        .map(|p| report(p, Effectiveness::Major))
        .collect();
    let mut history = Vec::new();
    let before = refresh(&mut history, &reports).unwrap_or_else(|| panic!("published"));
    assert_eq!(before.patients, K);
    // The attacker's target joins with an unusual answer: the published cell does not move
    // until K patients' contributions differ from it.
    for newcomer in 0..K as i64 - 1 {
        reports.push(report(1000 + newcomer, Effectiveness::None));
        assert_eq!(
            refresh(&mut history, &reports).as_ref(),
            Some(&before),
            "after {newcomer}"
        );
    }
    reports.push(report(2000, Effectiveness::None));
    let after = refresh(&mut history, &reports).unwrap_or_else(|| panic!("published"));
    assert_eq!(after.patients, 2 * K);
    assert_eq!(
        changed_patients(&history[0].0.members, &history[1].0.members),
        K
    );
}

#[test]
fn changing_one_answer_back_and_forth_reveals_nothing() {
    let mut reports: Vec<PatientReport> = (1..=2 * K as i64)
        .map(|p| report(p, Effectiveness::Major))
        .collect();
    let mut history = Vec::new();
    let first = refresh(&mut history, &reports).unwrap_or_else(|| panic!("published"));
    // K patients change their answer: a new snapshot.
    for r in reports.iter_mut().take(K as usize) {
        r.effectiveness = Effectiveness::Slight;
    }
    let second = refresh(&mut history, &reports).unwrap_or_else(|| panic!("published"));
    assert_ne!(first, second);
    // K-1 of them change back and one more patient changes: K changes since the second
    // snapshot, but only one since the first. Publishing would let a reader compare the
    // third with the first; the second stays.
    for r in reports.iter_mut().take(K as usize - 1) {
        r.effectiveness = Effectiveness::Major;
    }
    reports[K as usize].effectiveness = Effectiveness::None;
    let third = refresh(&mut history, &reports);
    assert_eq!(third.as_ref(), Some(&second));
    assert_eq!(history.len(), 2);
}

#[test]
fn a_side_effect_is_hidden_when_its_complement_is_small() {
    // 11 patients, 10 with nausea: showing "10" would show that exactly one had none.
    let reports: Vec<PatientReport> = (1..=11)
        .map(|p| {
            let r = report(p, Effectiveness::Moderate);
            if p <= 10 {
                with_effect(r, "nausea", Severity::Mild)
            } else {
                r
            }
        })
        .collect();
    let view = only_cell(&reports).view.unwrap_or_else(|| panic!("shown"));
    assert!(view.side_effects.is_empty(), "{view:?}");
    // With all 11 reporting it, the complement is 0: shown.
    let all: Vec<PatientReport> = (1..=11)
        .map(|p| with_effect(report(p, Effectiveness::Moderate), "nausea", Severity::Mild))
        .collect();
    let view = only_cell(&all).view.unwrap_or_else(|| panic!("shown"));
    assert_eq!(view.side_effects[0].patients, 11);
    assert_eq!(
        view.side_effects[0]
            .severity
            .as_ref()
            .map(|d| d.counts.clone()),
        Some(vec![11, 0, 0])
    );
}

#[test]
fn a_cell_that_empties_is_withdrawn_only_after_k_changes() {
    let mut reports: Vec<PatientReport> = (1..=K as i64)
        .map(|p| report(p, Effectiveness::Major))
        .collect();
    let mut history = Vec::new();
    let shown = refresh(&mut history, &reports);
    assert!(shown.is_some());
    // One patient leaves: under k now, but withdrawing at once would tell that someone left.
    reports.pop();
    assert_eq!(refresh(&mut history, &reports), shown);
    // Everyone leaves: withdrawn.
    reports.clear();
    reports.push(report(5000, Effectiveness::Major));
    assert_eq!(refresh(&mut history, &reports), None);
    assert!(!history.last().is_some_and(|(s, _)| s.shown));
}

#[test]
fn combining_instances_keeps_every_count_safe() {
    // Here: 10 "major", 10 "none" with severe nausea (the full split is safe).
    let local: Vec<PatientReport> = (1..=20)
        .map(|p| {
            if p <= 10 {
                report(p, Effectiveness::Major)
            } else {
                with_effect(report(p, Effectiveness::None), "nausea", Severity::Severe)
            }
        })
        .collect();
    // There: 6 "none", 4 "slight", 10 "moderate": only the merged buckets are safe.
    let remote: Vec<PatientReport> = (101..=120)
        .map(|p| {
            let answer = match p {
                101..=106 => Effectiveness::None,
                107..=110 => Effectiveness::Slight,
                _ => Effectiveness::Moderate,
            };
            report(p, answer)
        })
        .collect();
    let a = only_cell(&local).view.unwrap_or_else(|| panic!("a"));
    let b = only_cell(&remote).view.unwrap_or_else(|| panic!("b"));
    assert_eq!(a.effectiveness.as_ref().map(|d| d.level), Some(0));
    assert_eq!(b.effectiveness.as_ref().map(|d| d.level), Some(1));
    let combined = combine("rxnorm:metformin", &[&a, &b]).unwrap_or_else(|| panic!("combined"));
    assert_eq!(combined.patients, 40);
    assert!(is_k_anonymous(&combined, K), "{combined:?}");
    assert_eq!(combined.effectiveness.as_ref().map(|d| d.level), Some(1));
    assert_eq!(
        combined.effectiveness.map(|d| d.counts),
        Some(vec![20, 20, 0])
    );
    // Nausea was published by one instance only: counted from it.
    assert_eq!(combined.side_effects[0].patients, 10);
    // A contribution under k is refused.
    let mut small = b.clone();
    small.patients = K - 1;
    assert!(!is_k_anonymous(&small, K));
}

#[test]
fn member_lists_round_trip_through_bytes() {
    let cell = only_cell(
        &(1..=3)
            .map(|p| report(p, Effectiveness::Major))
            .collect::<Vec<_>>(),
    );
    let bytes = encode_members(&cell.members);
    assert_eq!(bytes.len(), 48);
    assert_eq!(decode_members(&bytes), Some(cell.members));
    assert_eq!(decode_members(&[1, 2, 3]), None);
}

fn effectiveness_strategy() -> impl Strategy<Value = Effectiveness> {
    proptest::sample::select(Effectiveness::ALL.to_vec())
}

fn report_strategy() -> impl Strategy<Value = PatientReport> {
    (
        0i64..60,
        effectiveness_strategy(),
        proptest::option::of(0i64..800),
        proptest::collection::btree_set((0usize..4, 0usize..3), 0..3),
    )
        .prop_map(|(patient, effectiveness, duration_days, effects)| {
            let mut r = report(patient, effectiveness);
            r.duration_days = duration_days;
            let mut seen = BTreeSet::new();
            for (name, severity) in effects {
                if seen.insert(name) {
                    r.side_effects.push(SideEffect {
                        name: ["nausea", "headache", "fatigue", "rash"][name].into(),
                        severity: Severity::ALL[severity],
                    });
                }
            }
            r
        })
}

proptest! {
    /// Every cell summarize shows is k-anonymous by the same check peers' cells get.
    #[test]
    fn every_shown_cell_is_k_anonymous(
        reports in proptest::collection::vec(report_strategy(), 0..120),
        k in 2u64..12,
    ) {
        for cell in summarize(&reports, k) {
            if let Some(view) = cell.view {
                prop_assert!(is_k_anonymous(&view, k), "{:?}", view);
                prop_assert_eq!(view.patients, cell.members.len() as u64);
            }
        }
    }

    /// Through any sequence of patients arriving, leaving and changing their answers, any
    /// two snapshots ever shown differ in at least k patients' contributions, so no
    /// comparison of published aggregates isolates fewer than k patients.
    #[test]
    fn any_two_shown_snapshots_differ_in_at_least_k_patients(
        steps in proptest::collection::vec((0u8..3, report_strategy()), 1..200),
    ) {
        let mut reports: Vec<PatientReport> = Vec::new();
        let mut history = Vec::new();
        for (action, r) in steps {
            match action {
                0 => reports.push(r),
                1 => reports.retain(|x| x.patient != r.patient),
                _ => {
                    reports.retain(|x| x.patient != r.patient);
                    reports.push(r);
                }
            }
            if reports.is_empty() {
                continue;
            }
            refresh(&mut history, &reports);
        }
        let shown: Vec<&PastSnapshot> = history.iter().map(|(s, _)| s).filter(|s| s.shown).collect();
        for (i, a) in shown.iter().enumerate() {
            for b in &shown[i + 1..] {
                prop_assert!(changed_patients(&a.members, &b.members) >= K);
            }
        }
        for (_, view) in &history {
            if let Some(view) = view {
                prop_assert!(is_k_anonymous(view, K));
            }
        }
    }
}
