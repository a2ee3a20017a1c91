//! The urgent-question router's classifier.
//!
//! Given a post, whether it addresses a clinician, and what kind of author wrote it, the
//! router returns one label with the cues that produced it:
//!
//! - `emergency`: a possible medical emergency now or within hours (chest pain with sweating,
//!   stroke signs, anaphylaxis, overdose taken…), whoever the audience is;
//! - `crisis`: suicidal thoughts, plans or goodbyes, self-harm, intent to harm others, abuse
//!   happening now;
//! - `sensitive_care`: a question about the author's own (or a dependant's) specific care,
//!   asked of a clinician;
//! - `none`: everything else, including the many posts that merely *mention* these words.
//!
//! # Why rules and not a model
//! A mistaken route is visible to a person in distress, so every decision must be explainable
//! ("crisis: method_seeking — 'how many of my propranolol would be too many'") and fixable by
//! editing a phrase list. The pipeline is:
//!
//! 1. [`text`]: fold the post to ASCII (accents off, laughing emoji → `lol`) and cut sentences;
//! 2. [`lexicon`]: blank out other senses ("treasure chest", "killing me") from
//!    `data/urgent/masks.txt`, then find every cue of `data/urgent/cues_*.txt` and
//!    `context.txt` with one regex-set pass;
//! 3. [`context`]: drop symptom and crisis cues that sit in past-tense, hypothetical or
//!    animal sentences;
//! 4. [`rules`]: apply `data/urgent/rules.txt` (clusters such as "chest pain AND sweating"),
//!    with `unless` lines that suppress a label when the post is framed as teaching, news,
//!    awareness, fiction or an old post; the first label in priority order wins.
//!
//! Everything is linear in the input (the `regex` crate only) and bounded: posts longer than
//! [`text::MAX_ANALYSED_BYTES`] are read on their head and tail.
//!
//! Known remaining mistakes on the dev corpus, and why they are left, are listed in
//! `data/urgent/MISTAKES.md`.

pub use cohort_model::AuthorKind;

mod context;
pub mod eval;
mod lang;
mod lexicon;
mod rules;
mod text;

#[cfg(test)]
mod tests;

use std::fmt;

use lexicon::Lexicon;
use rules::{Kind, Rule};

/// The router's verdict on a post. Priority when several apply: emergency > crisis >
/// sensitive_care > none.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum UrgentLabel {
    Emergency,
    Crisis,
    SensitiveCare,
    None,
}

impl UrgentLabel {
    /// All labels, in priority order.
    pub const ALL: [UrgentLabel; 4] = [
        UrgentLabel::Emergency,
        UrgentLabel::Crisis,
        UrgentLabel::SensitiveCare,
        UrgentLabel::None,
    ];

    /// The stable name used in the corpora and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            UrgentLabel::Emergency => "emergency",
            UrgentLabel::Crisis => "crisis",
            UrgentLabel::SensitiveCare => "sensitive_care",
            UrgentLabel::None => "none",
        }
    }

    /// Parses [`UrgentLabel::as_str`] names.
    pub fn from_name(name: &str) -> Option<UrgentLabel> {
        UrgentLabel::ALL.into_iter().find(|l| l.as_str() == name)
    }

    fn index(self) -> usize {
        match self {
            UrgentLabel::Emergency => 0,
            UrgentLabel::Crisis => 1,
            UrgentLabel::SensitiveCare => 2,
            UrgentLabel::None => 3,
        }
    }
}

impl fmt::Display for UrgentLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the router found in one post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrgentFinding {
    pub label: UrgentLabel,
    /// The matched phrases behind the label (folded to ASCII), for explanation. Empty for
    /// `none`.
    pub cues: Vec<String>,
    /// Which rule fired, or why cues that were seen did not count.
    pub reason: String,
    /// `"en"`, `"es"` or `"fr"` when the language could be guessed.
    pub language: Option<&'static str>,
}

