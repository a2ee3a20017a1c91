//! Clinical titles claimed in a display name or bio (issue 10's impersonation guard).
//!
//! An account that is not a verified clinician but presents itself as one ("Dr. Ana Ruiz",
//! "RN | ICU", "médecin généraliste") is flagged to moderators once per claim, and shown
//! without a badge. The rules recognise, in English, Spanish, French and German:
//! - honorifics before a name: `Dr.`, `Dra.`, `Doc`, `Prof. Dr.` (a capitalised word must
//!   follow, so "dr pepper" in lowercase and "Dr. Pepper fan" are told apart only by the
//!   brand list below);
//! - post-nominal credentials as separate tokens: `MD`, `M.D.`, `DO`, `RN`, `NP`, `PA-C`,
//!   `DNP`, `APRN`, `CRNA`, `LPN`, `PharmD`, `FRCP`, `MBBS`, `DDS`;
//! - profession nouns used as a self-description: "nurse", "physician", "doctor",
//!   "surgeon", "enfermera/o", "médico/a", "infirmier/ère", "médecin", "Arzt/Ärztin",
//!   "Krankenschwester", "Pflegefachkraft", unless negated or about someone else ("my
//!   doctor", "mi médico", "ex-nurse" is still a claim; "not a doctor" is not).
//!
//! Accepted limits (documented in docs/HEALTH.md): a capitalised brand after `Dr.` that is
//! not in the list ("Dr. Who") is flagged; moderators dismiss such reports once and the flag
//! is never raised again for the same claim. `DO` alone is only a credential after a comma
//! ("Jane Roe, DO"), since "do" is a common word.

use regex::Regex;

/// One clinical title found, normalised (`dr`, `md`, `nurse`...), with the text matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TitleClaim {
    /// The normalised title (stable: it keys the "reported once" record).
    pub title: String,
    /// The text as written.
    pub matched: String,
}

/// The title rules, compiled once.
pub struct TitleScreen {
    honorific: Regex,
    credential: Regex,
    comma_do: Regex,
    profession: Regex,
    not_a_claim: Regex,
    brands: Regex,
}

/// A pattern of this module failed to compile (a bug, caught by the tests).
#[derive(Debug, thiserror::Error)]
#[error("title pattern: {0}")]
pub struct TitleError(String);

impl TitleScreen {
    /// Compiles the rules.
    pub fn new() -> Result<TitleScreen, TitleError> {
        let build = |p: &str| Regex::new(p).map_err(|e| TitleError(e.to_string()));
        Ok(TitleScreen {
            // `Dr.`/`Dra.`/`Doc`/`Prof. Dr.` followed by a capitalised word.
            honorific: build(r"(?:^|[^\p{L}])((?:[Dd]ra?\.?|DRA?\.?|Doc\.?)\s+\p{Lu})")?,
            credential: build(
                r"(?:^|[^\p{L}.])(M\.?D\.?|R\.?N\.?|N\.?P\.?|PA-C|DNP|APRN|CRNA|LPN|LVN|PharmD|FRCPC?|MBBS|MBChB|DDS|DMD|FACP|FACC)(?:$|[^\p{L}])",
            )?,
            comma_do: build(r",\s*D\.?O\.?(?:$|[^\p{L}])")?,
            profession: build(
                r"(?i)(?:^|[^\p{L}])(nurse|nurse practitioner|physician|doctor|surgeon|paediatrician|pediatrician|psychiatrist|cardiologist|oncologist|midwife|pharmacist|enfermer[oa]|m[ée]dic[oa]|doctora|cirujan[oa]|infirmi[eè]re?|m[ée]decin|chirurgien(?:ne)?|sage-femme|[äa]rztin|arzt|krankenschwester|pflegefachkraft|chirurgin|kinder[äa]rztin?)(?:$|[^\p{L}])",
            )?,
            // "my doctor", "not a nurse", "mi médico", "mon médecin", "mein Arzt", "ask your
            // doctor": the word is about someone else, or denied.
            not_a_claim: build(
                r"(?i)(?:\b(?:my|your|his|her|their|our|the|not a|not an|no soy|mi|tu|su|mon|ma|ton|ta|son|sa|pas|mein|meine|dein|deine|kein|keine|ask|see|visit|call)\s+(?:\S+\s+)?)$",
            )?,
            brands: build(
                r"(?i)\bdr\.?\s+(?:pepper|who|seuss|dre|oetker|martens|strange|house|phil|oz|evil|mario)\b",
            )?,
        })
    }

