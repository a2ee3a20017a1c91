//! `cohort phi-eval` and `cohort urgent-eval`: the screens measured on a labelled corpus.
//! The metrics are the last line of standard output, as one JSON object, so scripts can
//! take `tail -n 1`.

use std::path::Path;

use cohort_screening::{phi, urgent};

use crate::RunError;

/// Runs the PHI guard over `path` and prints its metrics.
pub fn phi(path: &Path) -> Result<(), RunError> {
    let report = phi::eval::evaluate_jsonl(path).map_err(|e| RunError::Argument {
        argument: "PATH",
        reason: e.to_string(),
    })?;
    println!("{}", report.to_json_line());
    Ok(())
}

/// Runs the urgent-question router over `path` and prints its metrics.
pub fn urgent(path: &Path) -> Result<(), RunError> {
    let report = urgent::eval::evaluate_jsonl(path).map_err(|e| RunError::Argument {
        argument: "PATH",
        reason: e.to_string(),
    })?;
    println!("{}", report.to_json_line());
    Ok(())
}
