//! Dates tied to a person (birth, admission, discharge, death, procedure, appointment,
//! diagnosis) and ages over 89.
//!
//! Safe Harbor only counts day-level dates that belong to an individual, so a date candidate is
//! kept when its sentence carries a personal-event cue ("born", "admitted", "DOB", "passed") or
//! refers to a person (a detected name, a pronoun, "pt") and has no event cue ("conference",
//! "deadline", "closed", "grand rounds"). Ages count only as one person's age: "94 y/o",
//! "she's 91", "ninety-three"; not "90 and over", "in their 90s", "95%" or "100 lbs".

use regex::Regex;

use super::text::{after, before, has_any_word, sentence_bounds};
use super::{Found, Hint, PhiError, PhiKind, compile};

const MONTH: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";
const WEEKDAY: &str = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?";
const AGE_NUMBER: &str = r"(9\d|1[01]\d)";
const SPELLED_AGE: &str = r"(ninety(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|(?:one |a )?hundred(?:(?: and)? (?:one|two|three|four|five|six|seven|eight|nine|ten))?)";

/// Words that tie a date to one person's care or life.
const DATE_CUES: &[&str] = &[
    "born",
    "dob",
    "d.o.b",
    "birthday",
    "admitted",
    "admit",
    "admits",
    "admission",
    "discharged",
    "discharge",
    "passed",
    "died",
    "death",
    "surgery",
    "procedure",
    "scan",
    "appointment",
    "appt",
    "diagnosed",
    "dx",
    "infusion",
    "visit",
    "seen",
    "saw",
    "transplant",
    "anniversary",
    "biopsy",
    "mri",
    "ct",
    "started",
    "starts",
    "fell",
    "found",
    "incident",
    "dialysis",
    "delivered",
    "op",
    "operation",
    "since",
    "he",
    "she",
    "his",
    "her",
    "him",
    "pt",
    "patient",
    "mom",
    "dad",
    "son",
    "daughter",
    "wife",
    "husband",
];

/// Words that make a date an event, schedule or deadline rather than a person's.
const EVENT_CUES: &[&str] = &[
    "conference",
    "summit",
    "rounds",
    "meeting",
    "meetup",
    "webinar",
    "deadline",
    "closed",
    "abstract",
    "abstracts",
    "register",
    "registration",
    "gala",
    "lecture",
    "awareness",
    "world",
    "save the date",
    "sessions",
    "symposium",
    "drafts",
    "holiday",
    "hours",
];

pub(crate) struct DateRules {
    numeric: Regex,
    dotted: Regex,
    iso: Regex,
    month_first: Regex,
    day_first: Regex,
    the_nth: Regex,
    named_day: Regex,
    age_suffix: Regex,
    age_prefix: Regex,
    age_birthday: Regex,
    age_apposition: Regex,
    age_spelled: Regex,
}

impl DateRules {
    pub fn new() -> Result<DateRules, PhiError> {
        Ok(DateRules {
            numeric: compile(&format!(
                r"(?i)\b{WEEKDAY}(\d{{1,2}})[/-](\d{{1,2}})(?:[/-](?:\d{{4}}|\d{{2}}))?\b"
            ))?,
            dotted: compile(r"\b(\d{1,2})\.(\d{1,2})\.(?:\d{4}|\d{2})\b")?,
            iso: compile(r"\b(?:19|20)\d{2}-(\d{2})-(\d{2})\b")?,
            month_first: compile(&format!(
                r"(?i)\b{WEEKDAY}{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+(?:\d{{4}}\b|['’]\d{{2}}\b))?"
            ))?,
            day_first: compile(&format!(
                r"(?i)\b{WEEKDAY}\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}(?:,?\s+\d{{4}})?\b"
            ))?,
            the_nth: compile(r"(?i)\bthe\s+\d{1,2}(?:st|nd|rd|th)\b")?,
            named_day: compile(
                r"(?i)\b(?:christmas(?: eve| day)?|new year'?s(?: eve| day)|thanksgiving(?: day)?|easter(?: sunday| monday)?|halloween|valentine'?s day|independence day|boxing day|labou?r day|memorial day|veterans day|mother'?s day|father'?s day|good friday|july 4th|fourth of july)\b",
            )?,
            age_suffix: compile(&format!(
                r"(?i)\b{AGE_NUMBER}\s?(?:-\s?)?(?:y/?o\b|yo\b|yrs?\b|years?[\s-]?old|years? young|-?year-old|[mf]\b|going on \d)"
            ))?,
            age_prefix: compile(&format!(
                r"(?i)\b(?:is|he's|she's|he is|she is|they're|turned|turns|turning|aged|age|at|now|reached)\s+{AGE_NUMBER}\b"
            ))?,
            age_birthday: compile(&format!(
                r"(?i)\b(?:happy\s+{AGE_NUMBER}(?:st|nd|rd|th)\b|{AGE_NUMBER}(?:st|nd|rd|th)\s+birthday)"
            ))?,
            age_apposition: compile(&format!(
                r"[,(]\s?{AGE_NUMBER}\s?(?:,|\)|today\b|and\b|going on\b)"
            ))?,
            age_spelled: compile(&format!(
                r"(?i)\b(?:is|he's|she's|turned|turns|aged|at)\s+{SPELLED_AGE}\b|\b{SPELLED_AGE}(?:[\s-]years?[\s-]old|-year-old| y/o)"
            ))?,
        })
    }

