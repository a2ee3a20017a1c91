//! The decision layer: whose identifier is each span, and does the post identify a patient?
//!
//! A post is held when an identifier of someone other than the author (a "subject") appears and
//! the post is about health or care. Identifiers are not the subject's when they belong to:
//! - the author (self-disclosure: "my MRN", "I'm Dana", "email me at", a patient's own dates);
//! - staff or colleagues ("Dr.", "Nurse", "our new pharmacist, Kenji", "Marisol Vega, RD");
//! - the organisation's public contact points (hotlines, billing e-mail, careers URL);
//! - historical cases (dead for more than 50 years) or fictional characters.
//!
//! Rooms, beds, ZIP codes, towns and IP addresses only count when the sentence refers to a
//! person ("pt", "her", a name, "my mom"): "Ward 7 has 4 open beds" identifies no one.

use regex::Regex;

use super::lexicon::Lexicon;
use super::names::RELATIONS;
use super::text::{after, before, has_any_word, sentence_bounds, words};
use super::{AuthorKind, Found, Hint, PhiError, PhiKind, compile};

/// Whose identifier a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Subject,
    Author,
    Staff,
    Public,
    Historical,
    Fictional,
    /// Not tied to any person ("Room 3112" for a lecture).
    Unattached,
}

/// Pronouns and nouns that refer to a person other than the author.
const REFERENTS: &[&str] = &[
    "he",
    "she",
    "his",
    "her",
    "him",
    "hers",
    "he's",
    "she's",
    "pt",
    "patient",
    "kid",
    "kiddo",
    "guy",
    "baby",
    "man",
    "woman",
    "lady",
    "gentleman",
    "driver",
    "family",
    "twins",
    "infant",
    "toddler",
    "teen",
    "girl",
    "boy",
    "grandma",
    "grandpa",
];
const ROLE_NOUNS: &[&str] = &[
    "pharmacist",
    "nurse",
    "doctor",
    "colleague",
    "resident",
    "attending",
    "intern",
    "fellow",
    "dietitian",
    "therapist",
    "surgeon",
    "tech",
    "volunteer",
    "coworker",
    "rheumatologist",
    "cardiologist",
    "oncologist",
    "physician",
    "pediatrician",
    "midwife",
    "paramedic",
    "chaplain",
    "counselor",
    "psychologist",
    "dentist",
    "hire",
    "director",
    "manager",
    "team",
];
const CREDENTIALS: &[&str] = &[
    "md", "rn", "rd", "do", "np", "pa", "pa-c", "pharmd", "phd", "lpn", "cna", "msw", "lcsw",
    "dds", "aprn", "crna", "bsn",
];
const STAFF_POST_CUES: &[&str] = &[
    "matching into",
    "matched",
    "residency",
    "fellowship",
    "our team",
    "joined",
    "new hire",
    "welcome",
    "meet our",
    "promoted",
    "retired",
    "retiring",
    "volunteer",
    "colleague",
    "coworker",
    "charge nurse",
    "preceptor",
    "mentor",
    "hired",
    "hiring",
    "grand rounds",
    "slides",
    "staff",
    "employee",
    "taught",
    "great talk",
];
const PATIENT_CUES: &[&str] = &[
    "pt",
    "patient",
    "admitted",
    "discharged",
    "diagnosed",
    "bed",
    "room",
    "icu",
    "chemo",
    "surgery",
];
const PUBLIC_CUES: &[&str] = &[
    "line",
    "hotline",
    "call us",
    "questions",
    "referrals",
    "apply",
    "book",
    "updates",
    "info",
    "contact",
    "office",
    "front desk",
    "crisis",
    "billing",
    "register",
    "website",
    "portal",
    "careers",
    "we've moved",
    "is now at",
    "our clinic",
    "visit us",
    "status",
];
const FICTION_CUES: &[&str] = &[
    "episode",
    "episodes",
    "show",
    "series",
    "tv",
    "character",
    "novel",
    "movie",
    "film",
    "sitcom",
    "fictional",
];
const HISTORY_CUES: &[&str] = &[
    "famous case",
    "historical",
    "history of medicine",
    "19th century",
    "18th century",
];
const URL_STOP: &[&str] = &[
    "help", "care", "new", "fund", "blog", "walk", "home", "news", "page", "jobs", "status",
    "chart", "patient", "portal", "icu", "flu", "liver", "heart", "hope", "grace", "joy", "faith",
    "will", "may", "june", "art", "org", "com", "net", "www", "http", "https",
];