/// The router's data files are invalid (only possible after a bad edit; tests load them).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrgentError {
    #[error("{file}:{line}: {message}")]
    Data {
        file: String,
        line: usize,
        message: String,
    },
}

/// Signals set from the call's arguments rather than from the text.
const ARGUMENT_SIGNALS: [&str; 5] = [
    "to_clinician",
    "author_clinician",
    "author_patient",
    "author_caregiver",
    "author_org",
];

/// Most cues reported in one finding.
const MAX_CUES: usize = 12;

/// The classifier. Build it once (it compiles a few hundred patterns) and share it: it is
/// `Send + Sync` and `classify` takes `&self`.
pub struct UrgentRouter {
    lex: Lexicon,
    /// Signal names including derived ones, by id.
    names: Vec<String>,
    rules: Vec<Rule>,
    time: context::TimeSignals,
    /// Id of the first argument signal; the five follow in [`ARGUMENT_SIGNALS`] order.
    first_argument: usize,
    /// For each derived signal id, the index of the rule that defines it (to explain it).
    derived_by: std::collections::HashMap<usize, usize>,
    negation: regex::bytes::Regex,
}

impl fmt::Debug for UrgentRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrgentRouter")
            .field("signals", &self.names.len())
            .field("patterns", &self.lex.patterns.len())
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl UrgentRouter {
    /// Compiles the embedded lexicon and rule table.
    pub fn new() -> Result<UrgentRouter, UrgentError> {
        let lex = Lexicon::load(&ARGUMENT_SIGNALS)?;
        let mut names = lex.names.clone();
        let mut ids = lex.ids.clone();
        let rules = rules::parse(rules::RULE_FILE, &mut names, &mut ids)?;
        let lookup = |name: &str| {
            ids.get(name).copied().ok_or_else(|| UrgentError::Data {
                file: "context.txt".to_owned(),
                line: 0,
                message: format!("the router needs a signal named {name}"),
            })
        };
        let time = context::TimeSignals {
            past: lookup("time_past")?,
            now: lookup("time_now")?,
            irrealis: lookup("mood_irrealis")?,
            animal: lookup("subj_animal")?,
        };
        let first_argument = lookup(ARGUMENT_SIGNALS[0])?;
        let derived_by = rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r.kind {
                Kind::Derive(id) => Some((id, i)),
                _ => None,
            })
            .collect();
        let negation = context::negation_regex().map_err(|e| UrgentError::Data {
            file: "context.rs".to_owned(),
            line: 0,
            message: format!("negation pattern does not compile: {e}"),
        })?;
        Ok(UrgentRouter {
            lex,
            names,
            rules,
            time,
            first_argument,
            derived_by,
            negation,
        })
    }

    /// The process's router, compiled on first use and shared by every caller (the posting
    /// path and the inbox). Call it off the async workers the first time.
    pub fn shared() -> Result<&'static UrgentRouter, &'static UrgentError> {
        static SHARED: std::sync::OnceLock<Result<UrgentRouter, UrgentError>> =
            std::sync::OnceLock::new();
        SHARED.get_or_init(UrgentRouter::new).as_ref()
    }

    /// Labels one post. Never panics; cost is linear in `text` and capped for huge inputs.
    pub fn classify(
        &self,
        text: &str,
        addresses_clinician: bool,
        author: AuthorKind,
    ) -> UrgentFinding {
        let folded = text::fold(text);
        let language = lang::detect(&folded);
        let (hits, masked) = self.lex.scan(&folded);
        let sentences = text::sentences(&folded);
        let displaced = context::displaced_sentences(&sentences, &hits, self.time);
        let first = context::first_counting_match(
            &self.lex.names,
            &hits,
            &sentences,
            &displaced,
            &self.negation,
            folded.as_bytes(),
        );

        let mut active = vec![false; self.names.len()];
        for (id, f) in first.iter().enumerate() {
            if let Some(slot) = active.get_mut(id) {
                *slot = f.is_some();
            }
        }
        let author_slot = match author {
            AuthorKind::Clinician => 1,
            AuthorKind::Patient => 2,
            AuthorKind::Caregiver => 3,
            AuthorKind::Organization => 4,
        };
        for (offset, on) in [(0, addresses_clinician), (author_slot, true)] {
            if let Some(slot) = active.get_mut(self.first_argument + offset) {
                *slot = on;
            }
        }

        let mut fired: [Vec<&Rule>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        let mut suppressed: [Option<&Rule>; 3] = [None, None, None];
        for rule in &self.rules {
            let holds = rule.holds(&active);
            match rule.kind {
                Kind::Derive(id) => {
                    if let Some(slot) = active.get_mut(id) {
                        *slot = holds;
                    }
                }
                Kind::Label(l) if holds => {
                    if let Some(v) = fired.get_mut(l.index()) {
                        v.push(rule);
                    }
                }
                Kind::Unless(l) if holds => {
                    if let Some(s) = suppressed.get_mut(l.index()) {
                        s.get_or_insert(rule);
                    }
                }
                _ => {}
            }
        }

        let cue_text =
            |rule: &Rule| -> Vec<String> { self.cues_of(rule, &active, &first, &folded) };
        let mut notes = Vec::new();
        for label in [
            UrgentLabel::Emergency,
            UrgentLabel::Crisis,
            UrgentLabel::SensitiveCare,
        ] {
            let rules_for = &fired[label.index()];
            let Some(top) = rules_for.first() else {
                continue;
            };
            if let Some(unless) = suppressed[label.index()] {
                notes.push(format!(
                    "{label} rule {} set aside by its `unless` line [{}]",
                    top.name,
                    cue_text(unless).join(", ")
                ));
                continue;
            }
            let mut cues: Vec<String> = Vec::new();
            for r in rules_for {
                for c in cue_text(r) {
                    if !cues.contains(&c) && cues.len() < MAX_CUES {
                        cues.push(c);
                    }
                }
            }
            let names: Vec<&str> = rules_for.iter().map(|r| r.name.as_str()).collect();
            let mut reason = format!("{label}: {}", names.join(", "));
            if !notes.is_empty() {
                reason.push_str("; ");
                reason.push_str(&notes.join("; "));
            }
            return UrgentFinding {
                label,
                cues,
                reason,
                language,
            };
        }
        if !masked.is_empty() {
            notes.push(format!("other senses ignored: {}", masked.join(", ")));
        }
        let reason = if notes.is_empty() {
            "no rule matched".to_owned()
        } else {
            notes.join("; ")
        };
        UrgentFinding {
            label: UrgentLabel::None,
            cues: Vec::new(),
            reason,
            language,
        }
    }

    /// The matched phrases of a rule's positive terms.
    fn cues_of(
        &self,
        rule: &Rule,
        active: &[bool],
        first: &[Option<(usize, usize)>],
        folded: &str,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for term in rule.terms.iter().filter(|t| !t.negated) {
            for &id in &term.any_of {
                if !active.get(id).copied().unwrap_or(false) {
                    continue;
                }
                let cues = match (first.get(id).copied().flatten(), self.derived_by.get(&id)) {
                    (Some((s, e)), _) => folded
                        .get(s..e)
                        .map(|t| t.trim().to_owned())
                        .into_iter()
                        .collect(),
                    // A derived signal is explained by the cues of the rule defining it; rules
                    // only refer to earlier lines, so this recursion ends.
                    (None, Some(&r)) => match self.rules.get(r) {
                        Some(def) => self.cues_of(def, active, first, folded),
                        None => Vec::new(),
                    },
                    // Argument signals (author kind, audience) are not phrases of the post.
                    (None, None) => Vec::new(),
                };
                for c in cues {
                    if !c.is_empty() && !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
        }
        out
    }
}