    /// Finds dates tied to a person. `names` are the name spans found so far, used as a
    /// person reference in the sentence.
    pub fn detect_dates(&self, text: &str, names: &[Found], out: &mut Vec<Found>) {
        let mut candidates: Vec<(usize, usize, bool)> = Vec::new();
        for c in self.numeric.captures_iter(text) {
            let (Some(all), Some(a), Some(b)) = (c.get(0), c.get(1), c.get(2)) else {
                continue;
            };
            let (a, b) = (num(a.as_str()), num(b.as_str()));
            let valid = (1..=12).contains(&a) && (1..=31).contains(&b)
                || (13..=31).contains(&a) && (1..=12).contains(&b);
            // "24/7", "1/6" thread counters and "5/5" strength scores fail the cue test below.
            let next = text[all.end()..].chars().next();
            let glued = text[..all.start()].ends_with(['/', '-', '.']);
            if valid && next != Some('/') && !glued {
                let has_year = all.as_str().matches(['/', '-']).count() == 2;
                candidates.push((all.start(), all.end(), has_year));
            }
        }
        for re in [&self.dotted, &self.iso] {
            for c in re.captures_iter(text) {
                let (Some(all), Some(a), Some(b)) = (c.get(0), c.get(1), c.get(2)) else {
                    continue;
                };
                let (a, b) = (num(a.as_str()), num(b.as_str()));
                if (1..=31).contains(&a) && (1..=31).contains(&b) {
                    candidates.push((all.start(), all.end(), true));
                }
            }
        }
        for re in [&self.month_first, &self.day_first] {
            for m in re.find_iter(text) {
                let has_year = m.as_str().chars().filter(char::is_ascii_digit).count() >= 4
                    || m.as_str().contains(['\'', '’']);
                candidates.push((m.start(), m.end(), has_year));
            }
        }
        for re in [&self.the_nth, &self.named_day] {
            for m in re.find_iter(text) {
                candidates.push((m.start(), m.end(), false));
            }
        }
        for (start, end, has_year) in candidates {
            if self.tied_to_individual(text, start, end, has_year, names) {
                out.push(Found::new(start, end, PhiKind::Date, Hint::None));
            }
        }
    }

    fn tied_to_individual(
        &self,
        text: &str,
        start: usize,
        end: usize,
        has_year: bool,
        names: &[Found],
    ) -> bool {
        let (s, e) = sentence_bounds(text, start);
        let sentence = text[s..e.max(end).min(text.len())].to_lowercase();
        if has_any_word(&sentence, EVENT_CUES) || sentence.contains('–') && !has_year {
            return false;
        }
        let named = names.iter().any(|n| n.start >= s && n.end <= e.max(end));
        let near = before(text, start, 40);
        let cue = has_any_word(&sentence, DATE_CUES)
            || has_any_word(&near, DATE_CUES)
            || near.trim_end().ends_with(" b.");
        cue || named && has_year || named && near.trim_end().ends_with(['(', ','])
    }

