//! Loading the cue dictionaries in `data/urgent/` and matching them against a folded post.
//!
//! A cue file is a list of `signal_name  regex` lines. Several lines may feed the same signal
//! (one per phrasing or language); the signal fires when any of them matches. Keeping the
//! phrasings as data means a reviewer can read, extend and cite them without reading Rust, and
//! every match can be reported back as an explanation ("chest pain", "sweating").
//!
//! All patterns are compiled as byte regexes, case-insensitive, with Unicode off: the text they
//! run on is ASCII (see [`super::text`]), and ASCII word boundaries keep matching on the fast,
//! linear-time lazy DFA. A single [`RegexSet`] pass finds which patterns occur at all; only those
//! are then run again to locate their matches.

use std::collections::HashMap;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::UrgentError;

/// The cue files, embedded at compile time so the router cannot start without its lexicon.
pub(crate) const CUE_FILES: &[(&str, &str)] = &[
    ("cues_en.txt", include_str!("../../data/urgent/cues_en.txt")),
    ("cues_es.txt", include_str!("../../data/urgent/cues_es.txt")),
    ("cues_fr.txt", include_str!("../../data/urgent/cues_fr.txt")),
    ("context.txt", include_str!("../../data/urgent/context.txt")),
];

/// Phrases whose words would otherwise look like cues but mean something else ("treasure
/// chest", "this meeting is killing me"). They are blanked out before any cue is matched.
pub(crate) const MASK_FILE: (&str, &str) =
    ("masks.txt", include_str!("../../data/urgent/masks.txt"));

/// Upper bounds handed to the regex compiler. The lexicon is small; these only stop a bad
/// data edit from producing a pathological automaton.
const SIZE_LIMIT: usize = 32 * 1024 * 1024;
const DFA_SIZE_LIMIT: usize = 64 * 1024 * 1024;

/// One compiled cue pattern.
pub(crate) struct Pattern {
    pub signal: usize,
    pub regex: Regex,
}

/// Every compiled cue, indexed by signal.
pub(crate) struct Lexicon {
    /// Signal names, by id. Ids are dense and start at zero.
    pub names: Vec<String>,
    pub ids: HashMap<String, usize>,
    pub patterns: Vec<Pattern>,
    pub set: RegexSet,
    pub mask: Option<Regex>,
}

/// Where one signal occurs in the folded text.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hits {
    /// Byte spans of the matches, in text order (per pattern, then concatenated).
    pub spans: Vec<(usize, usize)>,
}

fn builder(pattern: &str) -> RegexBuilder {
    let mut b = RegexBuilder::new(pattern);
    b.case_insensitive(true)
        .unicode(false)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT);
    b
}

