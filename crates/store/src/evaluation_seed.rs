//! Seeding a community with many evaluations, for the aggregation benchmark
//! (`crates/store/tests/evaluations_bench.rs`). Not used by the server itself.
//!
//! Writes straight to the tables with multi-row `INSERT`s in large transactions: accounts
//! with the bare minimum columns, their memberships, and evaluations spread over coded
//! treatments with realistic answers (a deterministic generator, so every run measures the
//! same data).

use cohort_health::{Effectiveness, Severity, Vocabulary, VocabularyKind};
use cohort_model::{Id, SnowflakeClock};

use crate::bench_seed::{Lcg, value_rows};
use crate::{Store, StoreError, now_ms};

/// Rows per `INSERT` (x at most 10 columns: far below both engines' parameter limits).
const ROWS_PER_INSERT: usize = 500;

/// What to seed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EvaluationSeed {
    /// Patients (accounts, all members of the community).
    pub patients: usize,
    /// Evaluations, spread over the patients (each patient evaluates distinct treatments).
    pub evaluations: usize,
    /// How many medications of the vocabulary they are spread over.
    pub treatments: usize,
}

impl Store {
    /// Adds `seed.patients` accounts (`eval_0`...) as members of `community` and
    /// `seed.evaluations` evaluations filed in it. Meant for a fresh database holding the
    /// community.
    pub async fn seed_evaluation_benchmark(
        &self,
        community: Id,
        base_url: &str,
        seed: EvaluationSeed,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut clock = SnowflakeClock::new();
        let patients: Vec<Id> = (0..seed.patients.max(1))
            .map(|_| clock.next(now - 86_400_000))
            .collect();
        let mut tx = self.writer().begin().await?;
        for (chunk_no, chunk) in patients.chunks(ROWS_PER_INSERT).enumerate() {
            let sql = format!(
                "INSERT INTO accounts (id, username, username_lower, actor_uri, inbox_uri, url, created_at, updated_at) VALUES {}",
                value_rows(chunk.len(), 8)
            );
            // Built from numbers only (placeholders).
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, account) in chunk.iter().enumerate() {
                let name = format!("eval_{}", chunk_no * ROWS_PER_INSERT + i);
                query = query
                    .bind(account.as_i64())
                    .bind(name.clone())
                    .bind(name.clone())
                    .bind(format!("{base_url}/users/{name}"))
                    .bind(format!("{base_url}/users/{name}/inbox"))
                    .bind(format!("{base_url}/@{name}"))
                    .bind(now)
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
            let sql = format!(
                "INSERT INTO community_members (community_id, account_id, role, state, created_at) VALUES {}",
                value_rows(chunk.len(), 5)
            );
            // Built from numbers only (placeholders).
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for account in chunk {
                query = query
                    .bind(community.as_i64())
                    .bind(account.as_i64())
                    .bind("member")
                    .bind("member")
                    .bind(now);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;

        let treatments: Vec<&str> = Vocabulary::of(VocabularyKind::Medications)
            .terms()
            .iter()
            .take(seed.treatments.max(1))
            .map(|t| t.key.as_str())
            .collect();
        let effects = [
            "nausea",
            "headache",
            "fatigue",
            "dizziness",
            "rash",
            "insomnia",
        ];
        let mut rng = Lcg(0xe7a1);
        let today = now / 86_400_000;
        let mut written = 0;
        while written < seed.evaluations {
            let mut tx = self.writer().begin().await?;
            for _ in 0..20 {
                let rows = ROWS_PER_INSERT.min(seed.evaluations - written);
                if rows == 0 {
                    break;
                }
                let sql = format!(
                    "INSERT INTO evaluations (id, account_id, community_id, visibility, condition_ref, \
                     condition_text, treatment_kind, treatment_ref, treatment_text, started_day, \
                     stopped_day, effectiveness, created_at, updated_at) VALUES {}",
                    value_rows(rows, 14)
                );
                // Built from numbers only (placeholders).
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                let mut side_effects: Vec<(i64, &str, &str)> = Vec::new();
                for n in written..written + rows {
                    let id = clock.next(now).as_i64();
                    // Evaluation n belongs to patient n % patients, about treatment
                    // (n / patients) + patient: distinct treatments per patient.
                    let patient_index = n % patients.len();
                    let round = n / patients.len();
                    let treatment = treatments[(patient_index + round) % treatments.len()];
                    let roll = rng.next();
                    let effectiveness = Effectiveness::ALL[usize::try_from(roll % 5).unwrap_or(0)];
                    let started = today - 30 - i64::try_from(roll % 900).unwrap_or(0);
                    let stopped = (!roll.is_multiple_of(3))
                        .then(|| (started + i64::try_from(roll % 400).unwrap_or(0)).min(today));
                    for (i, effect) in effects.iter().enumerate() {
                        if (roll >> (8 + i)).is_multiple_of(4) {
                            let severity =
                                Severity::ALL[usize::try_from((roll >> (16 + i)) % 3).unwrap_or(0)];
                            side_effects.push((id, effect, severity.as_str()));
                        }
                    }
                    query = query
                        .bind(id)
                        .bind(patients[patient_index].as_i64())
                        .bind(community.as_i64())
                        .bind("private")
                        .bind("icd10cm:E11")
                        .bind("Type 2 diabetes mellitus")
                        .bind("medication")
                        .bind(treatment)
                        .bind(treatment.trim_start_matches("rxnorm:"))
                        .bind(started)
                        .bind(stopped)
                        .bind(effectiveness.as_str())
                        .bind(now)
                        .bind(now);
                }
                query.execute(&mut *tx).await?;
                for chunk in side_effects.chunks(ROWS_PER_INSERT) {
                    let sql = format!(
                        "INSERT INTO evaluation_side_effects (evaluation_id, name, severity, community_id) VALUES {}",
                        value_rows(chunk.len(), 4)
                    );
                    // Built from numbers only (placeholders).
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for (id, name, severity) in chunk {
                        query = query
                            .bind(*id)
                            .bind(*name)
                            .bind(*severity)
                            .bind(community.as_i64());
                    }
                    query.execute(&mut *tx).await?;
                }
                written += rows;
            }
            tx.commit().await?;
        }
        sqlx::query("ANALYZE").execute(self.writer()).await?;
        Ok(())
    }
}
