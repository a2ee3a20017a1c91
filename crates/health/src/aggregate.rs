//! k-anonymous aggregates of evaluations, and the rules that keep them so over time.
//!
//! **Cells are fixed**: one per community and coded treatment. There are no other filters,
//! so no two cells of one community are a set and a subset of each other to subtract.
//! An evaluation is filed in at most one community, so communities' cells are disjoint.
//!
//! **Within a cell** ([`summarize`]) each patient counts once (their latest course of the
//! treatment); the cell is shown only with at least k patients; every published count is 0
//! or at least k, including the complements a reader could compute (a side effect reported
//! by `s` of `n` patients is shown only when `n - s` is 0 or at least k; distributions go
//! through [`crate::scale`]).
//!
//! **Across time** ([`decide`]) a cell is published as a snapshot, kept with the list of
//! patients it covered and a fingerprint of what each contributed. A new snapshot replaces
//! the shown one only when at least k patients' contributions differ from **every**
//! snapshot published before (added, removed or changed), so the difference of any two
//! published snapshots concerns at least k patients: adding one patient and comparing shows
//! nothing, and neither does changing one answer back and forth.
//!
//! **Across instances** ([`combine`]) a community's instance adds the k-anonymous cells its
//! member instances send; sums of counts that are each 0 or at least k are too.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::evaluation::{Effectiveness, SideEffect};
use crate::scale::{
    DURATION, Distribution, EFFECTIVENESS, SEVERITY, duration_category, safe_count,
};

/// The default k: cells with fewer distinct patients are never shown.
pub const DEFAULT_MIN_PATIENTS: u64 = 10;
/// The smallest k an instance may configure.
pub const LOWEST_MIN_PATIENTS: u64 = 2;
/// How many side effects a cell lists at most (the most reported first).
pub const TOP_SIDE_EFFECTS: usize = 10;

/// One evaluation as aggregation reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatientReport {
    /// The author (a local account id).
    pub patient: i64,
    /// The evaluation's id (breaks ties between courses started the same day).
    pub evaluation: i64,
    /// The coded treatment reference.
    pub treatment: String,
    /// The answer.
    pub effectiveness: Effectiveness,
    /// When the course started (day number).
    pub started_day: i64,
    /// How long it ran, if stopped.
    pub duration_days: Option<i64>,
    /// Side effects, names unique.
    pub side_effects: Vec<SideEffect>,
}

/// A side effect as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideEffectView {
    /// Its name.
    pub name: String,
    /// Patients reporting it (0 or at least k, and so is the rest of the cell).
    pub patients: u64,
    /// By severity, when safe.
    pub severity: Option<Distribution>,
}

/// A published cell: what anyone allowed to read the community's aggregates sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellView {
    /// The treatment reference.
    pub treatment: String,
    /// Distinct patients (at least k).
    pub patients: u64,
    /// Effectiveness, when safe.
    pub effectiveness: Option<Distribution>,
    /// Duration (ongoing or by length), when safe.
    pub duration: Option<Distribution>,
    /// The most reported side effects that are safe to show.
    pub side_effects: Vec<SideEffectView>,
}

/// Who a cell covers and what each contributed: a fingerprint per patient of the inputs
/// that can change a published number.
pub type Members = BTreeMap<i64, u64>;

/// A cell as it is now: its members and, if it has at least k patients, its view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentCell {
    /// The treatment reference.
    pub treatment: String,
    /// Patients and fingerprints.
    pub members: Members,
    /// The view, `None` below k.
    pub view: Option<CellView>,
}

/// A snapshot published before, as [`decide`] needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PastSnapshot {
    /// Its members.
    pub members: Members,
    /// Whether it showed numbers (`false`: it withdrew the cell).
    pub shown: bool,
}

/// What to do with a cell now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Keep showing the last snapshot (or nothing, if there is none).
    Keep,
    /// Publish the current view as a new snapshot.
    Publish,
    /// Stop showing the cell: it fell under k and enough has changed to say so.
    Withdraw,
}

