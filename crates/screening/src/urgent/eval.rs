//! Evaluation of the router on a labelled JSON Lines corpus (`data/urgent/dev.jsonl` format).
//!
//! The report answers the questions the router is judged on: does it catch emergencies and
//! crises (recall), does it bother people whose posts are fine (false-alarm rate on gold
//! `none`), is it balanced across labels (macro F1), and is it fast enough to run inline on
//! every post (99th-percentile time of one `classify` call).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;

use super::{AuthorKind, UrgentError, UrgentLabel, UrgentRouter};

/// Why a corpus could not be evaluated. Line numbers are 1-based.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("line {line}: {message}")]
    BadLine { line: usize, message: String },
    #[error("the corpus has no posts")]
    Empty,
    #[error(transparent)]
    Router(#[from] UrgentError),
}

/// One corpus line. Unknown keys (such as `note`) are ignored; missing ones are errors.
#[derive(Deserialize)]
struct Line {
    id: String,
    author_role: String,
    addresses_clinician: bool,
    text: String,
    label: String,
}

/// One post the router got wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mistake {
    pub id: String,
    pub gold: UrgentLabel,
    pub predicted: UrgentLabel,
    pub reason: String,
}

/// Figures for one corpus.
#[derive(Clone, Debug)]
pub struct UrgentEvalReport {
    pub posts: usize,
    /// `confusion[gold][predicted]`, indexed in [`UrgentLabel::ALL`] order.
    pub confusion: [[usize; 4]; 4],
    pub macro_f1: f64,
    /// Recall of each urgent label; `None` when the corpus has no post with that gold label.
    pub emergency_recall: Option<f64>,
    pub crisis_recall: Option<f64>,
    pub sensitive_recall: Option<f64>,
    /// Share of gold `none` posts given any other label; `None` without gold `none` posts.
    pub false_alarm_rate: Option<f64>,
    /// 99th percentile of one `classify` call, in microseconds.
    pub p99_us: f64,
    pub mistakes: Vec<Mistake>,
}

/// How many timed passes over the corpus (after one warm-up pass).
const TIMED_PASSES: usize = 5;

fn idx(l: UrgentLabel) -> usize {
    UrgentLabel::ALL.iter().position(|&x| x == l).unwrap_or(3)
}

fn parse_line(n: usize, raw: &str) -> Result<(Line, AuthorKind, UrgentLabel), EvalError> {
    let bad = |message: String| EvalError::BadLine { line: n, message };
    let line: Line = serde_json::from_str(raw).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let author = line
        .author_role
        .parse::<AuthorKind>()
        .map_err(|e| bad(e.to_string()))?;
    let gold = UrgentLabel::from_name(&line.label)
        .ok_or_else(|| bad(format!("unknown label {:?}", line.label)))?;
    Ok((line, author, gold))
}

/// Reads, classifies and scores the corpus at `path`. Blank lines are skipped; any other bad
/// line stops the evaluation with an error naming it.
pub fn evaluate_jsonl(path: &Path) -> Result<UrgentEvalReport, EvalError> {
    let body = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut posts = Vec::new();
    for (i, raw) in body.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        posts.push(parse_line(i + 1, raw)?);
    }
    if posts.is_empty() {
        return Err(EvalError::Empty);
    }
    let router = UrgentRouter::new()?;
    let mut confusion = [[0usize; 4]; 4];
    let mut mistakes = Vec::new();
    for (line, author, gold) in &posts {
        let f = router.classify(&line.text, line.addresses_clinician, *author);
        confusion[idx(*gold)][idx(f.label)] += 1;
        if f.label != *gold {
            mistakes.push(Mistake {
                id: line.id.clone(),
                gold: *gold,
                predicted: f.label,
                reason: f.reason,
            });
        }
    }
    let p99_us = time_p99(&router, &posts);
    Ok(score(posts.len(), confusion, mistakes, p99_us))
}