    /// The clinical titles claimed in `display_name` and `bio`, each title once.
    pub fn claims(&self, display_name: &str, bio: &str) -> Vec<TitleClaim> {
        let mut out: Vec<TitleClaim> = Vec::new();
        let mut push = |title: String, matched: &str| {
            if !out.iter().any(|c| c.title == title) {
                out.push(TitleClaim {
                    title,
                    matched: matched.trim().to_owned(),
                });
            }
        };
        for text in [display_name, bio] {
            for cap in self.honorific.captures_iter(text) {
                let Some(m) = cap.get(1) else { continue };
                let rest = &text[m.start()..];
                if self
                    .brands
                    .is_match(rest.get(..rest.len().min(24)).unwrap_or(rest))
                {
                    continue;
                }
                push("dr".into(), m.as_str());
            }
            for cap in self.credential.captures_iter(text) {
                let Some(m) = cap.get(1) else { continue };
                let title: String = m
                    .as_str()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == '-')
                    .collect::<String>()
                    .to_lowercase();
                push(title, m.as_str());
            }
            if let Some(m) = self.comma_do.find(text) {
                push("do".into(), m.as_str().trim_start_matches(','));
            }
            for cap in self.profession.captures_iter(text) {
                let Some(m) = cap.get(1) else { continue };
                let before = &text[..m.start()];
                if self.not_a_claim.is_match(before) {
                    continue;
                }
                push(normalise_profession(m.as_str()), m.as_str());
            }
        }
        out
    }
}

/// One stable name per profession across languages and spellings.
fn normalise_profession(word: &str) -> String {
    let w = word.to_lowercase();
    let name = match w.as_str() {
        "nurse" | "nurse practitioner" | "enfermera" | "enfermero" | "infirmier" | "infirmière"
        | "infirmiere" | "krankenschwester" | "pflegefachkraft" => "nurse",
        "physician" | "doctor" | "doctora" | "médico" | "medico" | "médica" | "medica"
        | "médecin" | "medecin" | "arzt" | "ärztin" | "arztin" => "physician",
        "surgeon" | "cirujano" | "cirujana" | "chirurgien" | "chirurgienne" | "chirurgin" => {
            "surgeon"
        }
        "midwife" | "sage-femme" => "midwife",
        other => other,
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(name: &str, bio: &str) -> Vec<String> {
        TitleScreen::new()
            .unwrap()
            .claims(name, bio)
            .into_iter()
            .map(|c| c.title)
            .collect()
    }

    #[test]
    fn honorifics_and_credentials_are_claims() {
        assert_eq!(titles("Dr. Ana Ruiz", ""), ["dr"]);
        assert_eq!(titles("Dra. Lucía Gómez", ""), ["dr"]);
        assert_eq!(titles("Jane Roe, MD", ""), ["md"]);
        assert_eq!(titles("Jane Roe, M.D.", ""), ["md"]);
        assert_eq!(titles("Sam Lee RN", ""), ["rn"]);
        assert_eq!(titles("Kim, DO", ""), ["do"]);
        assert_eq!(titles("Pat", "NP | family practice"), ["np"]);
    }

    #[test]
    fn professions_in_four_languages_are_claims() {
        assert_eq!(titles("", "ICU nurse, 10 years"), ["nurse"]);
        assert_eq!(titles("", "Physician and runner"), ["physician"]);
        assert_eq!(titles("", "Enfermera en Madrid"), ["nurse"]);
        assert_eq!(titles("", "Infirmière de nuit"), ["nurse"]);
        assert_eq!(titles("", "Médecin généraliste"), ["physician"]);
        assert_eq!(titles("", "Ärztin in Berlin"), ["physician"]);
    }

    #[test]
    fn ordinary_words_brands_and_other_peoples_titles_are_not_claims() {
        assert!(titles("Dr. Pepper fan", "").is_empty());
        assert!(titles("dr pepper", "").is_empty());
        assert!(titles("Drew", "I do love hiking").is_empty());
        assert!(titles("", "Thanks to my doctor and the nurses").is_empty());
        assert!(titles("", "I am not a doctor, ask your doctor").is_empty());
        assert!(titles("", "Gracias a mi médico").is_empty());
        assert!(titles("", "Merci à mon médecin").is_empty());
        assert!(titles("Rnd", "Brand manager, drum & bass").is_empty());
    }
}
