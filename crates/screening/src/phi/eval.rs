//! Evaluation against a labelled JSON Lines corpus (the format of
//! `shared/data/phi/dev.jsonl`): post-level precision, recall, F2 and benign hold rate on
//! `identifies_patient`, span recall per kind, and the 99th percentile latency of one
//! [`PhiGuard::screen`] call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;

use super::{AuthorKind, PhiError, PhiGuard, PhiKind};

/// Why a corpus could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("line {line}: {message}")]
    BadLine { line: usize, message: String },
    #[error("the corpus has no posts")]
    Empty,
    #[error(transparent)]
    Guard(#[from] PhiError),
}

#[derive(Deserialize)]
struct Record {
    author_role: String,
    text: String,
    identifies_patient: bool,
    spans: Vec<GoldSpan>,
}

#[derive(Deserialize)]
struct GoldSpan {
    start: usize,
    end: usize,
    kind: String,
}

/// Metrics for one corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct PhiEvalReport {
    pub posts: usize,
    pub precision: f64,
    pub recall: f64,
    pub f2: f64,
    /// Share of negative posts predicted positive.
    pub benign_hold_rate: f64,
    /// Per gold kind: share of gold spans overlapped by a predicted span of the same kind.
    pub span_recall: BTreeMap<String, f64>,
    /// 99th percentile of one `screen()` call, microseconds.
    pub p99_us: f64,
    /// Ids (or line numbers) of misclassified posts, for the mistake list.
    pub false_positives: Vec<String>,
    pub false_negatives: Vec<String>,
}

impl PhiEvalReport {
    /// One JSON object: posts, precision, recall, f2, benign_hold_rate, span_recall, p99_us.
    pub fn to_json_line(&self) -> String {
        let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
        let spans: serde_json::Map<String, serde_json::Value> = self
            .span_recall
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::json!(round(*v))))
            .collect();
        serde_json::json!({
            "posts": self.posts,
            "precision": round(self.precision),
            "recall": round(self.recall),
            "f2": round(self.f2),
            "benign_hold_rate": round(self.benign_hold_rate),
            "span_recall": spans,
            "p99_us": (self.p99_us * 10.0).round() / 10.0,
        })
        .to_string()
    }
}

/// Reads and evaluates a corpus file. Bad lines are errors naming the line number.
pub fn evaluate_jsonl(path: &Path) -> Result<PhiEvalReport, EvalError> {
    let data = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut posts = Vec::new();
    for (i, line) in data.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_no = i + 1;
        let record: Record = serde_json::from_str(line).map_err(|e| EvalError::BadLine {
            line: line_no,
            message: e.to_string(),
        })?;
        let author: AuthorKind =
            record
                .author_role
                .parse()
                .map_err(|e: cohort_model::AuthorKindError| EvalError::BadLine {
                    line: line_no,
                    message: e.to_string(),
                })?;
        let id = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("id").and_then(|id| id.as_str().map(str::to_owned)))
            .unwrap_or_else(|| format!("line {line_no}"));
        posts.push((id, author, record));
    }
    if posts.is_empty() {
        return Err(EvalError::Empty);
    }
    let guard = PhiGuard::new()?;
    evaluate(&guard, &posts)
}

fn evaluate(
    guard: &PhiGuard,
    posts: &[(String, AuthorKind, Record)],
) -> Result<PhiEvalReport, EvalError> {
    let (mut tp, mut fp, mut fn_, mut negatives) = (0usize, 0usize, 0usize, 0usize);
    let mut false_positives = Vec::new();
    let mut false_negatives = Vec::new();
    let mut span_totals: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (id, author, record) in posts {
        let finding = guard.screen(&record.text, *author);
        match (record.identifies_patient, finding.identifies_patient) {
            (true, true) => tp += 1,
            (true, false) => {
                fn_ += 1;
                false_negatives.push(id.clone());
            }
            (false, true) => {
                fp += 1;
                false_positives.push(id.clone());
            }
            (false, false) => {}
        }
        if !record.identifies_patient {
            negatives += 1;
        }
        for gold in &record.spans {
            let hit = finding
                .spans
                .iter()
                .any(|s| s.kind.as_str() == gold.kind && s.start < gold.end && gold.start < s.end);
            let entry = span_totals.entry(gold.kind.clone()).or_default();
            entry.0 += 1;
            entry.1 += usize::from(hit);
        }
    }
    // Unknown gold kinds are reported as they are spelled, so a typo shows up in the output.
    for kind in span_totals.keys() {
        if kind.parse::<PhiKind>().is_err() {
            return Err(EvalError::BadLine {
                line: 0,
                message: format!("unknown span kind {kind:?}"),
            });
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f2 = if precision + recall == 0.0 {
        0.0
    } else {
        5.0 * precision * recall / (4.0 * precision + recall)
    };
    Ok(PhiEvalReport {
        posts: posts.len(),
        precision,
        recall,
        f2,
        benign_hold_rate: ratio(fp, negatives),
        span_recall: span_totals
            .into_iter()
            .map(|(k, (total, hit))| (k, ratio(hit, total)))
            .collect(),
        p99_us: p99_latency_us(guard, posts),
        false_positives,
        false_negatives,
    })
}

/// Times every post individually after a warm-up pass, over several rounds, and returns the
/// 99th percentile in microseconds.
fn p99_latency_us(guard: &PhiGuard, posts: &[(String, AuthorKind, Record)]) -> f64 {
    const ROUNDS: usize = 5;
    for (_, author, record) in posts {
        std::hint::black_box(guard.screen(&record.text, *author));
    }
    let mut samples = Vec::with_capacity(posts.len() * ROUNDS);
    for _ in 0..ROUNDS {
        for (_, author, record) in posts {
            let start = Instant::now();
            std::hint::black_box(guard.screen(&record.text, *author));
            samples.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    let idx = ((samples.len() as f64) * 0.99).ceil() as usize;
    samples.get(idx.saturating_sub(1)).copied().unwrap_or(0.0)
}