pub(crate) struct Decider {
    old_year: Regex,
    record_url: Regex,
}

pub(crate) struct Decision {
    pub identifies_patient: bool,
    pub owners: Vec<Owner>,
    pub reason: String,
}

impl Decider {
    pub fn new() -> Result<Decider, PhiError> {
        Ok(Decider {
            old_year: compile(r"\b(1[5-8]\d\d|19[0-5]\d)\b")?,
            record_url: compile(r"(?i)[?&/](?:mrn|patient|pt|chart|record|dob)[=/_-]?\w")?,
        })
    }

    pub fn decide(
        &self,
        text: &str,
        author: AuthorKind,
        found: &[Found],
        lex: &Lexicon,
    ) -> Decision {
        let lower = text.to_lowercase();
        let health = words(text).iter().any(|w| lex.is_health_term(&w.lower));
        let fiction_post = has_any_word(&lower, FICTION_CUES);
        let staff_post = has_any_word(&lower, STAFF_POST_CUES);
        let history_post = has_any_word(&lower, HISTORY_CUES)
            || self.old_year.find_iter(text).any(|m| {
                let inside_date = found
                    .iter()
                    .any(|f| f.kind == PhiKind::Date && f.start <= m.start() && m.end() <= f.end);
                let born = before(text, m.start(), 12);
                !inside_date
                    && !has_any_word(&born, &["born", "dob", "since"])
                    && !born.trim_end().ends_with(" b.")
            });
        let mut owners = vec![Owner::Unattached; found.len()];
        // Names first: other spans use subject names as person references.
        for (i, f) in found
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind == PhiKind::Name)
        {
            owners[i] = self.name_owner(
                text,
                &lower,
                author,
                f,
                lex,
                fiction_post,
                staff_post,
                history_post,
            );
        }
        propagate_name_owners(text, found, &mut owners);
        let subject_names: Vec<&Found> = found
            .iter()
            .zip(&owners)
            .filter(|(f, o)| f.kind == PhiKind::Name && **o == Owner::Subject)
            .map(|(f, _)| f)
            .collect();
        for (i, f) in found
            .iter()
            .enumerate()
            .filter(|(_, f)| f.kind != PhiKind::Name)
        {
            owners[i] = self.other_owner(
                text,
                author,
                f,
                lex,
                &subject_names,
                staff_post,
                history_post,
            );
        }
        let subjects: Vec<usize> = (0..found.len())
            .filter(|&i| owners[i] == Owner::Subject)
            .collect();
        let identifies_patient = health && !subjects.is_empty();
        let reason = explain(text, found, &owners, &subjects, health, identifies_patient);
        Decision {
            identifies_patient,
            owners,
            reason,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn name_owner(
        &self,
        text: &str,
        lower: &str,
        author: AuthorKind,
        f: &Found,
        lex: &Lexicon,
        fiction_post: bool,
        staff_post: bool,
        history_post: bool,
    ) -> Owner {
        let name = text[f.start..f.end].to_lowercase();
        let name = name.trim_end_matches('.').replace('.', "");
        if fiction_post && lex.fictional.contains(&name) {
            return Owner::Fictional;
        }
        let in_history = lex.historical.iter().any(|entry| {
            let tokens: Vec<&str> = entry.split_whitespace().collect();
            let name_tokens: Vec<&str> = name.split_whitespace().collect();
            name_tokens.iter().all(|t| tokens.contains(t))
                && tokens.iter().all(|t| has_any_word(lower, &[t]))
        });
        if in_history || history_post {
            return Owner::Historical;
        }
        if f.hint == Hint::Staff {
            return Owner::Staff;
        }
        let prev = before(text, f.start, 40);
        let prev_trim = prev.trim_end_matches([' ', ',', '(']);
        let next = after(text, f.end, 60);
        let self_intro = [
            "i'm",
            "i am",
            "my name is",
            "this is",
            "name's",
            "call me",
            "i’m",
        ]
        .iter()
        .any(|c| prev_trim.ends_with(c));
        if self_intro {
            return Owner::Author;
        }
        let credential = next.strip_prefix(", ").is_some_and(|rest| {
            let word = rest
                .split(|c: char| !c.is_alphanumeric() && c != '-')
                .next()
                .unwrap_or("");
            CREDENTIALS.contains(&word)
        });
        let appositive_role = next.starts_with(", the ")
            && next
                .split([',', '.', '!', '?'])
                .nth(1)
                .is_some_and(|clause| has_any_word(clause, ROLE_NOUNS));
        let titled_before = ROLE_NOUNS.iter().any(|r| prev_trim.ends_with(r));
        if credential || appositive_role || titled_before {
            return Owner::Staff;
        }
        let (s, e) = sentence_bounds(text, f.start);
        let sentence = text[s..e.max(f.end).min(text.len())].to_lowercase();
        if staff_post && !has_any_word(&sentence, PATIENT_CUES) {
            return Owner::Staff;
        }
        // "kim ashby, 29, stage 2 ... ask me anything": a patient introducing themself.
        let age_apposition = next
            .strip_prefix(", ")
            .is_some_and(|r| r.chars().take_while(char::is_ascii_digit).count() >= 1);
        if author == AuthorKind::Patient
            && age_apposition
            && has_any_word(lower, &["i", "me", "my", "i'm"])
            && !has_any_word(lower, &["he", "she", "his", "her", "him"])
        {
            return Owner::Author;
        }
        Owner::Subject
    }

    #[allow(clippy::too_many_arguments)]
    fn other_owner(
        &self,
        text: &str,
        author: AuthorKind,
        f: &Found,
        lex: &Lexicon,
        subject_names: &[&Found],
        staff_post: bool,
        history_post: bool,
    ) -> Owner {
        let (s, e) = sentence_bounds(text, f.start);
        let e = e.max(f.end).min(text.len());
        let sentence = text[s..e].to_lowercase();
        let value = &text[f.start..f.end];
        let named = subject_names.iter().any(|n| n.start >= s && n.end <= e);
        let referent = named
            || has_any_word(&sentence, REFERENTS)
            || RELATIONS
                .iter()
                .any(|r| has_any_word(&sentence, &[r]) && *r != "patient");
        let before_in_sentence = before(text, f.start, f.start - s.min(f.start));
        if is_self(&before_in_sentence, &after(text, f.end, 8), f.kind) {
            return Owner::Author;
        }
        if f.kind == PhiKind::Photo && value.to_lowercase().contains("selfie") {
            return Owner::Author;
        }
        if author == AuthorKind::Patient && !referent {
            return Owner::Author;
        }
        if history_post && f.kind == PhiKind::Date {
            return Owner::Historical;
        }
        match f.kind {
            PhiKind::Phone | PhiKind::Fax | PhiKind::Email => {
                if (has_any_word(&sentence, PUBLIC_CUES) || author == AuthorKind::Organization)
                    && !referent
                {
                    Owner::Public
                } else if referent {
                    Owner::Subject
                } else {
                    Owner::Unattached
                }
            }
            PhiKind::Url => {
                let tokens = value.to_lowercase();
                let has_name = tokens
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|t| t.len() >= 3 && lex.first_names.contains(t) && !URL_STOP.contains(&t));
                if self.record_url.is_match(value)
                    || has_name && author != AuthorKind::Organization
                    || has_name && named
                {
                    Owner::Subject
                } else {
                    Owner::Public
                }
            }
            PhiKind::OtherId if value.starts_with('@') => {
                let yours = has_any_word(&sentence, &["your", "you"])
                    && !has_any_word(&sentence, &["your pt", "your patient"]);
                let health = words(&sentence)
                    .iter()
                    .any(|w| lex.is_health_term(&w.lower));
                if yours && health && !staff_post {
                    Owner::Subject
                } else {
                    Owner::Staff
                }
            }
            PhiKind::Geo => {
                let address = value.chars().next().is_some_and(|c| c.is_ascii_digit())
                    && value.chars().any(char::is_alphabetic)
                    && value.split_whitespace().count() >= 3;
                if address
                    && (author == AuthorKind::Organization || has_any_word(&sentence, PUBLIC_CUES))
                    && !named
                {
                    Owner::Public
                } else if address || referent {
                    Owner::Subject
                } else {
                    Owner::Unattached
                }
            }
            PhiKind::Ip => {
                if referent && !sentence.contains("server") {
                    Owner::Subject
                } else {
                    Owner::Unattached
                }
            }
            _ => Owner::Subject,
        }
    }
}

