//! Seeding a database for the home-timeline benchmark (`cohort bench seed-timeline`):
//! many local accounts, many statuses spread over the past weeks, and one viewer who follows
//! some of them. Not used by the server itself.
//!
//! It writes straight to the tables with multi-row `INSERT`s in large transactions (a
//! million statuses in well under a minute on SQLite), so the rows are the bare minimum a
//! status needs to be rendered: no mentions, tags, media or outbox events.

use cohort_model::{Id, SnowflakeClock};

use crate::{Store, StoreError, now_ms};

/// What to seed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimelineSeed {
    /// Local accounts, the viewer included.
    pub accounts: usize,
    /// Statuses, spread evenly over the accounts in a shuffled order.
    pub statuses: usize,
    /// How many accounts the viewer follows (spread over all accounts).
    pub follows: usize,
    /// Over how many days before now the statuses are spread.
    pub days: i64,
    /// Run `ANALYZE` at the end (planner statistics, as a database that has lived a while
    /// and been optimised would have).
    pub analyze: bool,
}

/// What was seeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeededTimeline {
    /// The viewer's account id.
    pub viewer: Id,
    /// The viewer's username.
    pub viewer_username: String,
}

/// Rows per `INSERT` statement; 9 columns x 500 stays far below both engines' parameter
/// limits (32,766 on SQLite, 65,535 on PostgreSQL).
const ROWS_PER_INSERT: usize = 500;
/// Statements per transaction.
const INSERTS_PER_TRANSACTION: usize = 40;

/// `($1, $2, $3), ($4, $5, $6)` for `rows` rows of `columns` values.
pub(crate) fn value_rows(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let first = r * columns + 1;
            format!("({})", crate::sql::placeholders(first, columns))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A small deterministic generator (64-bit LCG): the same seed gives the same database.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

impl Store {
    /// Seeds accounts `bench_0` (the viewer) to `bench_{n-1}` under `base_url`, their
    /// statuses, and the viewer's follows. Meant for an empty, migrated database.
    pub async fn seed_timeline_benchmark(
        &self,
        base_url: &str,
        seed: TimelineSeed,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<SeededTimeline, StoreError> {
        let now = now_ms();
        let start = now - seed.days.max(1) * 86_400_000;
        let mut clock = SnowflakeClock::new();
        let accounts: Vec<Id> = (0..seed.accounts.max(1))
            .map(|i| clock.next(start - 86_400_000 + i64::try_from(i).unwrap_or(0)))
            .collect();

        for (chunk_no, chunk) in accounts.chunks(ROWS_PER_INSERT).enumerate() {
            let sql = format!(
                "INSERT INTO accounts (id, username, username_lower, actor_uri, inbox_uri, url, created_at, updated_at) VALUES {}",
                value_rows(chunk.len(), 8)
            );
            // Built from numbers only (placeholders).
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, account) in chunk.iter().enumerate() {
                let name = format!("bench_{}", chunk_no * ROWS_PER_INSERT + i);
                query = query
                    .bind(account.as_i64())
                    .bind(name.clone())
                    .bind(name.clone())
                    .bind(format!("{base_url}/users/{name}"))
                    .bind(format!("{base_url}/users/{name}/inbox"))
                    .bind(format!("{base_url}/@{name}"))
                    .bind(start)
                    .bind(start);
            }
            query.execute(self.writer()).await?;
        }
        progress(&format!("{} accounts", accounts.len()));

        let viewer = accounts[0];
        let others = &accounts[1..];
        let follows = seed.follows.min(others.len());
        if let Some(step) = others.len().checked_div(follows) {
            let followed: Vec<Id> = (0..follows).map(|i| others[i * step]).collect();
            for chunk in followed.chunks(ROWS_PER_INSERT) {
                let sql = format!(
                    "INSERT INTO follows (id, account_id, target_account_id, state, created_at) VALUES {}",
                    value_rows(chunk.len(), 5)
                );
                // Built from numbers only (placeholders).
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for target in chunk {
                    query = query
                        .bind(clock.next(start - 1000).as_i64())
                        .bind(viewer.as_i64())
                        .bind(target.as_i64())
                        .bind("accepted")
                        .bind(start);
                }
                query.execute(self.writer()).await?;
            }
        }
        progress(&format!("{follows} follows"));

        let mut rng = Lcg(0x5eed);
        let span = now - start;
        let total = i64::try_from(seed.statuses.max(1)).unwrap_or(i64::MAX);
        let mut written = 0usize;
        while written < seed.statuses {
            let mut tx = self.writer().begin().await?;
            for _ in 0..INSERTS_PER_TRANSACTION {
                let rows = ROWS_PER_INSERT.min(seed.statuses - written);
                if rows == 0 {
                    break;
                }
                let sql = format!(
                    "INSERT INTO statuses (id, account_id, uri, url, local, visibility, text_source, content_html, created_at) VALUES {}",
                    value_rows(rows, 9)
                );
                // Built from numbers only (placeholders).
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for n in written..written + rows {
                    let at = start + span * i64::try_from(n).unwrap_or(0) / total;
                    let id = clock.next(at);
                    let roll = rng.next();
                    let author_index = usize::try_from(roll % accounts.len() as u64).unwrap_or(0);
                    let author = accounts[author_index];
                    let visibility = match roll % 10 {
                        0 => "private",
                        1 => "unlisted",
                        _ => "public",
                    };
                    let text = format!("Benchmark post {n} by bench_{author_index}");
                    query = query
                        .bind(id.as_i64())
                        .bind(author.as_i64())
                        .bind(format!(
                            "{base_url}/users/bench_{author_index}/statuses/{id}"
                        ))
                        .bind(format!("{base_url}/@bench_{author_index}/{id}"))
                        .bind(true)
                        .bind(visibility)
                        .bind(text.clone())
                        .bind(format!("<p>{text}</p>"))
                        .bind(at);
                }
                query.execute(&mut *tx).await?;
                written += rows;
            }
            tx.commit().await?;
            if written % 100_000 < ROWS_PER_INSERT * INSERTS_PER_TRANSACTION {
                progress(&format!("{written} statuses"));
            }
        }
        if seed.analyze {
            sqlx::query("ANALYZE").execute(self.writer()).await?;
        }
        Ok(SeededTimeline {
            viewer,
            viewer_username: "bench_0".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn value_rows_number_every_placeholder() {
        assert_eq!(super::value_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
