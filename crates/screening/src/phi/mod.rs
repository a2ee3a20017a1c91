//! The PHI guard's detectors: find HIPAA Safe Harbor identifiers in a post and decide whether
//! the post identifies a patient other than its author in connection with health or care.
//!
//! Layout: [`text`] (tokens, windows), [`lexicon`] (dictionaries shipped under
//! `data/phi/`), detectors by family ([`names`], [`contacts`], [`ids`], [`dates`], [`geo`]),
//! [`decision`] (whose identifier is it; hold or not; the reason) and [`eval`] (corpus metrics).
//!
//! Everything runs on the `regex` crate and hash lookups, so time is linear in the input.
//! Only the first [`MAX_SCAN_BYTES`] of a post are scanned; the reason says so when a post is
//! longer. Remaining dev-corpus mistakes are listed in `data/phi/MISTAKES.md`.

mod contacts;
mod dates;
mod decision;
pub mod eval;
mod geo;
mod ids;
mod lexicon;
mod names;
mod shared;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use regex::Regex;

pub use cohort_model::AuthorKind;
pub use eval::{EvalError, PhiEvalReport};
pub use shared::SharedPhiGuard;

/// Posts longer than this are screened on their first `MAX_SCAN_BYTES` bytes only. Real posts
/// are a few KB; the cap bounds the work an abusive 500 KB post can cause.
pub const MAX_SCAN_BYTES: usize = 64 * 1024;

/// A Safe Harbor identifier kind, named as in the evaluation corpus.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhiKind {
    Name,
    Geo,
    Date,
    AgeOver89,
    Phone,
    Fax,
    Email,
    Url,
    Ip,
    Ssn,
    Mrn,
    HealthPlan,
    Account,
    License,
    Vehicle,
    Device,
    Biometric,
    Photo,
    OtherId,
}

impl PhiKind {
    /// Every kind, in corpus order.
    pub const ALL: [PhiKind; 19] = [
        PhiKind::Name,
        PhiKind::Geo,
        PhiKind::Date,
        PhiKind::AgeOver89,
        PhiKind::Phone,
        PhiKind::Fax,
        PhiKind::Email,
        PhiKind::Url,
        PhiKind::Ip,
        PhiKind::Ssn,
        PhiKind::Mrn,
        PhiKind::HealthPlan,
        PhiKind::Account,
        PhiKind::License,
        PhiKind::Vehicle,
        PhiKind::Device,
        PhiKind::Biometric,
        PhiKind::Photo,
        PhiKind::OtherId,
    ];

    /// The corpus name ("age_over_89", "health_plan", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            PhiKind::Name => "name",
            PhiKind::Geo => "geo",
            PhiKind::Date => "date",
            PhiKind::AgeOver89 => "age_over_89",
            PhiKind::Phone => "phone",
            PhiKind::Fax => "fax",
            PhiKind::Email => "email",
            PhiKind::Url => "url",
            PhiKind::Ip => "ip",
            PhiKind::Ssn => "ssn",
            PhiKind::Mrn => "mrn",
            PhiKind::HealthPlan => "health_plan",
            PhiKind::Account => "account",
            PhiKind::License => "license",
            PhiKind::Vehicle => "vehicle",
            PhiKind::Device => "device",
            PhiKind::Biometric => "biometric",
            PhiKind::Photo => "photo",
            PhiKind::OtherId => "other_id",
        }
    }

    /// When two detectors claim overlapping text, the higher priority wins: a URL that
    /// contains a name is one URL span; an SSN is not also a phone number.
    fn priority(self) -> u8 {
        match self {
            PhiKind::Url => 20,
            PhiKind::OtherId => 19,
            PhiKind::Email => 18,
            PhiKind::Ssn => 17,
            PhiKind::Photo => 16,
            PhiKind::Mrn | PhiKind::HealthPlan | PhiKind::Account | PhiKind::License => 15,
            PhiKind::Biometric | PhiKind::Device | PhiKind::Vehicle => 15,
            PhiKind::Ip => 14,
            PhiKind::Fax | PhiKind::Phone => 13,
            PhiKind::Date => 12,
            PhiKind::Geo => 11,
            PhiKind::Name => 10,
            PhiKind::AgeOver89 => 9,
        }
    }
}

impl fmt::Display for PhiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PhiKind {
    type Err = PhiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhiKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| PhiError::UnknownKind(s.to_owned()))
    }
}

/// One identifier in a post. Offsets are Unicode code points, `end` exclusive, like the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhiSpan {
    pub start: usize,
    pub end: usize,
    pub kind: PhiKind,
}

/// What the guard found in one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhiFinding {
    /// The post identifies a patient other than the author in a health or care context.
    pub identifies_patient: bool,
    /// Every identifier found, sorted and non-overlapping, whoever it belongs to.
    pub spans: Vec<PhiSpan>,
    /// A short human-readable explanation of the decision.
    pub reason: String,
}