/// FNV-1a, 64 bits: stable across builds and platforms (fingerprints are stored).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(std::iter::once(&0xff)) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// The fingerprint of what a report contributes to published numbers.
fn fingerprint(report: &PatientReport) -> u64 {
    let mut effects: Vec<&SideEffect> = report.side_effects.iter().collect();
    effects.sort();
    let category = [duration_category(report.duration_days) as u8];
    let mut parts: Vec<&[u8]> = vec![report.effectiveness.as_str().as_bytes(), &category];
    for effect in &effects {
        parts.push(effect.name.as_bytes());
        parts.push(effect.severity.as_str().as_bytes());
    }
    fnv1a(&parts)
}

/// Each patient's latest course of each treatment (by start day, then evaluation id).
fn latest_per_patient(reports: &[PatientReport]) -> BTreeMap<&str, BTreeMap<i64, &PatientReport>> {
    let mut cells: BTreeMap<&str, BTreeMap<i64, &PatientReport>> = BTreeMap::new();
    for report in reports {
        let slot = cells
            .entry(report.treatment.as_str())
            .or_default()
            .entry(report.patient)
            .or_insert(report);
        if (report.started_day, report.evaluation) > (slot.started_day, slot.evaluation) {
            *slot = report;
        }
    }
    cells
}

fn view_of(treatment: &str, patients: &BTreeMap<i64, &PatientReport>, k: u64) -> Option<CellView> {
    let n = patients.len() as u64;
    if n < k {
        return None;
    }
    let mut effectiveness = vec![0u64; EFFECTIVENESS.categories.len()];
    let mut duration = vec![0u64; DURATION.categories.len()];
    let mut effects: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for report in patients.values() {
        if let Some(slot) = Effectiveness::ALL
            .iter()
            .position(|e| *e == report.effectiveness)
            .and_then(|i| effectiveness.get_mut(i))
        {
            *slot += 1;
        }
        if let Some(slot) = duration.get_mut(duration_category(report.duration_days)) {
            *slot += 1;
        }
        for effect in &report.side_effects {
            let counts = effects
                .entry(effect.name.as_str())
                .or_insert_with(|| vec![0; SEVERITY.categories.len()]);
            let index = crate::evaluation::Severity::ALL
                .iter()
                .position(|s| *s == effect.severity);
            if let Some(slot) = index.and_then(|i| counts.get_mut(i)) {
                *slot += 1;
            }
        }
    }
    let mut side_effects: Vec<SideEffectView> = effects
        .into_iter()
        .filter_map(|(name, by_severity)| {
            let reporting: u64 = by_severity.iter().sum();
            (reporting >= k && safe_count(n - reporting, k)).then(|| SideEffectView {
                name: name.to_owned(),
                patients: reporting,
                severity: SEVERITY.publish(&by_severity, k),
            })
        })
        .collect();
    side_effects.sort_by(|a, b| b.patients.cmp(&a.patients).then(a.name.cmp(&b.name)));
    side_effects.truncate(TOP_SIDE_EFFECTS);
    Some(CellView {
        treatment: treatment.to_owned(),
        patients: n,
        effectiveness: EFFECTIVENESS.publish(&effectiveness, k),
        duration: DURATION.publish(&duration, k),
        side_effects,
    })
}

/// Every cell of one community's reports as it is now, by treatment.
pub fn summarize(reports: &[PatientReport], k: u64) -> Vec<CurrentCell> {
    latest_per_patient(reports)
        .into_iter()
        .map(|(treatment, patients)| CurrentCell {
            treatment: treatment.to_owned(),
            members: patients
                .iter()
                .map(|(patient, report)| (*patient, fingerprint(report)))
                .collect(),
            view: view_of(treatment, &patients, k),
        })
        .collect()
}

/// Patients whose contribution differs between two member lists (present in one only, or
/// with another fingerprint).
pub fn changed_patients(a: &Members, b: &Members) -> u64 {
    let patients: BTreeSet<&i64> = a.keys().chain(b.keys()).collect();
    patients
        .into_iter()
        .filter(|p| a.get(p) != b.get(p))
        .count() as u64
}