/// First-person cues right before a span ("my MRN", "email me at", "My own DOB is") or right
/// after an age ("At 91 I ..."). "my wife's Medicaid ID" is not self: a relation follows "my".
fn is_self(before_in_sentence: &str, next: &str, kind: PhiKind) -> bool {
    if kind == PhiKind::AgeOver89 && (next.starts_with(" i ") || next.starts_with(" i'm")) {
        return true;
    }
    let near: String = before_in_sentence
        .chars()
        .rev()
        .take(18)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if [
        "me at", "me:", "me on", "reach me", "email me", "call me", "text me", "i'm", "i am",
    ]
    .iter()
    .any(|c| near.contains(c))
    {
        return true;
    }
    let tokens: Vec<&str> = before_in_sentence
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’' && c != '-')
        .filter(|t| !t.is_empty())
        .collect();
    let window = tokens.len().saturating_sub(8);
    tokens[window..].iter().enumerate().any(|(k, t)| {
        *t == "my" && {
            let next_word = tokens
                .get(window + k + 1)
                .map(|w| w.trim_end_matches("'s").trim_end_matches("’s"))
                .unwrap_or("");
            let after_own = if next_word == "own" {
                tokens.get(window + k + 2).copied().unwrap_or("")
            } else {
                next_word
            };
            !RELATIONS.contains(&after_own)
                && !["patient's", "pt's", "patients"].contains(&after_own)
        }
    })
}