    pub fn detect_ages(&self, text: &str, out: &mut Vec<Found>) {
        for re in [
            &self.age_suffix,
            &self.age_prefix,
            &self.age_birthday,
            &self.age_apposition,
            &self.age_spelled,
        ] {
            for c in re.captures_iter(text) {
                let Some(m) = (1..c.len()).find_map(|i| c.get(i)) else {
                    continue;
                };
                if is_single_age(text, m.start(), m.end()) {
                    out.push(Found::new(
                        m.start(),
                        m.end(),
                        PhiKind::AgeOver89,
                        Hint::None,
                    ));
                }
            }
        }
    }
}

fn num(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

/// Rejects aggregates ("90 and over", "over 90", "90+", "90s") and quantities ("95%", "100 lbs").
fn is_single_age(text: &str, start: usize, end: usize) -> bool {
    let next = after(text, end, 16);
    let prev = before(text, start, 12);
    const UNITS: &[&str] = &[
        "%",
        "+",
        "s ",
        "s,",
        "s.",
        "mg",
        "min",
        "lb",
        "kg",
        "ms",
        "mm",
        "bpm",
        "hour",
        "day",
        "week",
        "unit",
        "ft",
        "percent",
        "°",
        "degree",
        " and over",
        " and older",
        " or older",
        " or over",
        "-plus",
        " plus",
        "th percentile",
        " mcg",
        " ml",
        " beds",
        " patients",
        " cases",
    ];
    let trimmed = next.trim_start();
    if UNITS
        .iter()
        .any(|u| next.starts_with(u) || trimmed.starts_with(u.trim_start()))
        || next == "s"
    {
        return false;
    }
    !(prev.ends_with("over ")
        || prev.ends_with("above ")
        || prev.ends_with("than ")
        || prev.ends_with("under ")
        || prev.ends_with("> "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(text: &str) -> Vec<String> {
        let rules = DateRules::new().unwrap();
        let mut out = Vec::new();
        rules.detect_dates(text, &[], &mut out);
        out.iter()
            .map(|f| text[f.start..f.end].to_owned())
            .collect()
    }

    fn ages(text: &str) -> Vec<String> {
        let rules = DateRules::new().unwrap();
        let mut out = Vec::new();
        rules.detect_ages(text, &mut out);
        out.iter()
            .map(|f| text[f.start..f.end].to_owned())
            .collect()
    }

    #[test]
    fn detects_personal_dates_in_many_formats() {
        assert_eq!(dates("DOB 07/22/1987, F"), ["07/22/1987"]);
        assert_eq!(dates("born March 14th '52, just told"), ["March 14th '52"]);
        assert_eq!(dates("Mom, DOB 1949-11-02, allergic"), ["1949-11-02"]);
        assert_eq!(dates("(born 4th July 1931) just beat"), ["4th July 1931"]);
        assert_eq!(dates("admitted on Christmas Eve, home"), ["Christmas Eve"]);
        assert_eq!(dates("starts dialysis Monday 3/18 at"), ["Monday 3/18"]);
        assert_eq!(dates("she was seen on the 14th"), ["the 14th"]);
        assert_eq!(dates("DOB 14.03.1952 and"), ["14.03.1952"]);
    }

    #[test]
    fn event_dates_and_counters_are_not_personal_dates() {
        assert!(dates("Who's going to Scientific Sessions June 20–23?").is_empty());
        assert!(dates("Presenting at grand rounds on 3/14 in Room 3112.").is_empty());
        assert!(dates("SGLT2i thread 1/6").is_empty());
        assert!(dates("call or text any time, 24/7.").is_empty());
        assert!(dates("Abstracts due June 1.").is_empty());
    }

    #[test]
    fn detects_ages_over_89_including_spelled_out() {
        assert_eq!(ages("Mr. Okafor, 94 y/o, MRN"), ["94"]);
        assert_eq!(ages("and he's 95 with a full-code order"), ["95"]);
        assert_eq!(ages("Pt S.O., 90F, Ward 7"), ["90"]);
        assert_eq!(ages("96-year-old woman"), ["96"]);
        assert_eq!(ages("Happy 100th birthday to"), ["100"]);
        assert_eq!(ages("she is ninety-three and sharp"), ["ninety-three"]);
    }

    #[test]
    fn aggregate_and_quantity_numbers_are_not_ages() {
        assert!(ages("Patients aged 90 and over are growing").is_empty());
        assert!(ages("Grandma is 89 and refusing").is_empty());
        assert!(ages("QTc is 95% of the time, at 100 lbs").is_empty());
        assert!(ages("in their 90s").is_empty());
    }
}