/// Splits a data line into `(name, pattern)`; `None` for blanks and comments.
fn split_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_end();
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    match trimmed.split_once(char::is_whitespace) {
        Some((name, rest)) => Some((name, rest.trim())),
        None => Some((trimmed, "")),
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Lexicon {
    /// Compiles the embedded cue files. `extra` names signals that have no pattern (they are
    /// set by the router itself, such as the author kind).
    pub(crate) fn load(extra: &[&str]) -> Result<Lexicon, UrgentError> {
        Self::from_sources(CUE_FILES, MASK_FILE, extra)
    }

    pub(crate) fn from_sources(
        files: &[(&str, &str)],
        masks: (&str, &str),
        extra: &[&str],
    ) -> Result<Lexicon, UrgentError> {
        let mut names: Vec<String> = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut patterns = Vec::new();
        let mut sources = Vec::new();
        for &(file, body) in files {
            for (n, line) in body.lines().enumerate() {
                let Some((name, pattern)) = split_line(line) else {
                    continue;
                };
                let bad = |message: String| UrgentError::Data {
                    file: file.to_owned(),
                    line: n + 1,
                    message,
                };
                if !valid_name(name) {
                    return Err(bad(format!("signal name {name:?} must be [a-z0-9_]+")));
                }
                if pattern.is_empty() {
                    return Err(bad(format!("signal {name} has no pattern")));
                }
                let regex = builder(pattern)
                    .build()
                    .map_err(|e| bad(format!("pattern for {name} does not compile: {e}")))?;
                let next = names.len();
                let id = *ids.entry(name.to_owned()).or_insert(next);
                if id == next {
                    names.push(name.to_owned());
                }
                patterns.push(Pattern { signal: id, regex });
                sources.push(pattern.to_owned());
            }
        }
        for name in extra {
            if ids.contains_key(*name) {
                return Err(UrgentError::Data {
                    file: "(router)".to_owned(),
                    line: 0,
                    message: format!("signal {name} is reserved and set by the router"),
                });
            }
            ids.insert((*name).to_owned(), names.len());
            names.push((*name).to_owned());
        }
        let set = RegexSetBuilder::new(&sources)
            .case_insensitive(true)
            .unicode(false)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(DFA_SIZE_LIMIT)
            .build()
            .map_err(|e| UrgentError::Data {
                file: "(all cue files)".to_owned(),
                line: 0,
                message: format!("cue set does not compile: {e}"),
            })?;
        let mask = compile_masks(masks)?;
        Ok(Lexicon {
            names,
            ids,
            patterns,
            set,
            mask,
        })
    }

    /// Finds every signal in `folded`, after blanking the masked phrases. Returns the hits
    /// (indexed by signal id) and the masked phrases that were removed.
    pub(crate) fn scan(&self, folded: &str) -> (Vec<Hits>, Vec<String>) {
        let mut bytes = folded.as_bytes().to_vec();
        let mut masked = Vec::new();
        if let Some(mask) = &self.mask {
            let spans: Vec<(usize, usize)> = mask
                .find_iter(&bytes)
                .map(|m| (m.start(), m.end()))
                .collect();
            for (s, e) in spans {
                if masked.len() < 8 {
                    masked.push(String::from_utf8_lossy(&bytes[s..e]).into_owned());
                }
                bytes[s..e].fill(b' ');
            }
        }
        let mut hits = vec![Hits::default(); self.names.len()];
        for i in self.set.matches(&bytes).iter() {
            let Some(p) = self.patterns.get(i) else {
                continue;
            };
            let Some(h) = hits.get_mut(p.signal) else {
                continue;
            };
            h.spans
                .extend(p.regex.find_iter(&bytes).map(|m| (m.start(), m.end())));
        }
        (hits, masked)
    }
}

fn compile_masks((file, body): (&str, &str)) -> Result<Option<Regex>, UrgentError> {
    let mut alternatives = Vec::new();
    for (n, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        builder(line).build().map_err(|e| UrgentError::Data {
            file: file.to_owned(),
            line: n + 1,
            message: format!("mask does not compile: {e}"),
        })?;
        alternatives.push(format!("(?:{line})"));
    }
    if alternatives.is_empty() {
        return Ok(None);
    }
    let joined = alternatives.join("|");
    builder(&joined)
        .build()
        .map(Some)
        .map_err(|e| UrgentError::Data {
            file: file.to_owned(),
            line: 0,
            message: format!("masks do not compile together: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lexicon_compiles() {
        let lex = Lexicon::load(&["to_clinician"]);
        assert!(lex.is_ok(), "{:?}", lex.err());
    }

    #[test]
    fn bad_pattern_names_file_and_line() {
        let err = Lexicon::from_sources(&[("x.txt", "# c\nem_a  (unclosed\n")], ("m", ""), &[]);
        match err {
            Err(UrgentError::Data { file, line, .. }) => {
                assert_eq!((file.as_str(), line), ("x.txt", 2))
            }
            other => panic!("expected a data error, got {:?}", other.err()),
        }
    }

    #[test]
    fn masked_phrases_do_not_match() {
        let lex = Lexicon::from_sources(
            &[("x.txt", "em_chest  chest")],
            ("m", "treasure chest"),
            &[],
        );
        let Ok(lex) = lex else { panic!("lexicon") };
        let (hits, masked) = lex.scan("a treasure chest arrived");
        assert!(hits[0].spans.is_empty());
        assert_eq!(masked, vec!["treasure chest".to_owned()]);
        let (hits, _) = lex.scan("my chest hurts");
        assert_eq!(hits[0].spans, vec![(3, 8)]);
    }
}
