//! Word lists shipped as data under `crates/screening/data/phi/` (sources and licences in the
//! README there), compiled into the binary and loaded once into hash sets.

use std::collections::HashSet;

const FIRST_NAMES: &str = include_str!("../../data/phi/first_names.txt");
const AMBIGUOUS_FIRST_NAMES: &str = include_str!("../../data/phi/ambiguous_first_names.txt");
const SURNAMES: &str = include_str!("../../data/phi/surnames.txt");
const COMMON_WORDS: &str = include_str!("../../data/phi/common_words.txt");
const EPONYMS: &str = include_str!("../../data/phi/eponyms.txt");
const DRUG_BRANDS: &str = include_str!("../../data/phi/drug_brands.txt");
const HISTORICAL: &str = include_str!("../../data/phi/historical_people.txt");
const FICTIONAL: &str = include_str!("../../data/phi/fictional_characters.txt");
const HEALTH_TERMS: &str = include_str!("../../data/phi/health_terms.txt");

/// All dictionaries, lower-case.
pub(crate) struct Lexicon {
    pub first_names: HashSet<String>,
    /// Given names that are also everyday words ("Grace", "Will"): need a stronger cue.
    pub ambiguous_first_names: HashSet<String>,
    pub surnames: HashSet<String>,
    pub common_words: HashSet<String>,
    /// Single-word eponyms ("parkinson") and multi-word ones ("tommy john").
    pub eponyms: HashSet<String>,
    pub drug_brands: HashSet<String>,
    /// Full names of historical cases and clinicians ("henrietta lacks").
    pub historical: HashSet<String>,
    pub fictional: HashSet<String>,
    health_exact: HashSet<String>,
    health_prefixes: Vec<String>,
}

/// Entries of a list file: comment lines start with `#`; one entry a line, or several
/// whitespace-separated entries a line when `split_words` is set.
fn entries(data: &str, split_words: bool) -> impl Iterator<Item = String> + '_ {
    data.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(move |l| {
            let items: Vec<String> = if split_words {
                l.split_whitespace().map(str::to_lowercase).collect()
            } else {
                let t = l.trim();
                if t.is_empty() {
                    Vec::new()
                } else {
                    vec![t.to_lowercase()]
                }
            };
            items
        })
}

impl Lexicon {
    pub fn load() -> Lexicon {
        let mut eponyms: HashSet<String> = HashSet::new();
        for line in EPONYMS.lines().filter(|l| !l.starts_with('#')) {
            let t = line.trim().to_lowercase();
            if t.is_empty() {
                continue;
            }
            // Lines with many single words are lists; short lines with two words are phrases.
            let parts: Vec<&str> = t.split_whitespace().collect();
            if parts.len() == 2 && line.len() < 20 {
                eponyms.insert(t.clone());
            } else {
                eponyms.extend(parts.iter().map(|s| (*s).to_owned()));
            }
        }
        let mut health_exact = HashSet::new();
        let mut health_prefixes = Vec::new();
        for term in entries(HEALTH_TERMS, true) {
            if let Some(p) = term.strip_suffix('*') {
                health_prefixes.push(p.to_owned());
            } else {
                health_exact.insert(term);
            }
        }
        Lexicon {
            first_names: entries(FIRST_NAMES, false).collect(),
            ambiguous_first_names: entries(AMBIGUOUS_FIRST_NAMES, false).collect(),
            surnames: entries(SURNAMES, false).collect(),
            common_words: entries(COMMON_WORDS, false).collect(),
            eponyms,
            drug_brands: entries(DRUG_BRANDS, true).collect(),
            historical: entries(HISTORICAL, false).collect(),
            fictional: entries(FICTIONAL, false).collect(),
            health_exact,
            health_prefixes,
        }
    }

    /// A given name that counts on its own (not an everyday word, not a drug brand).
    pub fn is_clear_first_name(&self, lower: &str) -> bool {
        self.first_names.contains(lower)
            && !self.ambiguous_first_names.contains(lower)
            && !self.drug_brands.contains(lower)
            && !self.common_words.contains(lower)
    }

    pub fn is_first_name(&self, lower: &str) -> bool {
        self.first_names.contains(lower)
    }

    /// A word that reads as a health or care term ("biopsy", "chemo", "Humira").
    pub fn is_health_term(&self, lower: &str) -> bool {
        self.health_exact.contains(lower)
            || self.drug_brands.contains(lower)
            || self
                .health_prefixes
                .iter()
                .any(|p| lower.starts_with(p.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionaries_load_and_separate_names_from_words() {
        let lex = Lexicon::load();
        assert!(lex.first_names.len() > 5000);
        assert!(lex.is_clear_first_name("bev"));
        assert!(lex.is_clear_first_name("kofi"));
        assert!(!lex.is_clear_first_name("grace"));
        assert!(!lex.is_clear_first_name("allegra"));
        assert!(lex.surnames.contains("kowalczyk"));
        assert!(lex.eponyms.contains("parkinson"));
        assert!(lex.eponyms.contains("tommy john"));
        assert!(lex.historical.contains("henrietta lacks"));
        assert!(lex.is_health_term("biopsy"));
        assert!(lex.is_health_term("chemotherapy"));
        assert!(lex.is_health_term("keytruda"));
        assert!(!lex.is_health_term("bridge"));
    }
}
