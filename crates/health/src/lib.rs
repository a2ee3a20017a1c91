//! Patient-reported treatment evaluations (issue 10): the vocabularies conditions and
//! treatments are coded with, the rules an evaluation must pass, and the k-anonymous
//! aggregates a community publishes.
//!
//! Pure logic, no IO: the store reads rows and calls [`aggregate::summarize`] and
//! [`aggregate::decide`]; the API validates through [`EvaluationDraft::validate`]. Knowing
//! no SQL, JSON wire format or HTTP keeps every privacy rule here testable as a function
//! (docs/EVALUATIONS.md states the guarantees; `aggregate::tests` attacks them).

pub mod aggregate;
pub mod evaluation;
pub mod scale;
pub mod vocabulary;

pub use aggregate::{
    CellView, CurrentCell, DEFAULT_MIN_PATIENTS, Decision, LOWEST_MIN_PATIENTS, Members,
    PastSnapshot, PatientReport, SideEffectView,
};
pub use evaluation::{
    Coded, Effectiveness, Evaluation, EvaluationDraft, EvaluationError, EvaluationVisibility,
    FREE_TEXT_PREFIX, Severity, SideEffect, SideEffectDraft, StopReason, TreatmentKind,
};
pub use scale::{DURATION, Distribution, EFFECTIVENESS, SEVERITY, Scale};
pub use vocabulary::{Term, Vocabulary, VocabularyKind};
