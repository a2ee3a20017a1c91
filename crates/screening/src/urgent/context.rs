//! Temporal and framing context: which symptom and crisis cues describe something happening
//! now, to a person, and which are told as past stories, hypotheticals or about animals.
//!
//! The label definitions only count what is happening now or within the last hours. Rather
//! than writing "not last year" into every symptom pattern, each sentence is classified once:
//!
//! - a sentence is *displaced* when it contains a past-time marker (`time_past`: "two years
//!   ago", "last spring", "in 2019", "when I was a kid") or an irrealis marker
//!   (`mood_irrealis`: "if you see", "what if", "signs of"), unless it also contains a
//!   present-time marker (`time_now`: "now", "since lunch", "20 min ago", "again") that is not
//!   part of the past marker itself ("two years ago *today*");
//! - a sentence whose subject is an animal (`subj_animal`) is always displaced: the router is
//!   for people, and vets are a different service.
//!
//! Content signals (names starting `em_` or `cr_`) only count when at least one of their
//! matches sits in a sentence that is not displaced and is not negated: a match right after
//! "no", "without", "denies", "not", "sin", "sans", "pas de"… (at most three words before it,
//! in the same sentence) is a symptom the author rules out ("no chest pain, no sweating, just a
//! cough"). All other signals (framing, sensitive-care topics, time markers) count wherever
//! they occur.

use regex::bytes::Regex;

use super::lexicon::Hits;
use super::text;

/// A negator followed by at most three words, anchored at the end of the text before a match.
/// Phrases such as "not just" or "no idea" are excluded afterwards (see [`NOT_NEGATIONS`]).
pub(crate) const NEGATION_PATTERN: &str = r"(?i-u)\b(no|not|never|without|denies|denied|nor|zero|sin|ni|sans|pas de|pas d'|aucun|aucune|jamais)\b\s+(\w+[,]?\s+){0,3}$";

/// Phrases that start like a negator but do not deny what follows ("no idea, chest pain…").
const NOT_NEGATIONS: &[&str] = &[
    "not just",
    "not only",
    "no idea",
    "no clue",
    "no way",
    "no one",
    "nobody",
    "no matter",
    "no reason",
    "no longer",
    "not sure",
    "never mind",
    "no sign of it stopping",
    "no help",
    "not helping",
    "not working",
    "not stopping",
    "no better",
    "not better",
    "no end",
];

/// How many bytes before a match are searched for a negator.
const NEGATION_WINDOW: usize = 40;

/// Compiles [`NEGATION_PATTERN`].
pub(crate) fn negation_regex() -> Result<Regex, regex::Error> {
    Regex::new(NEGATION_PATTERN)
}

/// True when the match starting at `start` is preceded, within its sentence, by a negator.
pub(crate) fn is_negated(
    negation: &Regex,
    folded: &[u8],
    sentence_start: usize,
    start: usize,
) -> bool {
    let from = start.saturating_sub(NEGATION_WINDOW).max(sentence_start);
    let Some(window) = folded.get(from..start) else {
        return false;
    };
    match negation.find(window) {
        Some(m) => {
            let cue = window[m.start()..].to_ascii_lowercase();
            !NOT_NEGATIONS.iter().any(|p| cue.starts_with(p.as_bytes()))
        }
        None => false,
    }
}

/// Ids of the signals this module reads; looked up once when the router is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeSignals {
    pub past: usize,
    pub now: usize,
    pub irrealis: usize,
    pub animal: usize,
}

/// True for signals whose matches are filtered by sentence context.
pub(crate) fn is_content(name: &str) -> bool {
    name.starts_with("em_") || name.starts_with("cr_")
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Marks which sentences are displaced (see the module documentation).
pub(crate) fn displaced_sentences(
    sentences: &[(usize, usize)],
    hits: &[Hits],
    t: TimeSignals,
) -> Vec<bool> {
    let n = sentences.len();
    let mut past = vec![false; n];
    let mut now = vec![false; n];
    let mut animal = vec![false; n];
    let spans = |id: usize| hits.get(id).map(|h| h.spans.as_slice()).unwrap_or(&[]);
    let past_spans: Vec<(usize, usize)> = spans(t.past)
        .iter()
        .chain(spans(t.irrealis))
        .copied()
        .collect();
    for &(s, _) in &past_spans {
        past[text::sentence_of(sentences, s)] = true;
    }
    for &span in spans(t.now) {
        if !past_spans.iter().any(|&p| overlaps(p, span)) {
            now[text::sentence_of(sentences, span.0)] = true;
        }
    }
    for &(s, _) in spans(t.animal) {
        animal[text::sentence_of(sentences, s)] = true;
    }
    (0..n).map(|i| animal[i] || (past[i] && !now[i])).collect()
}

/// For each signal, the first match that counts (see the module documentation), if any.
pub(crate) fn first_counting_match(
    names: &[String],
    hits: &[Hits],
    sentences: &[(usize, usize)],
    displaced: &[bool],
    negation: &Regex,
    folded: &[u8],
) -> Vec<Option<(usize, usize)>> {
    hits.iter()
        .enumerate()
        .map(|(id, h)| {
            let content = names.get(id).is_some_and(|n| is_content(n));
            let mut best: Option<(usize, usize)> = None;
            for &span in &h.spans {
                if content {
                    let si = text::sentence_of(sentences, span.0);
                    if displaced.get(si).copied().unwrap_or(false) {
                        continue;
                    }
                    let sentence_start = sentences.get(si).map_or(0, |s| s.0);
                    if is_negated(negation, folded, sentence_start, span.0) {
                        continue;
                    }
                }
                if best.is_none_or(|b| span.0 < b.0) {
                    best = Some(span);
                }
            }
            best
        })
        .collect()
}