/// Errors building the guard.
#[derive(Debug, thiserror::Error)]
pub enum PhiError {
    #[error("PHI rule does not compile: {pattern}: {source}")]
    Rule {
        pattern: String,
        source: Box<regex::Error>,
    },
    #[error("unknown PHI kind {0:?}")]
    UnknownKind(String),
}

/// Compiles one of the guard's built-in patterns.
///
/// Word boundaries are made ASCII-only (`(?-u:\b)`): the regex crate cannot run a Unicode
/// `\b` on its fast DFA engines once the text holds non-ASCII characters (emoji, accents),
/// which made a post take milliseconds. Identifier shapes are ASCII anyway; names in other
/// scripts use patterns without `\b`.
pub(crate) fn compile(pattern: &str) -> Result<Regex, PhiError> {
    let ascii_boundaries = pattern.replace(r"\b", r"(?-u:\b)");
    Regex::new(&ascii_boundaries).map_err(|source| PhiError::Rule {
        pattern: pattern.to_owned(),
        source: Box::new(source),
    })
}

/// Extra evidence a detector saw that the decision layer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    None,
    /// The name follows a clinician title ("Dr.", "Nurse").
    Staff,
}

/// A detector hit in byte offsets.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub kind: PhiKind,
    pub hint: Hint,
}

impl Found {
    pub fn new(start: usize, end: usize, kind: PhiKind, hint: Hint) -> Found {
        Found {
            start,
            end,
            kind,
            hint,
        }
    }
}

/// The PHI guard: compiled rules and dictionaries. Build once and share (`Send + Sync`).
pub struct PhiGuard {
    lexicon: lexicon::Lexicon,
    names: names::NameRules,
    contacts: contacts::ContactRules,
    ids: ids::IdRules,
    dates: dates::DateRules,
    geo: geo::GeoRules,
    decider: decision::Decider,
}

impl fmt::Debug for PhiGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhiGuard").finish_non_exhaustive()
    }
}

impl PhiGuard {
    /// Compiles the rules and loads the dictionaries (a few milliseconds; do it once).
    pub fn new() -> Result<PhiGuard, PhiError> {
        Ok(PhiGuard {
            lexicon: lexicon::Lexicon::load(),
            names: names::NameRules::new()?,
            contacts: contacts::ContactRules::new()?,
            ids: ids::IdRules::new()?,
            dates: dates::DateRules::new()?,
            geo: geo::GeoRules::new()?,
            decider: decision::Decider::new()?,
        })
    }

    /// Screens one post written by an author of kind `author`.
    pub fn screen(&self, text: &str, author: AuthorKind) -> PhiFinding {
        let scanned = &text[..text::floor_boundary(text, MAX_SCAN_BYTES)];
        let mut found = Vec::new();
        self.contacts.detect(scanned, &mut found);
        self.ids.detect(scanned, &mut found);
        let mut names = Vec::new();
        self.names.detect(scanned, &self.lexicon, &mut names);
        // A name inside a URL, e-mail or handle is part of that span, not a separate person.
        names.retain(|n| !found.iter().any(|f| f.start < n.end && n.start < f.end));
        self.geo.detect(scanned, &mut found);
        self.geo
            .detect_towns(scanned, &names, &self.lexicon, &mut found);
        self.dates.detect_dates(scanned, &names, &mut found);
        self.dates.detect_ages(scanned, &mut found);
        found.extend(names);
        let found = resolve_overlaps(found);
        let decision = self.decider.decide(scanned, author, &found, &self.lexicon);
        let index = text::CharIndex::new(scanned);
        let spans = found
            .iter()
            .zip(&decision.owners)
            .filter(|(_, o)| **o != decision::Owner::Fictional)
            .map(|(f, _)| PhiSpan {
                start: index.to_char(f.start),
                end: index.to_char(f.end),
                kind: f.kind,
            })
            .collect();
        let mut reason = decision.reason;
        if scanned.len() < text.len() {
            reason.push_str(&format!(
                " (only the first {MAX_SCAN_BYTES} bytes were scanned)"
            ));
        }
        PhiFinding {
            identifies_patient: decision.identifies_patient,
            spans,
            reason,
        }
    }
}

/// Keeps non-overlapping hits, preferring higher-priority kinds, then longer spans; returns
/// them sorted by start. `O(n log n)` with an interval map.
fn resolve_overlaps(mut found: Vec<Found>) -> Vec<Found> {
    found.retain(|f| f.end > f.start);
    found.sort_by(|a, b| {
        b.kind
            .priority()
            .cmp(&a.kind.priority())
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut taken: BTreeMap<usize, Found> = BTreeMap::new();
    for f in found {
        let clash_before = taken
            .range(..f.end)
            .next_back()
            .is_some_and(|(_, t)| t.end > f.start);
        if !clash_before {
            taken.insert(f.start, f);
        }
    }
    taken.into_values().collect()
}