fn time_p99(router: &UrgentRouter, posts: &[(Line, AuthorKind, UrgentLabel)]) -> f64 {
    for (line, author, _) in posts {
        std::hint::black_box(router.classify(&line.text, line.addresses_clinician, *author));
    }
    let mut times = Vec::with_capacity(posts.len() * TIMED_PASSES);
    for _ in 0..TIMED_PASSES {
        for (line, author, _) in posts {
            let start = Instant::now();
            std::hint::black_box(router.classify(&line.text, line.addresses_clinician, *author));
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    times.sort_by(f64::total_cmp);
    let rank = ((times.len() as f64) * 0.99).ceil() as usize;
    times.get(rank.saturating_sub(1)).copied().unwrap_or(0.0)
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn score(
    posts: usize,
    c: [[usize; 4]; 4],
    mistakes: Vec<Mistake>,
    p99_us: f64,
) -> UrgentEvalReport {
    let gold_total = |g: usize| c[g].iter().sum::<usize>();
    let pred_total = |p: usize| c.iter().map(|row| row[p]).sum::<usize>();
    // Macro F1 over the labels that occur in the gold labels or the predictions (a label absent
    // from both says nothing about the router).
    let mut f1s = Vec::new();
    for (l, row) in c.iter().enumerate() {
        let (g, p, tp) = (gold_total(l), pred_total(l), row[l]);
        if g + p == 0 {
            continue;
        }
        f1s.push(2.0 * tp as f64 / (g + p) as f64);
    }
    let macro_f1 = if f1s.is_empty() {
        0.0
    } else {
        f1s.iter().sum::<f64>() / f1s.len() as f64
    };
    let none = idx(UrgentLabel::None);
    UrgentEvalReport {
        posts,
        confusion: c,
        macro_f1,
        emergency_recall: ratio(c[0][0], gold_total(0)),
        crisis_recall: ratio(c[1][1], gold_total(1)),
        sensitive_recall: ratio(c[2][2], gold_total(2)),
        false_alarm_rate: ratio(gold_total(none) - c[none][none], gold_total(none)),
        p99_us,
        mistakes,
    }
}

fn num(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        _ => "null".to_owned(),
    }
}

impl UrgentEvalReport {
    /// The one-line JSON summary printed by `cohort urgent-eval`. Undefined ratios (no gold
    /// post of that label) are `null`.
    pub fn to_json_line(&self) -> String {
        format!(
            "{{\"posts\":{},\"macro_f1\":{},\"emergency_recall\":{},\"crisis_recall\":{},\"sensitive_recall\":{},\"false_alarm_rate\":{},\"p99_us\":{:.1}}}",
            self.posts,
            num(Some(self.macro_f1)),
            num(self.emergency_recall),
            num(self.crisis_recall),
            num(self.sensitive_recall),
            num(self.false_alarm_rate),
            self.p99_us
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, body: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("cohort-urgent-{}-{name}.jsonl", std::process::id()));
        assert!(std::fs::write(&path, body).is_ok());
        path
    }

    #[test]
    fn bad_lines_are_errors_naming_the_line() {
        let good = r#"{"id":"a","author_role":"patient","addresses_clinician":false,"text":"hi","label":"none"}"#;
        let cases = [
            ("json", format!("{good}\n{{not json\n"), 2),
            (
                "missing",
                format!(
                    "{good}\n\n{{\"id\":\"b\",\"author_role\":\"patient\",\"text\":\"x\",\"label\":\"none\"}}\n"
                ),
                3,
            ),
            ("label", good.replace("\"none\"", "\"urgent\""), 1),
            ("role", good.replace("patient", "robot"), 1),
        ];
        for (name, body, want) in cases {
            match evaluate_jsonl(&write(name, &body)) {
                Err(EvalError::BadLine { line, .. }) => assert_eq!(line, want, "{name}"),
                other => panic!("{name}: expected a bad line, got {other:?}"),
            }
        }
        assert!(matches!(
            evaluate_jsonl(Path::new("/nonexistent/x.jsonl")),
            Err(EvalError::Io { .. })
        ));
        assert!(matches!(
            evaluate_jsonl(&write("empty", "\n")),
            Err(EvalError::Empty)
        ));
    }

    #[test]
    fn report_is_one_json_object_with_the_contract_keys() {
        let body = concat!(
            r#"{"id":"a","author_role":"patient","addresses_clinician":false,"text":"new wheelchair cushion arrived","label":"none"}"#,
            "\n",
            r#"{"id":"b","author_role":"patient","addresses_clinician":false,"text":"crushing chest pain and sweating buckets right now","label":"emergency"}"#,
        );
        let report = evaluate_jsonl(&write("ok", body));
        let Ok(report) = report else {
            panic!("{:?}", report.err())
        };
        let line = report.to_json_line();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        let keys: Vec<&str> = v
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for k in [
            "posts",
            "macro_f1",
            "emergency_recall",
            "crisis_recall",
            "sensitive_recall",
            "false_alarm_rate",
            "p99_us",
        ] {
            assert!(keys.contains(&k), "{k} missing from {line}");
        }
        assert_eq!(v["posts"], 2);
        assert_eq!(v["crisis_recall"], serde_json::Value::Null);
        assert!(!line.contains('\n'));
    }
}
