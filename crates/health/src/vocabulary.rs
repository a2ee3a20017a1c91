//! The vocabularies shipped with Cohort: ICD-10-CM categories for conditions, RxNorm
//! ingredient names for medications, and a short list of non-drug therapies (sources and
//! licences in `data/SOURCES.md`).
//!
//! A term's **key** (`icd10cm:E11`, `rxnorm:metformin`, `therapy:yoga`) is what evaluations
//! store and aggregates group by; text that matches no term is kept as free text with a
//! `text:` reference instead, so two spellings of one unknown drug never pretend to be one
//! treatment.

use std::sync::OnceLock;

/// Which list a term comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum VocabularyKind {
    /// ICD-10-CM categories.
    Conditions,
    /// RxNorm ingredients.
    Medications,
    /// Non-drug therapies.
    Therapies,
}

impl VocabularyKind {
    /// The name used in URLs (`/api/v1/cohort/vocabularies/:name`).
    pub fn as_str(self) -> &'static str {
        match self {
            VocabularyKind::Conditions => "conditions",
            VocabularyKind::Medications => "medications",
            VocabularyKind::Therapies => "therapies",
        }
    }

    /// The kind a URL names, if any.
    pub fn parse(raw: &str) -> Option<VocabularyKind> {
        match raw {
            "conditions" => Some(VocabularyKind::Conditions),
            "medications" => Some(VocabularyKind::Medications),
            "therapies" => Some(VocabularyKind::Therapies),
            _ => None,
        }
    }

    /// The source named in every term of this kind.
    pub fn source(self) -> &'static str {
        match self {
            VocabularyKind::Conditions => "ICD-10-CM",
            VocabularyKind::Medications => "RxNorm",
            VocabularyKind::Therapies => "Cohort",
        }
    }

    fn key_prefix(self) -> &'static str {
        match self {
            VocabularyKind::Conditions => "icd10cm:",
            VocabularyKind::Medications => "rxnorm:",
            VocabularyKind::Therapies => "therapy:",
        }
    }
}

/// One entry of a vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// Stable reference stored with evaluations: `icd10cm:E11`, `rxnorm:metformin`...
    pub key: String,
    /// The source's code, where it has one (ICD-10-CM's `E11`).
    pub code: Option<String>,
    /// The display name.
    pub name: String,
    /// Which list.
    pub kind: VocabularyKind,
}

/// One vocabulary, loaded once from the data files compiled into the binary.
#[derive(Debug)]
pub struct Vocabulary {
    kind: VocabularyKind,
    terms: Vec<Term>,
}

const CONDITIONS: &str = include_str!("../data/conditions.tsv");
const MEDICATIONS: &str = include_str!("../data/medications.txt");
const THERAPIES: &str = include_str!("../data/therapies.txt");

