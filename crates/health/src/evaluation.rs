//! One patient-reported treatment evaluation: what a patient or caregiver submits, and the
//! rules it must pass before it is stored. Validation is pure (today's date is an argument),
//! so every rule has a unit test and the API and store share one definition.

use std::fmt;
use std::str::FromStr;

use time::Date;
use time::macros::format_description;

use crate::vocabulary::{Vocabulary, VocabularyKind, normalize};

/// Longest free text of a condition, treatment, side effect, dose or frequency.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest tips text.
pub const MAX_TIPS_CHARS: usize = 2000;
/// Most side effects on one evaluation.
pub const MAX_SIDE_EFFECTS: usize = 20;
/// Adherence and burden are scores from 1 to this.
pub const MAX_SCORE: i64 = 5;
/// Highest monthly cost accepted, in whole currency units (a typo guard, not a price cap).
pub const MAX_MONTHLY_COST: i64 = 1_000_000;
/// The earliest start date accepted.
pub const EARLIEST_YEAR: i32 = 1900;

/// Defines a closed set of words with its spelling in one place.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in the API and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

word_enum! {
    /// Whether the treatment is a medication (RxNorm) or something else (a therapy).
    TreatmentKind {
        /// A drug, coded by RxNorm ingredient.
        Medication => "medication",
        /// Physical therapy, a diet, a device...
        Therapy => "therapy",
    }
}

word_enum! {
    /// How well the treatment worked, as the patient perceives it. Ordered from none to
    /// major; "can't tell" is its own answer, not a low score.
    Effectiveness {
        /// No effect.
        None => "none",
        /// A slight effect.
        Slight => "slight",
        /// A moderate effect.
        Moderate => "moderate",
        /// A major effect.
        Major => "major",
        /// The patient cannot tell.
        CantTell => "cant_tell",
    }
}

word_enum! {
    /// How bad a side effect was.
    Severity {
        /// Noticeable, not limiting.
        Mild => "mild",
        /// Limiting some activities.
        Moderate => "moderate",
        /// Limiting most activities, or needing care.
        Severe => "severe",
    }
}

word_enum! {
    /// Why the treatment was stopped.
    StopReason {
        /// It did not work (well enough).
        NotEffective => "not_effective",
        /// Side effects.
        SideEffects => "side_effects",
        /// Cost or coverage.
        Cost => "cost",
        /// The condition resolved.
        Resolved => "resolved",
        /// A clinician advised it.
        ClinicianAdvice => "clinician_advice",
        /// Anything else.
        Other => "other",
    }
}

word_enum! {
    /// Who may read an individual evaluation. Aggregates never show one.
    EvaluationVisibility {
        /// Only its author.
        Private => "private",
        /// Current members of the community it is filed in.
        Community => "community",
        /// Anyone.
        Public => "public",
    }
}

/// A side effect as submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SideEffectDraft {
    /// Its name (free text).
    pub name: String,
    /// `mild`, `moderate` or `severe`.
    pub severity: String,
}

/// An evaluation as submitted: text everywhere, checked by [`EvaluationDraft::validate`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvaluationDraft {
    /// The condition: an ICD-10-CM code or title, or free text.
    pub condition: String,
    /// `medication` or `therapy`.
    pub treatment_kind: String,
    /// The treatment: an RxNorm ingredient or therapy name, or free text.
    pub treatment: String,
    /// Dose, as the patient writes it (`10 mg`).
    pub dose: Option<String>,
    /// Frequency (`twice a day`).
    pub frequency: Option<String>,
    /// Start date, `YYYY-MM-DD`.
    pub started_on: String,
    /// Stop date, `YYYY-MM-DD`, if stopped.
    pub stopped_on: Option<String>,
    /// Why it was stopped.
    pub stop_reason: Option<String>,
    /// Perceived effectiveness.
    pub effectiveness: String,
    /// Side effects, each with a severity.
    pub side_effects: Vec<SideEffectDraft>,
    /// 1 (rarely as prescribed) to 5 (always).
    pub adherence: Option<i64>,
    /// 1 (no burden) to 5 (very burdensome).
    pub burden: Option<i64>,
    /// What it costs the patient a month, whole currency units.
    pub monthly_cost: Option<i64>,
    /// ISO 4217 code of that cost.
    pub currency: Option<String>,
    /// Free-text tips for others.
    pub tips: Option<String>,
}

