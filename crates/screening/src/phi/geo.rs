//! Geographic identifiers: ZIP and postal codes, street addresses, hospital units that locate a
//! person (room, bed, bay, chair, ward, pod, "4 North", "NICU 2A") and towns tied to a person.

use regex::Regex;

use super::lexicon::Lexicon;
use super::text::after;
use super::{Found, Hint, PhiError, PhiKind, compile};

const STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC";
const STREET: &str = r"(?:St|Street|Rd|Road|Ave|Avenue|Blvd|Boulevard|Ln|Lane|Dr|Drive|Ct|Court|Terrace|Ter|Pl|Place|Way|Cir|Circle|Pkwy|Parkway|Hwy|Highway|Close|Crescent|Row|Sq|Square|Trail|Trl|Loop|Pike|Alley|Walk|Gardens|Grove|Mews)";
const UNIT_WORD: &str = r"(?i:room|rm\.?|bed|bay|chair|cubicle|pod|stretcher|ward|cot|crib|isolette|bassinet|suite|apt\.?|apartment)";
const UNIT_ID: &str = r"#?\s?(?:\d{1,4}[A-Za-z]?|[A-Z]\d{0,3})\b";
const CARE_AREA: &str = r"(?i:[a-z]?icu|nicu|picu|micu|sicu|ccu|cvicu|pacu|l&d|ed|er|hall|trauma|resus|obs|step-?down|rehab|ward|\d{1,2}\s?(?:north|south|east|west))";
/// Facility words: a capitalised word followed by one of these names a place of care, not a town.
const FACILITY: &[&str] = &[
    "general",
    "hospital",
    "clinic",
    "medical",
    "health",
    "pediatrics",
    "center",
    "centre",
    "unit",
    "university",
    "institute",
    "foundation",
    "pharmacy",
    "rheumatology",
    "cardiology",
    "oncology",
    "memorial",
    "regional",
    "community",
    "care",
    "rehab",
    "hospice",
    "family",
    "urgent",
];

pub(crate) struct GeoRules {
    zip_labelled: Regex,
    zip_state: Regex,
    zip_locative: Regex,
    uk_postcode: Regex,
    address: Regex,
    unit: Regex,
    area_number: Regex,
    floor_ward: Regex,
    town_after_name: Regex,
    town_near: Regex,
    town_live_in: Regex,
}

impl GeoRules {
    pub fn new() -> Result<GeoRules, PhiError> {
        Ok(GeoRules {
            zip_labelled: compile(
                r"(?i)\b(?:zip(?:\s?code)?|postcode|postal code)\s*:?\s*(\d{5}(?:-\d{4})?)\b",
            )?,
            zip_state: compile(&format!(r"\b(?:{STATES}),?\s+(\d{{5}}(?:-\d{{4}})?)\b"))?,
            zip_locative: compile(r"(?i)\b(?:near|in|around|from|outside)\s+(\d{5})\b")?,
            uk_postcode: compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")?,
            address: compile(&format!(
                r"\b\d{{1,5}}\s+(?:[A-Z][A-Za-z'’-]*\.?\s+){{1,3}}{STREET}\b\.?(?:,?\s+(?:Suite|Ste\.?|Apt\.?|Apartment|Unit|#)\s*[A-Za-z0-9-]+)?|(?i:\b\d{{1,5}}\s+(?:[a-z'-]+\s+){{1,3}}(?:street|road|avenue|lane|drive|court|terrace|boulevard)\b)"
            ))?,
            unit: compile(&format!(
                r"(?:\b{CARE_AREA}\s+)?(?:\b{CARE_AREA}\s+)?\b{UNIT_WORD}\s*{UNIT_ID}(?:,?\s+{UNIT_WORD}\s*{UNIT_ID})*"
            ))?,
            area_number: compile(
                r"\b(?:NICU|PICU|MICU|SICU|CCU|ICU|CVICU|PACU)\s?#?\d{1,3}[A-Z]?\b",
            )?,
            floor_ward: compile(r"\b\d{1,2}\s?(?i:north|south|east|west)\b")?,
            town_after_name: compile(r"^\s+(?:from|of)\s+([A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+)?)")?,
            town_near: compile(r"\b(?:near|outside|around)\s+([A-Z][a-z][\w'’-]+)")?,
            town_live_in: compile(
                r"(?i)\b(?:we're|we are|we live|i live|living|lives|live|moved to|she's from|he's from)\s+in\s+((?-i:[A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+)?)|[a-z]+\s(?:creek|falls|springs|valley|heights|park|city|town|village|hills|lake|harbor|harbour|bay|ridge|grove|mills|junction|point|beach|county|river))",
            )?,
        })
    }

