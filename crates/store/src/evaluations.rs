//! Treatment evaluations: the records their authors keep, and the k-anonymous aggregates
//! of a community.
//!
//! **Reads of individual evaluations take the viewer** and filter in SQL, in one place
//! ([`VISIBLE_TO`]): a `private` evaluation is its author's, a `community` one is also its
//! community's current members' (the same `community_members` facts the read gate uses), a
//! `public` one is anyone's. An evaluation is never federated as a record.
//!
//! **Aggregates** are computed by `cohort_health::aggregate` from the evaluations filed in a
//! community by its current members (coded treatments only), and published as snapshots
//! (`evaluation_snapshots`) under its rules; [`Store::refresh_aggregates`] is the one place
//! that writes them. Cells other instances contributed (`evaluation_contributions`) are
//! added in [`Store::community_aggregates`].

use std::collections::HashMap;

use cohort_health::aggregate::{
    Decision, PastSnapshot, PatientReport, combine, decide, decode_members, encode_members,
    summarize,
};
use cohort_health::evaluation::{date_of_day, day_number};
use cohort_health::{
    CellView, Coded, Effectiveness, Evaluation, EvaluationVisibility, Severity, SideEffect,
};
use cohort_model::Id;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::row::{flag, id, parsed};
use crate::sql::{IN_LIST_CHUNK, placeholders};
use crate::timelines::Page;
use crate::{Store, StoreError, now_ms};

/// A stored evaluation with its author, community and visibility.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvaluationRecord {
    /// Its id.
    pub id: Id,
    /// Its author (a local account).
    pub author: Id,
    /// The community it is filed in, if any.
    pub community: Option<Id>,
    /// Who may read it.
    pub visibility: EvaluationVisibility,
    /// What was reported.
    pub evaluation: Evaluation,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last changed, Unix ms.
    pub updated_at: i64,
}

/// Where an evaluation is filed and who may read it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EvaluationPlacement {
    /// The community (its aggregates count it; its members may read a `community` one).
    pub community: Option<Id>,
    /// Who may read it.
    pub visibility: EvaluationVisibility,
}

/// Which evaluations to list.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct EvaluationFilter {
    /// Only this author's.
    pub author: Option<Id>,
    /// Only those filed in this community.
    pub community: Option<Id>,
}

/// A community's aggregates as published now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommunityAggregates {
    /// One cell per treatment shown, most patients first.
    pub cells: Vec<CellView>,
    /// When this instance's newest shown snapshot was published (Unix ms), if any.
    pub published_at: Option<i64>,
    /// Instances whose counts are included (this one first, if it has any).
    pub instances: Vec<String>,
}

/// The condition under which `$1` (the viewer's account id, or -1 for nobody) may read the
/// evaluation `e`. Every read of individual evaluations goes through it.
const VISIBLE_TO: &str = "(e.visibility = 'public' OR e.account_id = $1 \
     OR (e.visibility = 'community' AND EXISTS (SELECT 1 FROM community_members vm \
         WHERE vm.community_id = e.community_id AND vm.account_id = $1 AND vm.state = 'member')))";

const EVALUATION_COLUMNS: &str = "e.id, e.account_id, e.community_id, e.visibility, \
     e.condition_ref, e.condition_text, e.treatment_kind, e.treatment_ref, e.treatment_text, \
     e.dose, e.frequency, e.started_day, e.stopped_day, e.stop_reason, e.effectiveness, \
     e.adherence, e.burden, e.monthly_cost, e.currency, e.tips, e.created_at, e.updated_at";

fn day(row: &AnyRow, column: &'static str) -> Result<Option<time::Date>, StoreError> {
    let raw: Option<i64> = row.try_get(column)?;
    raw.map(|d| {
        date_of_day(d).ok_or(StoreError::Corrupt {
            column,
            detail: format!("day {d} out of range"),
        })
    })
    .transpose()
}

fn optional_parsed<T>(row: &AnyRow, column: &'static str) -> Result<Option<T>, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let raw: Option<String> = row.try_get(column)?;
    raw.map(|r| {
        r.parse().map_err(|e: T::Err| StoreError::Corrupt {
            column,
            detail: e.to_string(),
        })
    })
    .transpose()
}