/// A condition or treatment: a vocabulary term, or free text (flagged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coded {
    /// `icd10cm:E11`, `rxnorm:metformin`, `therapy:yoga`, or `text:<normalized text>`.
    pub reference: String,
    /// What to show: the term's name, or the text as written.
    pub text: String,
}

impl Coded {
    /// Whether this matched a vocabulary term (free text does not count in aggregates).
    pub fn is_coded(&self) -> bool {
        !self.reference.starts_with(FREE_TEXT_PREFIX)
    }

    fn resolve(vocabulary: &Vocabulary, raw: &str) -> Coded {
        match vocabulary.resolve(raw) {
            Some(term) => Coded {
                reference: term.key.clone(),
                text: term.name.clone(),
            },
            None => Coded {
                reference: format!("{FREE_TEXT_PREFIX}{}", normalize(raw)),
                text: raw.trim().to_owned(),
            },
        }
    }
}

/// The reference prefix of free text.
pub const FREE_TEXT_PREFIX: &str = "text:";

/// A side effect that passed validation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SideEffect {
    /// Lowercase, single-spaced name: the grouping key.
    pub name: String,
    /// How bad it was.
    pub severity: Severity,
}

/// An evaluation that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// The condition.
    pub condition: Coded,
    /// Medication or therapy.
    pub treatment_kind: TreatmentKind,
    /// The treatment.
    pub treatment: Coded,
    /// Dose.
    pub dose: Option<String>,
    /// Frequency.
    pub frequency: Option<String>,
    /// Start date.
    pub started_on: Date,
    /// Stop date.
    pub stopped_on: Option<Date>,
    /// Why it stopped.
    pub stop_reason: Option<StopReason>,
    /// Perceived effectiveness.
    pub effectiveness: Effectiveness,
    /// Side effects (names unique, sorted by name).
    pub side_effects: Vec<SideEffect>,
    /// 1..=5.
    pub adherence: Option<i64>,
    /// 1..=5.
    pub burden: Option<i64>,
    /// Whole currency units a month.
    pub monthly_cost: Option<i64>,
    /// ISO 4217, uppercase.
    pub currency: Option<String>,
    /// Tips.
    pub tips: Option<String>,
}

/// Why an evaluation was refused. Every message names the field and what is accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvaluationError {
    /// A required field is missing or blank.
    #[error("{0} can't be blank")]
    Blank(&'static str),
    /// A text is longer than allowed.
    #[error("{field} is longer than {max} characters")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// The limit.
        max: usize,
    },
    /// A word outside its closed set.
    #[error("{field} {detail}")]
    UnknownWord {
        /// Which field.
        field: &'static str,
        /// What is accepted.
        detail: String,
    },
    /// A date that is not a real calendar date in `YYYY-MM-DD`.
    #[error("{0} is not a date (YYYY-MM-DD)")]
    NotADate(&'static str),
    /// A date in the future.
    #[error("{0} is in the future")]
    InTheFuture(&'static str),
    /// A start date before 1900.
    #[error("started_on is before {EARLIEST_YEAR}")]
    TooEarly,
    /// Stopped before it started.
    #[error("stopped_on is before started_on")]
    StoppedBeforeStarted,
    /// A stop reason without a stop date.
    #[error("stop_reason needs stopped_on")]
    ReasonWithoutStop,
    /// A score outside 1..=5.
    #[error("{field} must be between 1 and {MAX_SCORE} (got {got})")]
    ScoreOutOfRange {
        /// Which score.
        field: &'static str,
        /// What was sent.
        got: i64,
    },
    /// A negative or absurd cost.
    #[error("monthly_cost must be between 0 and {MAX_MONTHLY_COST} (got {0})")]
    CostOutOfRange(i64),
    /// A currency that is not three letters.
    #[error("currency must be an ISO 4217 code such as USD or EUR")]
    BadCurrency,
    /// More side effects than allowed.
    #[error("at most {MAX_SIDE_EFFECTS} side effects")]
    TooManySideEffects,
    /// The same side effect twice.
    #[error("side effect {0:?} is listed twice")]
    DuplicateSideEffect(String),
}

/// Days since 1970-01-01 (how dates are stored: they sort and subtract as numbers).
pub fn day_number(date: Date) -> i64 {
    i64::from(date.to_julian_day()) - i64::from(UNIX_EPOCH_JULIAN_DAY)
}

/// The date of a day number, if it is one `time` can represent.
pub fn date_of_day(day: i64) -> Option<Date> {
    let julian = i32::try_from(day + i64::from(UNIX_EPOCH_JULIAN_DAY)).ok()?;
    Date::from_julian_day(julian).ok()
}

/// `YYYY-MM-DD` of a date.
pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// 1970-01-01 as a Julian day.
const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

fn parse_date(field: &'static str, raw: &str) -> Result<Date, EvaluationError> {
    let format = format_description!("[year]-[month]-[day]");
    Date::parse(raw.trim(), &format).map_err(|_| EvaluationError::NotADate(field))
}

fn optional_text(
    field: &'static str,
    raw: Option<&String>,
    max: usize,
) -> Result<Option<String>, EvaluationError> {
    match raw.map(|s| s.trim()) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > max => Err(EvaluationError::TooLong { field, max }),
        Some(text) => Ok(Some(text.to_owned())),
    }
}