    pub fn detect(&self, text: &str, out: &mut Vec<Found>) {
        for re in [&self.zip_labelled, &self.zip_state] {
            for c in re.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    out.push(Found::new(m.start(), m.end(), PhiKind::Geo, Hint::None));
                }
            }
        }
        for c in self.zip_locative.captures_iter(text) {
            let Some(m) = c.get(1) else { continue };
            // "in 10000 patients" is a count; a ZIP is followed by punctuation or a small word.
            let next = after(text, m.end(), 12);
            let next_word = next.split_whitespace().next().unwrap_or("");
            if next.trim().is_empty()
                || next.starts_with(['?', '.', ',', '!', ')', ';', ':'])
                || ["and", "or", "who", "with", "area", "zip"].contains(&next_word)
            {
                out.push(Found::new(m.start(), m.end(), PhiKind::Geo, Hint::None));
            }
        }
        for re in [
            &self.uk_postcode,
            &self.address,
            &self.unit,
            &self.area_number,
            &self.floor_ward,
        ] {
            for m in re.find_iter(text) {
                out.push(Found::new(m.start(), m.end(), PhiKind::Geo, Hint::None));
            }
        }
    }

    /// Towns: "Pedro from Marrowfield", "Ruth Alvarez of Ashgrove", "we're in harlow creek",
    /// "anyone near Quillby". Needs the name spans found so far.
    pub fn detect_towns(&self, text: &str, names: &[Found], lex: &Lexicon, out: &mut Vec<Found>) {
        let mut push_town = |start: usize, end: usize| {
            let town = &text[start..end];
            let first = town.split_whitespace().next().unwrap_or("").to_lowercase();
            let next_word = after(text, end, 20)
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned();
            let facility = town
                .split_whitespace()
                .chain(std::iter::once(next_word.as_str()))
                .any(|w| FACILITY.contains(&w.to_lowercase().as_str()));
            if !facility && !lex.common_words.contains(&first) && !lex.first_names.contains(&first)
            {
                out.push(Found::new(start, end, PhiKind::Geo, Hint::None));
            }
        };
        for n in names.iter().filter(|n| n.kind == PhiKind::Name) {
            if let Some(c) = self.town_after_name.captures(&text[n.end..])
                && let Some(m) = c.get(1)
            {
                push_town(n.end + m.start(), n.end + m.end());
            }
        }
        for re in [&self.town_near, &self.town_live_in] {
            for c in re.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    push_town(m.start(), m.end());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo(text: &str) -> Vec<String> {
        let rules = GeoRules::new().unwrap();
        let mut out = Vec::new();
        rules.detect(text, &mut out);
        rules.detect_towns(text, &[], &Lexicon::load(), &mut out);
        out.iter()
            .map(|f| text[f.start..f.end].to_owned())
            .collect()
    }

    #[test]
    fn detects_zip_codes() {
        assert!(geo("one kid in ZIP 05819 and").contains(&"05819".to_owned()));
        assert!(geo("a neurologist near 97214? My").contains(&"97214".to_owned()));
        assert!(geo("Burlington, VT 05401").contains(&"05401".to_owned()));
        assert!(geo("CPT 99214 vs 99215").is_empty());
    }

    #[test]
    fn detects_street_addresses() {
        assert!(geo("visit at 88 Larkspur Ct — bring").contains(&"88 Larkspur Ct".to_owned()));
        assert!(
            geo("now at 400 Harbor Ave, Suite 2. Same")
                .contains(&"400 Harbor Ave, Suite 2".to_owned())
        );
    }

    #[test]
    fn detects_room_bed_ward_and_bay_units() {
        for (text, want) in [
            ("in hall bed 22.", "hall bed 22"),
            ("Kiddo in NICU pod C, bed 14, born", "NICU pod C, bed 14"),
            ("back on 5 west with", "5 west"),
            ("6 South room 12, L.V.", "6 South room 12"),
            ("in MICU bed 7 finally", "MICU bed 7"),
            ("twins in NICU 2A", "NICU 2A"),
            ("preeclampsia, L&D room 6.", "L&D room 6"),
            ("unidentified in Trauma Bay 2.", "Trauma Bay 2"),
            ("from bed 12B, 94", "bed 12B"),
        ] {
            assert!(
                geo(text).contains(&want.to_owned()),
                "{text}: {:?}",
                geo(text)
            );
        }
        assert!(geo("our 24-bed ICU and open beds").is_empty());
    }

    #[test]
    fn detects_towns_near_a_person() {
        assert!(geo("Anyone near Quillby who could drive").contains(&"Quillby".to_owned()));
        assert!(geo("we're in harlow creek if anyone").contains(&"harlow creek".to_owned()));
        assert!(!geo("near Lakemont General").contains(&"Lakemont".to_owned()));
    }
}