fn data_lines(raw: &str) -> impl Iterator<Item = &str> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl Vocabulary {
    /// The vocabulary of `kind`.
    pub fn of(kind: VocabularyKind) -> &'static Vocabulary {
        static CONDITION_TERMS: OnceLock<Vocabulary> = OnceLock::new();
        static MEDICATION_TERMS: OnceLock<Vocabulary> = OnceLock::new();
        static THERAPY_TERMS: OnceLock<Vocabulary> = OnceLock::new();
        match kind {
            VocabularyKind::Conditions => CONDITION_TERMS.get_or_init(|| Self::load(kind)),
            VocabularyKind::Medications => MEDICATION_TERMS.get_or_init(|| Self::load(kind)),
            VocabularyKind::Therapies => THERAPY_TERMS.get_or_init(|| Self::load(kind)),
        }
    }

    fn load(kind: VocabularyKind) -> Vocabulary {
        let terms = match kind {
            VocabularyKind::Conditions => data_lines(CONDITIONS)
                .filter_map(|line| line.split_once('\t'))
                .map(|(code, name)| Term {
                    key: format!("{}{}", kind.key_prefix(), code.trim()),
                    code: Some(code.trim().to_owned()),
                    name: name.trim().to_owned(),
                    kind,
                })
                .collect(),
            VocabularyKind::Medications | VocabularyKind::Therapies => {
                let raw = if kind == VocabularyKind::Medications {
                    MEDICATIONS
                } else {
                    THERAPIES
                };
                data_lines(raw)
                    .map(|name| Term {
                        key: format!("{}{}", kind.key_prefix(), name),
                        code: None,
                        name: name.to_owned(),
                        kind,
                    })
                    .collect()
            }
        };
        Vocabulary { kind, terms }
    }

    /// Which list this is.
    pub fn kind(&self) -> VocabularyKind {
        self.kind
    }

    /// Every term, in file order.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The term a submitted text means: its key, its code (`E11`, any case) or its name
    /// (any case, surrounding spaces ignored). `None` means free text.
    pub fn resolve(&self, text: &str) -> Option<&Term> {
        let wanted = normalize(text);
        if wanted.is_empty() {
            return None;
        }
        self.terms.iter().find(|t| {
            t.key.eq_ignore_ascii_case(&wanted)
                || t.code
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(&wanted))
                || normalize(&t.name) == wanted
        })
    }

    /// The term with this stored key.
    pub fn by_key(&self, key: &str) -> Option<&Term> {
        self.terms.iter().find(|t| t.key == key)
    }

    /// Terms whose name or code contains `query` (any case): names that start with it first,
    /// then the others, each group in file order; at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Term> {
        let wanted = normalize(query);
        let matches = |t: &&Term| {
            normalize(&t.name).contains(&wanted)
                || t.code
                    .as_deref()
                    .is_some_and(|c| c.to_ascii_lowercase().starts_with(&wanted))
        };
        let (mut first, rest): (Vec<&Term>, Vec<&Term>) =
            self.terms.iter().filter(matches).partition(|t| {
                normalize(&t.name).starts_with(&wanted)
                    || t.code
                        .as_deref()
                        .is_some_and(|c| c.to_ascii_lowercase().starts_with(&wanted))
            });
        first.extend(rest);
        first.truncate(limit);
        first
    }
}

/// Lowercase, trimmed, inner runs of white space made one space.
pub(crate) fn normalize(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_loads_with_unique_keys() {
        for kind in [
            VocabularyKind::Conditions,
            VocabularyKind::Medications,
            VocabularyKind::Therapies,
        ] {
            let vocabulary = Vocabulary::of(kind);
            assert!(vocabulary.terms().len() > 30, "{kind:?} is too short");
            let mut keys: Vec<&str> = vocabulary.terms().iter().map(|t| t.key.as_str()).collect();
            keys.sort_unstable();
            let before = keys.len();
            keys.dedup();
            assert_eq!(keys.len(), before, "{kind:?} has duplicate keys");
        }
        assert_eq!(Vocabulary::of(VocabularyKind::Conditions).terms().len(), 67);
        assert_eq!(
            Vocabulary::of(VocabularyKind::Medications).terms().len(),
            158
        );
        assert_eq!(Vocabulary::of(VocabularyKind::Therapies).terms().len(), 35);
    }

    #[test]
    fn conditions_resolve_by_code_name_or_key_in_any_case() {
        let conditions = Vocabulary::of(VocabularyKind::Conditions);
        for text in [
            "E11",
            "e11",
            "icd10cm:E11",
            "type 2 DIABETES mellitus",
            "  Type 2   diabetes mellitus ",
        ] {
            let term = conditions.resolve(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(term.key, "icd10cm:E11");
            assert_eq!(term.code.as_deref(), Some("E11"));
        }
        assert!(conditions.resolve("sugar trouble").is_none());
        assert!(conditions.resolve("  ").is_none());
    }

    #[test]
    fn medications_resolve_by_ingredient_name() {
        let medications = Vocabulary::of(VocabularyKind::Medications);
        assert_eq!(
            medications.resolve("Metformin").map(|t| t.key.as_str()),
            Some("rxnorm:metformin")
        );
        // A brand name is not an ingredient: free text.
        assert!(medications.resolve("Glucophage").is_none());
    }

    #[test]
    fn search_puts_prefix_matches_first_and_honours_the_limit() {
        let medications = Vocabulary::of(VocabularyKind::Medications);
        let found: Vec<&str> = medications
            .search("insulin", 10)
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(found.len(), 4);
        assert!(found.iter().all(|n| n.starts_with("insulin")));
        let conditions = Vocabulary::of(VocabularyKind::Conditions);
        let found = conditions.search("diabetes", 10);
        assert_eq!(found.len(), 2);
        assert_eq!(conditions.search("e1", 1).len(), 1);
        assert_eq!(conditions.search("E10", 5)[0].key, "icd10cm:E10");
    }
}