fn required_text<'a>(field: &'static str, raw: &'a str) -> Result<&'a str, EvaluationError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(EvaluationError::Blank(field));
    }
    if text.chars().count() > MAX_NAME_CHARS {
        return Err(EvaluationError::TooLong {
            field,
            max: MAX_NAME_CHARS,
        });
    }
    Ok(text)
}

fn word<T: FromStr<Err = String>>(field: &'static str, raw: &str) -> Result<T, EvaluationError> {
    if raw.trim().is_empty() {
        return Err(EvaluationError::Blank(field));
    }
    raw.parse()
        .map_err(|detail| EvaluationError::UnknownWord { field, detail })
}

fn score(field: &'static str, raw: Option<i64>) -> Result<Option<i64>, EvaluationError> {
    match raw {
        Some(got) if !(1..=MAX_SCORE).contains(&got) => {
            Err(EvaluationError::ScoreOutOfRange { field, got })
        }
        other => Ok(other),
    }
}

impl EvaluationDraft {
    /// Checks every rule; `today` is the author's current date (UTC), for the "not in the
    /// future" rules.
    pub fn validate(&self, today: Date) -> Result<Evaluation, EvaluationError> {
        let condition = required_text("condition", &self.condition)?;
        let treatment_kind: TreatmentKind = word("treatment_kind", &self.treatment_kind)?;
        let treatment = required_text("treatment", &self.treatment)?;
        let vocabulary = Vocabulary::of(match treatment_kind {
            TreatmentKind::Medication => VocabularyKind::Medications,
            TreatmentKind::Therapy => VocabularyKind::Therapies,
        });

        if self.started_on.trim().is_empty() {
            return Err(EvaluationError::Blank("started_on"));
        }
        let started_on = parse_date("started_on", &self.started_on)?;
        if started_on > today {
            return Err(EvaluationError::InTheFuture("started_on"));
        }
        if started_on.year() < EARLIEST_YEAR {
            return Err(EvaluationError::TooEarly);
        }
        let stopped_on = match self.stopped_on.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => {
                let stopped = parse_date("stopped_on", raw)?;
                if stopped > today {
                    return Err(EvaluationError::InTheFuture("stopped_on"));
                }
                if stopped < started_on {
                    return Err(EvaluationError::StoppedBeforeStarted);
                }
                Some(stopped)
            }
        };
        let stop_reason = match self.stop_reason.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => {
                if stopped_on.is_none() {
                    return Err(EvaluationError::ReasonWithoutStop);
                }
                Some(word("stop_reason", raw)?)
            }
        };
        let effectiveness = word("effectiveness", &self.effectiveness)?;

        if self.side_effects.len() > MAX_SIDE_EFFECTS {
            return Err(EvaluationError::TooManySideEffects);
        }
        let mut side_effects: Vec<SideEffect> = Vec::with_capacity(self.side_effects.len());
        for draft in &self.side_effects {
            let name = normalize(required_text("side_effects.name", &draft.name)?);
            let severity = word("side_effects.severity", &draft.severity)?;
            if side_effects.iter().any(|s| s.name == name) {
                return Err(EvaluationError::DuplicateSideEffect(name));
            }
            side_effects.push(SideEffect { name, severity });
        }
        // One canonical order (by name), so a stored evaluation reads back as submitted.
        side_effects.sort();

        let adherence = score("adherence", self.adherence)?;
        let burden = score("burden", self.burden)?;
        let monthly_cost = match self.monthly_cost {
            Some(cost) if !(0..=MAX_MONTHLY_COST).contains(&cost) => {
                return Err(EvaluationError::CostOutOfRange(cost));
            }
            other => other,
        };
        let currency = match self.currency.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) if code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic()) => {
                Some(code.to_ascii_uppercase())
            }
            Some(_) => return Err(EvaluationError::BadCurrency),
        };

        Ok(Evaluation {
            condition: Coded::resolve(Vocabulary::of(VocabularyKind::Conditions), condition),
            treatment_kind,
            treatment: Coded::resolve(vocabulary, treatment),
            dose: optional_text("dose", self.dose.as_ref(), MAX_NAME_CHARS)?,
            frequency: optional_text("frequency", self.frequency.as_ref(), MAX_NAME_CHARS)?,
            started_on,
            stopped_on,
            stop_reason,
            effectiveness,
            side_effects,
            adherence,
            burden,
            monthly_cost,
            currency,
            tips: optional_text("tips", self.tips.as_ref(), MAX_TIPS_CHARS)?,
        })
    }
}