fn record_from_row(
    row: &AnyRow,
    side_effects: Vec<SideEffect>,
) -> Result<EvaluationRecord, StoreError> {
    let community: Option<i64> = row.try_get("community_id")?;
    Ok(EvaluationRecord {
        id: id(row, "id")?,
        author: id(row, "account_id")?,
        community: community
            .map(|c| crate::row::id_from(c, "community_id"))
            .transpose()?,
        visibility: parsed(row, "visibility")?,
        evaluation: Evaluation {
            condition: Coded {
                reference: row.try_get("condition_ref")?,
                text: row.try_get("condition_text")?,
            },
            treatment_kind: parsed(row, "treatment_kind")?,
            treatment: Coded {
                reference: row.try_get("treatment_ref")?,
                text: row.try_get("treatment_text")?,
            },
            dose: row.try_get("dose")?,
            frequency: row.try_get("frequency")?,
            started_on: day(row, "started_day")?.ok_or(StoreError::Corrupt {
                column: "started_day",
                detail: "missing".into(),
            })?,
            stopped_on: day(row, "stopped_day")?,
            stop_reason: optional_parsed(row, "stop_reason")?,
            effectiveness: parsed(row, "effectiveness")?,
            side_effects,
            adherence: row.try_get("adherence")?,
            burden: row.try_get("burden")?,
            monthly_cost: row.try_get("monthly_cost")?,
            currency: row.try_get("currency")?,
            tips: row.try_get("tips")?,
        },
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn snapshot_view(row: &AnyRow) -> Result<Option<CellView>, StoreError> {
    let raw: Option<String> = row.try_get("view")?;
    raw.map(|json| {
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
            column: "evaluation_snapshots.view",
            detail: e.to_string(),
        })
    })
    .transpose()
}

fn view_json(view: &CellView) -> Result<String, StoreError> {
    serde_json::to_string(view).map_err(|e| StoreError::Corrupt {
        column: "evaluation_snapshots.view",
        detail: e.to_string(),
    })
}

/// The two aggregated reads of [`Store::patient_reports`] for `engine`: one row per
/// treatment of `account:evaluation:start:stop:answer` items, and one row of
/// `evaluation:severity:hex(name)` items.
fn aggregation_sql(engine: crate::Engine) -> (String, &'static str) {
    const FROM: &str = "FROM evaluations e \
         JOIN community_members m ON m.community_id = e.community_id AND m.account_id = e.account_id \
         JOIN accounts a ON a.id = e.account_id \
         WHERE e.community_id = $1 AND m.state = 'member' AND a.suspended_at IS NULL \
         AND e.treatment_ref NOT LIKE 'text:%'";
    match engine {
        crate::Engine::Sqlite => (
            format!(
                "SELECT e.treatment_ref, group_concat(e.account_id || ':' || e.id || ':' || \
                 e.started_day || ':' || COALESCE(e.stopped_day, '') || ':' || e.effectiveness, ',') \
                 {FROM} GROUP BY e.treatment_ref"
            ),
            "SELECT group_concat(s.evaluation_id || ':' || s.severity || ':' || hex(s.name), ',') \
             FROM evaluation_side_effects s WHERE s.community_id = $1",
        ),
        crate::Engine::Postgres => (
            format!(
                "SELECT e.treatment_ref, string_agg(e.account_id::text || ':' || e.id::text || ':' || \
                 e.started_day::text || ':' || COALESCE(e.stopped_day::text, '') || ':' || e.effectiveness, ',') \
                 {FROM} GROUP BY e.treatment_ref"
            ),
            "SELECT string_agg(s.evaluation_id::text || ':' || s.severity || ':' || \
             encode(convert_to(s.name, 'UTF8'), 'hex'), ',') \
             FROM evaluation_side_effects s WHERE s.community_id = $1",
        ),
    }
}

/// Text from its UTF-8 bytes in hex (either case), as the aggregation query reads names.
fn hex_text(hex: &str) -> Option<String> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

impl Store {
    async fn side_effects_of(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, Vec<SideEffect>>, StoreError> {
        let mut found: HashMap<i64, Vec<SideEffect>> = HashMap::new();
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = format!(
                "SELECT evaluation_id, name, severity FROM evaluation_side_effects \
                 WHERE evaluation_id IN ({}) ORDER BY evaluation_id, name",
                placeholders(1, chunk.len())
            );
            // Built from numbers only (placeholders).
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(self.reader()).await? {
                found
                    .entry(row.try_get("evaluation_id")?)
                    .or_default()
                    .push(SideEffect {
                        name: row.try_get("name")?,
                        severity: parsed::<Severity>(&row, "severity")?,
                    });
            }
        }
        Ok(found)
    }

    async fn records_from_rows(
        &self,
        rows: Vec<AnyRow>,
    ) -> Result<Vec<EvaluationRecord>, StoreError> {
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get::<i64, _>("id"))
            .collect::<Result<_, _>>()?;
        let mut effects = self.side_effects_of(&ids).await?;
        rows.iter()
            .zip(ids)
            .map(|(row, id)| record_from_row(row, effects.remove(&id).unwrap_or_default()))
            .collect()
    }

    async fn write_side_effects(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        evaluation: Id,
        community: Option<Id>,
        side_effects: &[SideEffect],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM evaluation_side_effects WHERE evaluation_id = $1")
            .bind(evaluation.as_i64())
            .execute(&mut **tx)
            .await?;
        for effect in side_effects {
            sqlx::query(
                "INSERT INTO evaluation_side_effects (evaluation_id, name, severity, community_id) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(evaluation.as_i64())
            .bind(&effect.name)
            .bind(effect.severity.as_str())
            .bind(community.map(Id::as_i64))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Stores a new evaluation by `author`. The same course reported twice (same author,
    /// condition, treatment and start date) is `Conflict("evaluation")`, and nothing is
    /// written.
    pub async fn create_evaluation(
        &self,
        author: Id,
        placement: EvaluationPlacement,
        evaluation: &Evaluation,
    ) -> Result<EvaluationRecord, StoreError> {
        let id = self.next_id();
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO evaluations (id, account_id, community_id, visibility, condition_ref, \
             condition_text, treatment_kind, treatment_ref, treatment_text, dose, frequency, \
             started_day, stopped_day, stop_reason, effectiveness, adherence, burden, \
             monthly_cost, currency, tips, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, \
             $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)",
        )
        .bind(id.as_i64())
        .bind(author.as_i64())
        .bind(placement.community.map(Id::as_i64))
        .bind(placement.visibility.as_str())
        .bind(&evaluation.condition.reference)
        .bind(&evaluation.condition.text)
        .bind(evaluation.treatment_kind.as_str())
        .bind(&evaluation.treatment.reference)
        .bind(&evaluation.treatment.text)
        .bind(evaluation.dose.as_deref())
        .bind(evaluation.frequency.as_deref())
        .bind(day_number(evaluation.started_on))
        .bind(evaluation.stopped_on.map(day_number))
        .bind(evaluation.stop_reason.map(|r| r.as_str()))
        .bind(evaluation.effectiveness.as_str())
        .bind(evaluation.adherence)
        .bind(evaluation.burden)
        .bind(evaluation.monthly_cost)
        .bind(evaluation.currency.as_deref())
        .bind(evaluation.tips.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::Conflict("evaluation"));
            }
            other => {
                other?;
            }
        }
        Self::write_side_effects(&mut tx, id, placement.community, &evaluation.side_effects)
            .await?;
        tx.commit().await?;
        Ok(EvaluationRecord {
            id,
            author,
            community: placement.community,
            visibility: placement.visibility,
            evaluation: evaluation.clone(),
            created_at: now,
            updated_at: now,
        })
    }

    /// The author's evaluation of the same course (the one a duplicate collides with).
    pub async fn duplicate_of(
        &self,
        author: Id,
        evaluation: &Evaluation,
    ) -> Result<Option<Id>, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM evaluations WHERE account_id = $1 AND condition_ref = $2 \
             AND treatment_ref = $3 AND started_day = $4",
        )
        .bind(author.as_i64())
        .bind(&evaluation.condition.reference)
        .bind(&evaluation.treatment.reference)
        .bind(day_number(evaluation.started_on))
        .fetch_optional(self.reader())
        .await?;
        found.map(|f| crate::row::id_from(f, "id")).transpose()
    }

    /// An evaluation for `viewer` (`None`: anonymous): `NotFound` when it does not exist
    /// and when the viewer may not read it, alike.
    pub async fn evaluation_for(
        &self,
        viewer: Option<Id>,
        evaluation: Id,
    ) -> Result<EvaluationRecord, StoreError> {
        let sql = format!(
            "SELECT {EVALUATION_COLUMNS} FROM evaluations e JOIN accounts a ON a.id = e.account_id \
             WHERE e.id = $2 AND a.suspended_at IS NULL AND {VISIBLE_TO}"
        );
        // Built from constants only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(viewer.map_or(-1, Id::as_i64))
            .bind(evaluation.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("evaluation"))?;
        self.records_from_rows(vec![row])
            .await?
            .pop()
            .ok_or(StoreError::NotFound("evaluation"))
    }

    /// Evaluations `viewer` may read, newest first, paged by id.
    pub async fn evaluations_for(
        &self,
        viewer: Option<Id>,
        filter: EvaluationFilter,
        page: Page,
    ) -> Result<Vec<EvaluationRecord>, StoreError> {
        let sql = format!(
            "SELECT {EVALUATION_COLUMNS} FROM evaluations e JOIN accounts a ON a.id = e.account_id \
             WHERE a.suspended_at IS NULL AND {VISIBLE_TO} \
             AND ($2 < 0 OR e.account_id = $2) AND ($3 < 0 OR e.community_id = $3) \
             AND ($4 < 0 OR e.id < $4) AND ($5 < 0 OR e.id > $5) \
             ORDER BY e.id DESC LIMIT $6"
        );
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(viewer.map_or(-1, Id::as_i64))
            .bind(filter.author.map_or(-1, Id::as_i64))
            .bind(filter.community.map_or(-1, Id::as_i64))
            .bind(page.max_id.unwrap_or(-1))
            .bind(page.min_id.or(page.since_id).unwrap_or(-1))
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        self.records_from_rows(rows).await
    }

    /// The author's own evaluation (for changes): `NotFound` for anyone else's.
    pub async fn own_evaluation(
        &self,
        author: Id,
        evaluation: Id,
    ) -> Result<EvaluationRecord, StoreError> {
        let sql = format!(
            "SELECT {EVALUATION_COLUMNS} FROM evaluations e WHERE e.id = $1 AND e.account_id = $2"
        );
        // Built from constants only.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(evaluation.as_i64())
            .bind(author.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("evaluation"))?;
        self.records_from_rows(vec![row])
            .await?
            .pop()
            .ok_or(StoreError::NotFound("evaluation"))
    }

    /// Replaces the author's evaluation with `evaluation` (validated by the caller) and
    /// `placement`. A change that makes it collide with another of the author's courses is
    /// `Conflict("evaluation")`, and nothing changes.
    pub async fn update_evaluation(
        &self,
        author: Id,
        evaluation_id: Id,
        placement: EvaluationPlacement,
        evaluation: &Evaluation,
    ) -> Result<EvaluationRecord, StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let updated = sqlx::query(
            "UPDATE evaluations SET community_id = $3, visibility = $4, condition_ref = $5, \
             condition_text = $6, treatment_kind = $7, treatment_ref = $8, treatment_text = $9, \
             dose = $10, frequency = $11, started_day = $12, stopped_day = $13, \
             stop_reason = $14, effectiveness = $15, adherence = $16, burden = $17, \
             monthly_cost = $18, currency = $19, tips = $20, updated_at = $21 \
             WHERE id = $1 AND account_id = $2",
        )
        .bind(evaluation_id.as_i64())
        .bind(author.as_i64())
        .bind(placement.community.map(Id::as_i64))
        .bind(placement.visibility.as_str())
        .bind(&evaluation.condition.reference)
        .bind(&evaluation.condition.text)
        .bind(evaluation.treatment_kind.as_str())
        .bind(&evaluation.treatment.reference)
        .bind(&evaluation.treatment.text)
        .bind(evaluation.dose.as_deref())
        .bind(evaluation.frequency.as_deref())
        .bind(day_number(evaluation.started_on))
        .bind(evaluation.stopped_on.map(day_number))
        .bind(evaluation.stop_reason.map(|r| r.as_str()))
        .bind(evaluation.effectiveness.as_str())
        .bind(evaluation.adherence)
        .bind(evaluation.burden)
        .bind(evaluation.monthly_cost)
        .bind(evaluation.currency.as_deref())
        .bind(evaluation.tips.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await;
        let rows = match updated {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::Conflict("evaluation"));
            }
            other => other?.rows_affected(),
        };
        if rows == 0 {
            return Err(StoreError::NotFound("evaluation"));
        }
        Self::write_side_effects(
            &mut tx,
            evaluation_id,
            placement.community,
            &evaluation.side_effects,
        )
        .await?;
        tx.commit().await?;
        self.own_evaluation(author, evaluation_id).await
    }

    /// Deletes the author's evaluation (`NotFound` for anyone else's). Published snapshots
    /// keep counting it until the next snapshot of its cell (they are aggregates of at least
    /// k patients; see docs/EVALUATIONS.md).
    pub async fn delete_evaluation(&self, author: Id, evaluation: Id) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM evaluations WHERE id = $1 AND account_id = $2")
            .bind(evaluation.as_i64())
            .bind(author.as_i64())
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("evaluation"));
        }
        Ok(())
    }

    /// What aggregation reads: the coded evaluations filed in `community` by its current,
    /// unsuspended members, with their side effects.
    ///
    /// Fetched as two scans aggregated in the database into one text column per treatment
    /// (`group_concat` / `string_agg` of `account:evaluation:start:stop:answer`, and of
    /// `evaluation:severity:hex(name)`): about 40 rows cross the driver instead of 250,000,
    /// whose per-row cost through sqlx's `Any` driver was most of a refresh. The numbers are
    /// digits and the side effect names hex, so the separators cannot occur inside a field.
    async fn patient_reports(&self, community: Id) -> Result<Vec<PatientReport>, StoreError> {
        let (reports_sql, effects_sql) = aggregation_sql(self.engine());
        let corrupt = |column: &'static str, detail: &str| StoreError::Corrupt {
            column,
            detail: detail.to_owned(),
        };
        let number = |raw: &str, column: &'static str| -> Result<i64, StoreError> {
            raw.parse().map_err(|_| corrupt(column, raw))
        };
        let effects_text: Option<String> = sqlx::query_scalar(effects_sql)
            .bind(community.as_i64())
            .fetch_one(self.reader())
            .await?;
        let mut effects: HashMap<i64, Vec<SideEffect>> = HashMap::new();
        for item in effects_text
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|i| !i.is_empty())
        {
            let mut parts = item.splitn(3, ':');
            let (Some(evaluation), Some(severity), Some(name)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(corrupt("evaluation_side_effects", item));
            };
            let name =
                hex_text(name).ok_or_else(|| corrupt("evaluation_side_effects.name", name))?;
            effects
                .entry(number(evaluation, "evaluation_side_effects.evaluation_id")?)
                .or_default()
                .push(SideEffect {
                    name,
                    severity: severity
                        .parse::<Severity>()
                        .map_err(|_| corrupt("evaluation_side_effects.severity", severity))?,
                });
        }
        // Built from constants only.
        let rows = sqlx::query(sqlx::AssertSqlSafe(reports_sql))
            .bind(community.as_i64())
            .fetch_all(self.reader())
            .await?;
        let mut reports = Vec::new();
        for row in rows {
            let treatment: String = row.try_get(0)?;
            let list: Option<String> = row.try_get(1)?;
            for item in list
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|i| !i.is_empty())
            {
                let fields: Vec<&str> = item.split(':').collect();
                let [patient, evaluation, started, stopped, effectiveness] = fields[..] else {
                    return Err(corrupt("evaluations", item));
                };
                let evaluation = number(evaluation, "evaluations.id")?;
                let started_day = number(started, "evaluations.started_day")?;
                let stopped_day = if stopped.is_empty() {
                    None
                } else {
                    Some(number(stopped, "evaluations.stopped_day")?)
                };
                reports.push(PatientReport {
                    patient: number(patient, "evaluations.account_id")?,
                    evaluation,
                    treatment: treatment.clone(),
                    effectiveness: effectiveness
                        .parse::<Effectiveness>()
                        .map_err(|_| corrupt("evaluations.effectiveness", effectiveness))?,
                    started_day,
                    duration_days: stopped_day.map(|s| s - started_day),
                    side_effects: effects.remove(&evaluation).unwrap_or_default(),
                });
            }
        }
        Ok(reports)
    }

    /// The version of what [`Store::patient_reports`] reads for `community`: a counter the
    /// database's triggers bump whenever an evaluation, a side effect, a membership or an
    /// account's suspension changes (migration 0022). Read before the evaluations, so a
    /// change made during a refresh is seen by the next one.
    async fn aggregate_input_version(&self, community: Id) -> Result<i64, StoreError> {
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM evaluation_aggregate_inputs WHERE community_id = $1",
        )
        .bind(community.as_i64())
        .fetch_optional(self.reader())
        .await?;
        Ok(version.unwrap_or(0))
    }

    /// [`Store::refresh_aggregates`], skipped when nothing aggregation reads has changed
    /// since the last refresh with the same k (one indexed row read). Returns how many
    /// snapshots it wrote.
    pub async fn refresh_aggregates_if_changed(
        &self,
        community: Id,
        min_patients: u64,
    ) -> Result<usize, StoreError> {
        let version = self.aggregate_input_version(community).await?;
        let signature = format!("k{min_patients}:v{version}");
        let last: Option<String> = sqlx::query_scalar(
            "SELECT signature FROM evaluation_aggregate_state WHERE community_id = $1",
        )
        .bind(community.as_i64())
        .fetch_optional(self.reader())
        .await?;
        if last.as_deref() == Some(signature.as_str()) {
            return Ok(0);
        }
        let written = self.refresh_aggregates(community, min_patients).await?;
        sqlx::query(
            "INSERT INTO evaluation_aggregate_state (community_id, signature, refreshed_at) \
             VALUES ($1, $2, $3) ON CONFLICT (community_id) DO UPDATE \
             SET signature = excluded.signature, refreshed_at = excluded.refreshed_at",
        )
        .bind(community.as_i64())
        .bind(&signature)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(written)
    }

    /// Refreshes every community whose evaluations, members or suspensions changed since its
    /// last refresh with k = `min_patients` (what the server runs in the background after
    /// writes, so that requests only read published cells). Returns the communities that got
    /// new snapshots.
    pub async fn refresh_changed_aggregates(
        &self,
        min_patients: u64,
    ) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query(
            "SELECT i.community_id, i.version, s.signature FROM evaluation_aggregate_inputs i \
             JOIN communities c ON c.id = i.community_id \
             LEFT JOIN evaluation_aggregate_state s ON s.community_id = i.community_id",
        )
        .fetch_all(self.reader())
        .await?;
        let mut refreshed = Vec::new();
        for row in rows {
            let community: i64 = row.try_get(0)?;
            let version: i64 = row.try_get(1)?;
            let signature: Option<String> = row.try_get(2)?;
            if signature.as_deref() == Some(format!("k{min_patients}:v{version}").as_str()) {
                continue;
            }
            let community = crate::row::id_from(community, "community_id")?;
            if self
                .refresh_aggregates_if_changed(community, min_patients)
                .await?
                > 0
            {
                refreshed.push(community);
            }
        }
        Ok(refreshed)
    }

    /// Recomputes `community`'s cells and publishes or withdraws snapshots where the rules
    /// allow (`cohort_health::aggregate::decide`, with `min_patients` as k). Returns how many
    /// snapshots it wrote. Safe to run at any time and from several processes: a decision
    /// only ever compares with snapshots already written.
    pub async fn refresh_aggregates(
        &self,
        community: Id,
        min_patients: u64,
    ) -> Result<usize, StoreError> {
        let reports = self.patient_reports(community).await?;
        let mut cells = summarize(&reports, min_patients);
        let history = self.snapshot_history(community).await?;
        // A cell with a past but no evaluations left is a cell of nobody now.
        for treatment in history.keys() {
            if !cells.iter().any(|c| &c.treatment == treatment) {
                cells.push(cohort_health::CurrentCell {
                    treatment: treatment.clone(),
                    members: Default::default(),
                    view: None,
                });
            }
        }
        self.write_snapshots(community, &cells, &history, min_patients)
            .await
    }

    /// Every snapshot of `community` published so far, per treatment, oldest first.
    async fn snapshot_history(
        &self,
        community: Id,
    ) -> Result<HashMap<String, Vec<PastSnapshot>>, StoreError> {
        let mut history: HashMap<String, Vec<PastSnapshot>> = HashMap::new();
        let rows = sqlx::query(
            "SELECT treatment_ref, shown, members FROM evaluation_snapshots \
             WHERE community_id = $1 ORDER BY id",
        )
        .bind(community.as_i64())
        .fetch_all(self.reader())
        .await?;
        for row in rows {
            let bytes: Vec<u8> = row.try_get("members")?;
            let members = decode_members(&bytes).ok_or(StoreError::Corrupt {
                column: "evaluation_snapshots.members",
                detail: format!("{} bytes", bytes.len()),
            })?;
            history
                .entry(row.try_get("treatment_ref")?)
                .or_default()
                .push(PastSnapshot {
                    members,
                    shown: flag(&row, "shown")?,
                });
        }
        Ok(history)
    }

    /// Writes the snapshots [`decide`] asks for, in one transaction with the contribution
    /// event of a community hosted elsewhere. Returns how many.
    async fn write_snapshots(
        &self,
        community: Id,
        cells: &[cohort_health::CurrentCell],
        history: &HashMap<String, Vec<PastSnapshot>>,
        min_patients: u64,
    ) -> Result<usize, StoreError> {
        let now = now_ms();
        let mut written = 0;
        let mut tx = self.writer().begin().await?;
        for cell in cells {
            let past = history.get(&cell.treatment).map_or(&[][..], Vec::as_slice);
            let (shown, view) = match decide(cell, past, min_patients) {
                Decision::Keep => continue,
                Decision::Publish => (true, cell.view.as_ref().map(view_json).transpose()?),
                Decision::Withdraw => (false, None),
            };
            sqlx::query(
                "INSERT INTO evaluation_snapshots (id, community_id, treatment_ref, shown, \
                 patients, view, members, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(self.next_id().as_i64())
            .bind(community.as_i64())
            .bind(&cell.treatment)
            .bind(shown)
            .bind(i64::try_from(cell.members.len()).unwrap_or(i64::MAX))
            .bind(view)
            .bind(encode_members(&cell.members))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            written += 1;
        }
        if written > 0 {
            // A community hosted elsewhere: its instance hears of the new snapshots (the
            // cells are rendered when the activity is sent, from the snapshots then current).
            let group: Option<(i64, Option<String>)> = sqlx::query_as(
                "SELECT c.account_id, a.domain FROM communities c \
                 JOIN accounts a ON a.id = c.account_id WHERE c.id = $1",
            )
            .bind(community.as_i64())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((group, Some(_))) = group {
                let group = crate::row::id_from(group, "communities.account_id")?;
                crate::outbox::enqueue_in(
                    &mut tx,
                    self.next_id(),
                    &crate::NewOutboxEvent {
                        kind: crate::OutboxKind::EvaluationContribution,
                        actor: group,
                        status: None,
                        target_account: Some(group),
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(written)
    }

    /// This instance's shown cells of `community` (each treatment's newest snapshot, if it
    /// shows numbers and still meets `min_patients`), with the newest publication time.
    pub async fn local_aggregates(
        &self,
        community: Id,
        min_patients: u64,
    ) -> Result<(Vec<CellView>, Option<i64>), StoreError> {
        let rows = sqlx::query(
            "SELECT s.view, s.published_at FROM evaluation_snapshots s \
             WHERE s.community_id = $1 AND s.id = (SELECT MAX(l.id) FROM evaluation_snapshots l \
                 WHERE l.community_id = s.community_id AND l.treatment_ref = s.treatment_ref)",
        )
        .bind(community.as_i64())
        .fetch_all(self.reader())
        .await?;
        let mut cells = Vec::new();
        let mut published_at = None;
        for row in rows {
            if let Some(view) = snapshot_view(&row)?
                && view.patients >= min_patients
            {
                let at: i64 = row.try_get("published_at")?;
                published_at = published_at.max(Some(at));
                cells.push(view);
            }
        }
        Ok((cells, published_at))
    }

    /// Replaces what `origin` contributed to `community` with `cells` (already checked to
    /// be k-anonymous by the caller).
    pub async fn record_contribution(
        &self,
        community: Id,
        origin: &str,
        cells: &[CellView],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "DELETE FROM evaluation_contributions WHERE community_id = $1 AND origin_domain = $2",
        )
        .bind(community.as_i64())
        .bind(origin)
        .execute(&mut *tx)
        .await?;
        for cell in cells {
            sqlx::query(
                "INSERT INTO evaluation_contributions (community_id, origin_domain, treatment_ref, view, received_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(community.as_i64())
            .bind(origin)
            .bind(&cell.treatment)
            .bind(view_json(cell)?)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `community`'s aggregates as published: refreshed, this instance's shown cells plus
    /// every contribution received, added per treatment; cells under `min_patients` never
    /// appear.
    pub async fn community_aggregates(
        &self,
        community: Id,
        local_domain: &str,
        min_patients: u64,
    ) -> Result<CommunityAggregates, StoreError> {
        self.refresh_aggregates_if_changed(community, min_patients)
            .await?;
        let (local, published_at) = self.local_aggregates(community, min_patients).await?;
        let rows = sqlx::query(
            "SELECT origin_domain, view FROM evaluation_contributions WHERE community_id = $1 \
             ORDER BY origin_domain, treatment_ref",
        )
        .bind(community.as_i64())
        .fetch_all(self.reader())
        .await?;
        let mut instances: Vec<String> = Vec::new();
        if !local.is_empty() {
            instances.push(local_domain.to_owned());
        }
        let mut by_treatment: HashMap<String, Vec<CellView>> = HashMap::new();
        for cell in local {
            by_treatment
                .entry(cell.treatment.clone())
                .or_default()
                .push(cell);
        }
        for row in rows {
            let origin: String = row.try_get("origin_domain")?;
            if let Some(view) = snapshot_view(&row)? {
                if !instances.contains(&origin) {
                    instances.push(origin);
                }
                by_treatment
                    .entry(view.treatment.clone())
                    .or_default()
                    .push(view);
            }
        }
        let mut cells: Vec<CellView> = by_treatment
            .into_iter()
            .filter_map(|(treatment, parts)| {
                let refs: Vec<&CellView> = parts.iter().collect();
                combine(&treatment, &refs)
            })
            .filter(|c| c.patients >= min_patients)
            .collect();
        cells.sort_by(|a, b| {
            b.patients
                .cmp(&a.patients)
                .then(a.treatment.cmp(&b.treatment))
        });
        Ok(CommunityAggregates {
            cells,
            published_at,
            instances,
        })
    }

    /// How many current members `community` has whose accounts are on `domain` (a
    /// contribution is accepted only from an instance with at least one).
    pub async fn community_members_on_domain(
        &self,
        community: Id,
        domain: &str,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM community_members m JOIN accounts a ON a.id = m.account_id \
             WHERE m.community_id = $1 AND m.state = 'member' AND a.domain = $2 \
             AND a.suspended_at IS NULL",
        )
        .bind(community.as_i64())
        .bind(domain)
        .fetch_one(self.reader())
        .await?)
    }

    /// The combined view of a community hosted elsewhere, as last fetched from its
    /// instance, with when it was fetched (Unix ms).
    pub async fn remote_aggregates(
        &self,
        community: Id,
    ) -> Result<Option<(CommunityAggregates, i64)>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT cells, instances, published_at, fetched_at FROM remote_evaluation_aggregates \
             WHERE community_id = $1",
        )
        .bind(community.as_i64())
        .fetch_optional(self.reader())
        .await?
        else {
            return Ok(None);
        };
        let corrupt = |e: serde_json::Error| StoreError::Corrupt {
            column: "remote_evaluation_aggregates",
            detail: e.to_string(),
        };
        let cells: String = row.try_get("cells")?;
        let instances: String = row.try_get("instances")?;
        Ok(Some((
            CommunityAggregates {
                cells: serde_json::from_str(&cells).map_err(corrupt)?,
                instances: serde_json::from_str(&instances).map_err(corrupt)?,
                published_at: row.try_get("published_at")?,
            },
            row.try_get("fetched_at")?,
        )))
    }

    /// Caches the combined view of a remote community (cells already checked to be
    /// k-anonymous by the caller).
    pub async fn save_remote_aggregates(
        &self,
        community: Id,
        aggregates: &CommunityAggregates,
    ) -> Result<(), StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt {
            column: "remote_evaluation_aggregates",
            detail: e.to_string(),
        };
        sqlx::query(
            "INSERT INTO remote_evaluation_aggregates (community_id, cells, instances, published_at, fetched_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (community_id) DO UPDATE SET \
             cells = excluded.cells, instances = excluded.instances, \
             published_at = excluded.published_at, fetched_at = excluded.fetched_at",
        )
        .bind(community.as_i64())
        .bind(serde_json::to_string(&aggregates.cells).map_err(corrupt)?)
        .bind(serde_json::to_string(&aggregates.instances).map_err(corrupt)?)
        .bind(aggregates.published_at)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Local communities that published a snapshot showing numbers since their last
    /// aggregates summary, and posted none in the last `interval_ms` (whoever refreshed them:
    /// a request or the background work).
    pub async fn communities_due_for_summary(
        &self,
        now: i64,
        interval_ms: i64,
    ) -> Result<Vec<Id>, StoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT s.community_id FROM evaluation_aggregate_state s \
             JOIN communities c ON c.id = s.community_id \
             JOIN accounts a ON a.id = c.account_id \
             WHERE a.domain IS NULL AND a.suspended_at IS NULL \
             AND c.visibility IN ('public', 'unlisted') \
             AND (s.summary_posted_at IS NULL OR s.summary_posted_at <= $1) \
             AND EXISTS (SELECT 1 FROM evaluation_snapshots n WHERE n.community_id = s.community_id \
                 AND n.view IS NOT NULL AND n.published_at > COALESCE(s.summary_posted_at, 0))",
        )
        .bind(now - interval_ms)
        .fetch_all(self.reader())
        .await?;
        ids.into_iter()
            .map(|i| crate::row::id_from(i, "community_id"))
            .collect()
    }

    /// Claims the right to post `community`'s aggregates summary now: true (and recorded)
    /// when none was posted in the last `interval_ms`, false otherwise. Atomic, so two
    /// processes never both post.
    pub async fn claim_aggregate_summary(
        &self,
        community: Id,
        now: i64,
        interval_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE evaluation_aggregate_state SET summary_posted_at = $2 \
             WHERE community_id = $1 AND (summary_posted_at IS NULL OR summary_posted_at <= $3)",
        )
        .bind(community.as_i64())
        .bind(now)
        .bind(now - interval_ms)
        .execute(self.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Times each phase of a full refresh of `community` without writing anything, beside
    /// two bounds measured on the same data: a bare `COUNT(*)` and a scan fetching two
    /// columns of every evaluation. For the benchmark.
    #[cfg(feature = "testing")]
    pub async fn aggregation_phases(
        &self,
        community: Id,
        min_patients: u64,
    ) -> Result<Vec<(&'static str, std::time::Duration)>, StoreError> {
        use std::time::Instant;
        let mut phases = Vec::new();
        let started = Instant::now();
        let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM evaluations WHERE community_id = $1")
            .bind(community.as_i64())
            .fetch_one(self.reader())
            .await?;
        phases.push(("bound: SELECT COUNT(*)", started.elapsed()));
        let started = Instant::now();
        let rows = sqlx::query("SELECT id, account_id FROM evaluations WHERE community_id = $1")
            .bind(community.as_i64())
            .fetch_all(self.reader())
            .await?;
        let mut sum = 0i64;
        for row in &rows {
            sum = sum.wrapping_add(row.try_get::<i64, _>(0)? ^ row.try_get::<i64, _>(1)?);
        }
        std::hint::black_box(sum);
        phases.push((
            "bound: fetch (id, account_id) of every row",
            started.elapsed(),
        ));
        let (reports_sql, effects_sql) = aggregation_sql(self.engine());
        let started = Instant::now();
        let rows = sqlx::query(sqlx::AssertSqlSafe(reports_sql))
            .bind(community.as_i64())
            .fetch_all(self.reader())
            .await?;
        std::hint::black_box(rows);
        phases.push(("of which: the evaluations query", started.elapsed()));
        let started = Instant::now();
        let rows = sqlx::query(effects_sql)
            .bind(community.as_i64())
            .fetch_all(self.reader())
            .await?;
        std::hint::black_box(rows);
        phases.push(("of which: the side effects query", started.elapsed()));
        let started = Instant::now();
        let rows = sqlx::query(
            "SELECT e.treatment_ref, COUNT(*) FROM evaluations e WHERE e.community_id = $1 \
             GROUP BY e.treatment_ref",
        )
        .bind(community.as_i64())
        .fetch_all(self.reader())
        .await?;
        std::hint::black_box(rows);
        phases.push((
            "bound: COUNT(*) GROUP BY treatment, no joins",
            started.elapsed(),
        ));
        let started = Instant::now();
        let reports = self.patient_reports(community).await?;
        phases.push(("read evaluations and side effects", started.elapsed()));
        let started = Instant::now();
        let cells = summarize(&reports, min_patients);
        phases.push((
            "summarize (latest per patient, views, fingerprints)",
            started.elapsed(),
        ));
        let started = Instant::now();
        let history = self.snapshot_history(community).await?;
        phases.push(("read snapshot history", started.elapsed()));
        let started = Instant::now();
        for cell in &cells {
            let past = history.get(&cell.treatment).map_or(&[][..], Vec::as_slice);
            std::hint::black_box(decide(cell, past, min_patients));
        }
        phases.push(("decide against every past snapshot", started.elapsed()));
        Ok(phases)
    }
}
