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
//! matches sits in a sentence that is not displaced. All other signals (framing, sensitive-care
//! topics, time markers) count wherever they occur.

use super::lexicon::Hits;
use super::text;

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
                }
                if best.is_none_or(|b| span.0 < b.0) {
                    best = Some(span);
                }
            }
            best
        })
        .collect()
}