impl Evaluation {
    /// What is worth telling the author about a stored evaluation: entries that matched no
    /// vocabulary (kept as free text, and left out of aggregates).
    pub fn flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if !self.condition.is_coded() {
            flags.push("condition_not_in_vocabulary");
        }
        if !self.treatment.is_coded() {
            flags.push("treatment_not_in_vocabulary");
        }
        flags
    }

    /// The draft that validates back to this evaluation (the base of a partial update).
    pub fn to_draft(&self) -> EvaluationDraft {
        EvaluationDraft {
            condition: self.condition.text.clone(),
            treatment_kind: self.treatment_kind.as_str().to_owned(),
            treatment: self.treatment.text.clone(),
            dose: self.dose.clone(),
            frequency: self.frequency.clone(),
            started_on: format_date(self.started_on),
            stopped_on: self.stopped_on.map(format_date),
            stop_reason: self.stop_reason.map(|r| r.as_str().to_owned()),
            effectiveness: self.effectiveness.as_str().to_owned(),
            side_effects: self
                .side_effects
                .iter()
                .map(|s| SideEffectDraft {
                    name: s.name.clone(),
                    severity: s.severity.as_str().to_owned(),
                })
                .collect(),
            adherence: self.adherence,
            burden: self.burden,
            monthly_cost: self.monthly_cost,
            currency: self.currency.clone(),
            tips: self.tips.clone(),
        }
    }

    /// Days the treatment ran, for a stopped one.
    pub fn duration_days(&self) -> Option<i64> {
        self.stopped_on
            .map(|stop| day_number(stop) - day_number(self.started_on))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 06 - 15);

    fn draft() -> EvaluationDraft {
        EvaluationDraft {
            condition: "E11".into(),
            treatment_kind: "medication".into(),
            treatment: "Metformin".into(),
            dose: Some("500 mg".into()),
            frequency: Some("twice a day".into()),
            started_on: "2025-01-10".into(),
            stopped_on: Some("2025-07-01".into()),
            stop_reason: Some("side_effects".into()),
            effectiveness: "moderate".into(),
            side_effects: vec![SideEffectDraft {
                name: " Nausea ".into(),
                severity: "mild".into(),
            }],
            adherence: Some(4),
            burden: Some(2),
            monthly_cost: Some(12),
            currency: Some("usd".into()),
            tips: Some("Take it with food.".into()),
        }
    }

    fn refused(change: impl FnOnce(&mut EvaluationDraft)) -> EvaluationError {
        let mut d = draft();
        change(&mut d);
        match d.validate(TODAY) {
            Err(e) => e,
            Ok(ok) => panic!("accepted: {ok:?}"),
        }
    }

    #[test]
    fn a_complete_evaluation_is_coded_and_normalized() {
        let e = draft().validate(TODAY).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.condition.reference, "icd10cm:E11");
        assert_eq!(e.condition.text, "Type 2 diabetes mellitus");
        assert_eq!(e.treatment.reference, "rxnorm:metformin");
        assert_eq!(e.side_effects[0].name, "nausea");
        assert_eq!(e.currency.as_deref(), Some("USD"));
        assert_eq!(e.duration_days(), Some(172));
        assert!(e.flags().is_empty());
        assert_eq!(e.to_draft().validate(TODAY), Ok(e));
    }

    #[test]
    fn unknown_vocabulary_entries_are_kept_as_free_text_and_flagged() {
        let mut d = draft();
        d.condition = "Sugar trouble".into();
        d.treatment = "Glucophage XR".into();
        let e = d.validate(TODAY).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.condition.reference, "text:sugar trouble");
        assert_eq!(e.condition.text, "Sugar trouble");
        assert!(!e.treatment.is_coded());
        assert_eq!(
            e.flags(),
            vec!["condition_not_in_vocabulary", "treatment_not_in_vocabulary"]
        );
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert_eq!(
            refused(|d| d.started_on = "2025-02-30".into()),
            EvaluationError::NotADate("started_on")
        );
        assert_eq!(
            refused(|d| d.started_on = "last spring".into()),
            EvaluationError::NotADate("started_on")
        );
        assert_eq!(
            refused(|d| d.started_on = "2026-06-16".into()),
            EvaluationError::InTheFuture("started_on")
        );
        assert_eq!(
            refused(|d| d.stopped_on = Some("2030-01-01".into())),
            EvaluationError::InTheFuture("stopped_on")
        );
        assert_eq!(
            refused(|d| d.stopped_on = Some("2024-12-31".into())),
            EvaluationError::StoppedBeforeStarted
        );
        assert_eq!(
            refused(|d| d.started_on = "1899-12-31".into()),
            EvaluationError::TooEarly
        );
        assert_eq!(
            refused(|d| d.stopped_on = None),
            EvaluationError::ReasonWithoutStop
        );
    }

    #[test]
    fn out_of_range_scores_and_costs_are_refused() {
        assert_eq!(
            refused(|d| d.adherence = Some(0)),
            EvaluationError::ScoreOutOfRange {
                field: "adherence",
                got: 0
            }
        );
        assert_eq!(
            refused(|d| d.burden = Some(6)),
            EvaluationError::ScoreOutOfRange {
                field: "burden",
                got: 6
            }
        );
        assert_eq!(
            refused(|d| d.monthly_cost = Some(-1)),
            EvaluationError::CostOutOfRange(-1)
        );
        assert_eq!(
            refused(|d| d.currency = Some("dollars".into())),
            EvaluationError::BadCurrency
        );
    }

    #[test]
    fn closed_words_name_what_is_accepted() {
        let err = refused(|d| d.effectiveness = "great".into());
        assert_eq!(
            err.to_string(),
            "effectiveness must be one of none, slight, moderate, major, cant_tell"
        );
        assert!(matches!(
            refused(|d| d.treatment_kind = "herb".into()),
            EvaluationError::UnknownWord {
                field: "treatment_kind",
                ..
            }
        ));
        assert!(matches!(
            refused(|d| d.side_effects[0].severity = "awful".into()),
            EvaluationError::UnknownWord {
                field: "side_effects.severity",
                ..
            }
        ));
    }

    #[test]
    fn blank_long_and_repeated_entries_are_refused() {
        assert_eq!(
            refused(|d| d.condition = "  ".into()),
            EvaluationError::Blank("condition")
        );
        assert_eq!(
            refused(|d| d.tips = Some("x".repeat(MAX_TIPS_CHARS + 1))),
            EvaluationError::TooLong {
                field: "tips",
                max: MAX_TIPS_CHARS
            }
        );
        assert_eq!(
            refused(|d| d.side_effects.push(SideEffectDraft {
                name: "NAUSEA".into(),
                severity: "severe".into()
            })),
            EvaluationError::DuplicateSideEffect("nausea".into())
        );
        assert_eq!(
            refused(|d| d.side_effects = vec![
                SideEffectDraft {
                    name: "a".into(),
                    severity: "mild".into()
                };
                MAX_SIDE_EFFECTS + 1
            ]),
            EvaluationError::TooManySideEffects
        );
    }

    #[test]
    fn day_numbers_round_trip() {
        assert_eq!(day_number(date!(1970 - 01 - 01)), 0);
        assert_eq!(day_number(date!(1970 - 01 - 02)), 1);
        let d = date!(2025 - 02 - 28);
        assert_eq!(date_of_day(day_number(d)), Some(d));
        assert_eq!(format_date(d), "2025-02-28");
    }
}