/// A repeated name shares the owner of its first full mention: "Kenji Watanabe! Kenji speaks".
fn propagate_name_owners(text: &str, found: &[Found], owners: &mut [Owner]) {
    let firsts: Vec<(String, Owner)> = found
        .iter()
        .zip(owners.iter())
        .filter(|(f, o)| f.kind == PhiKind::Name && **o != Owner::Subject)
        .map(|(f, o)| {
            (
                text[f.start..f.end]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_lowercase(),
                *o,
            )
        })
        .collect();
    for (f, o) in found.iter().zip(owners.iter_mut()) {
        if f.kind == PhiKind::Name && *o == Owner::Subject {
            let first = text[f.start..f.end]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_lowercase();
            if let Some((_, owner)) = firsts.iter().find(|(n, _)| *n == first) {
                *o = *owner;
            }
        }
    }
}

fn describe(kind: PhiKind) -> &'static str {
    match kind {
        PhiKind::Name => "patient name",
        PhiKind::Geo => "location",
        PhiKind::Date => "date",
        PhiKind::AgeOver89 => "age over 89",
        PhiKind::Phone => "phone number",
        PhiKind::Fax => "fax number",
        PhiKind::Email => "e-mail address",
        PhiKind::Url => "URL",
        PhiKind::Ip => "IP address",
        PhiKind::Ssn => "SSN",
        PhiKind::Mrn => "medical record number",
        PhiKind::HealthPlan => "health plan number",
        PhiKind::Account => "account number",
        PhiKind::License => "licence number",
        PhiKind::Vehicle => "vehicle identifier",
        PhiKind::Device => "device serial",
        PhiKind::Biometric => "biometric identifier",
        PhiKind::Photo => "photo",
        PhiKind::OtherId => "identifying handle or characteristic",
    }
}

fn explain(
    text: &str,
    found: &[Found],
    owners: &[Owner],
    subjects: &[usize],
    health: bool,
    identifies: bool,
) -> String {
    let quote = |i: usize| {
        let f = &found[i];
        let v: String = text[f.start..f.end].chars().take(60).collect();
        format!("{} '{}'", describe(f.kind), v)
    };
    if identifies {
        let parts: Vec<String> = subjects.iter().take(3).map(|&i| quote(i)).collect();
        return format!("{} in a health or care context", parts.join(" with "));
    }
    if !subjects.is_empty() && !health {
        return format!("{} but no health or care content", quote(subjects[0]));
    }
    if found.is_empty() {
        return "no identifiers found".to_owned();
    }
    let why = |o: Owner| match o {
        Owner::Author => "the author's own (self-disclosure)",
        Owner::Staff => "staff or a colleague",
        Owner::Public => "a public contact point",
        Owner::Historical => "a historical case",
        Owner::Fictional => "a fictional character",
        Owner::Unattached | Owner::Subject => "not tied to a patient",
    };
    let parts: Vec<String> = (0..found.len())
        .take(3)
        .map(|i| format!("{} is {}", quote(i), why(owners[i])))
        .collect();
    format!("no patient identified: {}", parts.join("; "))
}