/// Whether to publish, withdraw or keep, given every snapshot published before (oldest
/// first). See the module documentation for why these rules defeat differencing.
pub fn decide(current: &CurrentCell, history: &[PastSnapshot], k: u64) -> Decision {
    let Some(latest) = history.last() else {
        return if current.view.is_some() {
            Decision::Publish
        } else {
            Decision::Keep
        };
    };
    if changed_patients(&current.members, &latest.members) < k {
        return Decision::Keep;
    }
    if current.view.is_none() {
        return if latest.shown {
            Decision::Withdraw
        } else {
            Decision::Keep
        };
    }
    let far_from_every_shown = history
        .iter()
        .filter(|s| s.shown)
        .all(|s| changed_patients(&current.members, &s.members) >= k);
    if far_from_every_shown {
        Decision::Publish
    } else {
        Decision::Keep
    }
}

/// Adds cells of one treatment published by several instances (each already k-anonymous).
/// A side effect one contributor did not publish is counted from those that did.
pub fn combine(treatment: &str, parts: &[&CellView]) -> Option<CellView> {
    if parts.is_empty() {
        return None;
    }
    let mut effects: BTreeMap<&str, Vec<&SideEffectView>> = BTreeMap::new();
    for part in parts {
        for effect in &part.side_effects {
            effects
                .entry(effect.name.as_str())
                .or_default()
                .push(effect);
        }
    }
    let mut side_effects: Vec<SideEffectView> = effects
        .into_iter()
        .map(|(name, views)| SideEffectView {
            name: name.to_owned(),
            patients: views.iter().map(|v| v.patients).sum(),
            severity: SEVERITY.combine(views.iter().map(|v| v.severity.as_ref())),
        })
        .collect();
    side_effects.sort_by(|a, b| b.patients.cmp(&a.patients).then(a.name.cmp(&b.name)));
    side_effects.truncate(TOP_SIDE_EFFECTS);
    Some(CellView {
        treatment: treatment.to_owned(),
        patients: parts.iter().map(|p| p.patients).sum(),
        effectiveness: EFFECTIVENESS.combine(parts.iter().map(|p| p.effectiveness.as_ref())),
        duration: DURATION.combine(parts.iter().map(|p| p.duration.as_ref())),
        side_effects,
    })
}

/// Whether every number of a view is safe for `k` (a received contribution is checked
/// with this before it is counted: a peer's cell under k is refused, not trusted).
pub fn is_k_anonymous(view: &CellView, k: u64) -> bool {
    let distribution_ok = |d: &Option<Distribution>, total: u64| {
        d.as_ref().is_none_or(|d| {
            d.counts.iter().all(|n| safe_count(*n, k)) && d.counts.iter().sum::<u64>() == total
        })
    };
    view.patients >= k
        && distribution_ok(&view.effectiveness, view.patients)
        && distribution_ok(&view.duration, view.patients)
        && view.side_effects.iter().all(|e| {
            e.patients >= k
                && e.patients <= view.patients
                && safe_count(view.patients - e.patients, k)
                && distribution_ok(&e.severity, e.patients)
        })
}

/// Member lists as bytes (16 per patient: id, fingerprint, big-endian), for storage.
pub fn encode_members(members: &Members) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(members.len() * 16);
    for (patient, print) in members {
        bytes.extend_from_slice(&patient.to_be_bytes());
        bytes.extend_from_slice(&print.to_be_bytes());
    }
    bytes
}

/// The inverse of [`encode_members`]; `None` if the bytes are not a member list.
pub fn decode_members(bytes: &[u8]) -> Option<Members> {
    if !bytes.len().is_multiple_of(16) {
        return None;
    }
    bytes
        .chunks_exact(16)
        .map(|chunk| {
            let (patient, print) = chunk.split_at(8);
            Some((
                i64::from_be_bytes(patient.try_into().ok()?),
                u64::from_be_bytes(print.try_into().ok()?),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests;
