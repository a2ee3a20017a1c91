//! Hashtags as accounts use them: followed tags (their posts join the home timeline),
//! featured tags (shown on a profile), tag search and a tag's recent use.
//!
//! Tag names are stored lower-case (as `status_tags` stores them). Counts of use only ever
//! count public and unlisted posts, so a tag's history tells nothing about restricted posts.

use std::collections::HashSet;

use cohort_model::Id;
use sqlx::Row;

use crate::row::id;
use crate::sql::placeholders;
use crate::timelines::Page;
use crate::{Store, StoreError, now_ms};

const DAY_MS: i64 = 86_400_000;

/// A followed tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowedTag {
    /// The follow's id (for pagination).
    pub id: Id,
    /// The tag, lower-case.
    pub tag: String,
}

/// A tag an account features on its profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeaturedTagRecord {
    /// Its id.
    pub id: Id,
    /// The tag, lower-case.
    pub tag: String,
    /// The account's public and unlisted posts with the tag.
    pub statuses_count: i64,
    /// The newest of them, Unix ms.
    pub last_status_at: Option<i64>,
}

/// One day of a tag's use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagDay {
    /// Start of the day (UTC), Unix ms.
    pub day: i64,
    /// Public and unlisted posts with the tag that day.
    pub uses: i64,
    /// Distinct authors of those posts.
    pub accounts: i64,
}

impl Store {
    /// Follows a tag; following it again changes nothing.
    pub async fn follow_tag(&self, account: Id, tag: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO followed_tags (account_id, tag, id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, tag) DO NOTHING",
        )
        .bind(account.as_i64())
        .bind(tag.to_lowercase())
        .bind(self.next_id().as_i64())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Stops following a tag.
    pub async fn unfollow_tag(&self, account: Id, tag: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM followed_tags WHERE account_id = $1 AND tag = $2")
            .bind(account.as_i64())
            .bind(tag.to_lowercase())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The tags an account follows, newest follow first.
    pub async fn followed_tags(
        &self,
        account: Id,
        page: Page,
    ) -> Result<Vec<FollowedTag>, StoreError> {
        let (upper, lower, ascending) = page.bounds();
        let sql = if ascending {
            "SELECT id, tag FROM followed_tags WHERE account_id = $1 AND id < $2 AND id > $3 ORDER BY id ASC LIMIT $4"
        } else {
            "SELECT id, tag FROM followed_tags WHERE account_id = $1 AND id < $2 AND id > $3 ORDER BY id DESC LIMIT $4"
        };
        let rows = sqlx::query(sql)
            .bind(account.as_i64())
            .bind(upper)
            .bind(lower)
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(FollowedTag {
                    id: id(r, "id")?,
                    tag: r.try_get("tag")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if ascending {
            out.reverse();
        }
        Ok(out)
    }

    /// Which of `tags` the account follows.
    pub async fn following_tags(
        &self,
        account: Id,
        tags: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        if tags.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "SELECT tag FROM followed_tags WHERE account_id = $1 AND tag IN ({})",
            placeholders(2, tags.len())
        );
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(account.as_i64());
        for tag in tags {
            query = query.bind(tag.to_lowercase());
        }
        Ok(query.fetch_all(self.reader()).await?.into_iter().collect())
    }

    /// Features a tag on the account's profile (featuring it again returns the same one).
    pub async fn feature_tag(
        &self,
        account: Id,
        tag: &str,
    ) -> Result<FeaturedTagRecord, StoreError> {
        sqlx::query(
            "INSERT INTO featured_tags (id, account_id, tag, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, tag) DO NOTHING",
        )
        .bind(self.next_id().as_i64())
        .bind(account.as_i64())
        .bind(tag.to_lowercase())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        self.featured_tags(account)
            .await?
            .into_iter()
            .find(|t| t.tag == tag.to_lowercase())
            .ok_or(StoreError::NotFound("featured tag"))
    }

    /// How many tags the account features.
    pub async fn featured_tag_count(&self, account: Id) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM featured_tags WHERE account_id = $1")
                .bind(account.as_i64())
                .fetch_one(self.reader())
                .await?,
        )
    }

    /// Removes a featured tag by its id.
    pub async fn unfeature_tag(&self, account: Id, featured: Id) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM featured_tags WHERE id = $1 AND account_id = $2")
            .bind(featured.as_i64())
            .bind(account.as_i64())
            .execute(self.writer())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("featured tag"));
        }
        Ok(())
    }

    /// The tags an account features, by name, with its use of each.
    pub async fn featured_tags(&self, account: Id) -> Result<Vec<FeaturedTagRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, f.tag, \
               (SELECT COUNT(*) FROM status_tags t JOIN statuses s ON s.id = t.status_id \
                 WHERE t.tag = f.tag AND s.account_id = f.account_id AND s.deleted_at IS NULL \
                 AND s.held_at IS NULL AND s.visibility IN ('public', 'unlisted')) AS statuses_count, \
               (SELECT MAX(s.created_at) FROM status_tags t JOIN statuses s ON s.id = t.status_id \
                 WHERE t.tag = f.tag AND s.account_id = f.account_id AND s.deleted_at IS NULL \
                 AND s.held_at IS NULL AND s.visibility IN ('public', 'unlisted')) AS last_status_at \
             FROM featured_tags f WHERE f.account_id = $1 ORDER BY f.tag",
        )
        .bind(account.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeaturedTagRecord {
                    id: id(r, "id")?,
                    tag: r.try_get("tag")?,
                    statuses_count: r.try_get("statuses_count")?,
                    last_status_at: r.try_get("last_status_at")?,
                })
            })
            .collect()
    }

    /// Tags the account used most in its public and unlisted posts and does not feature yet.
    pub async fn featured_tag_suggestions(
        &self,
        account: Id,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT t.tag FROM status_tags t JOIN statuses s ON s.id = t.status_id \
             WHERE s.account_id = $1 AND s.deleted_at IS NULL AND s.visibility IN ('public', 'unlisted') \
             AND t.tag NOT IN (SELECT tag FROM featured_tags WHERE account_id = $1) \
             GROUP BY t.tag ORDER BY COUNT(*) DESC, t.tag LIMIT $2",
        )
        .bind(account.as_i64())
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    /// Tags starting with `prefix` that appear on a public or unlisted post or that the
    /// viewer follows, by name.
    pub async fn search_tags(
        &self,
        viewer: Option<Id>,
        prefix: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<String>, StoreError> {
        let pattern = format!("{}%", like_escape(&prefix.to_lowercase()));
        Ok(sqlx::query_scalar(
            "SELECT tag FROM ( \
               SELECT t.tag FROM status_tags t JOIN statuses s ON s.id = t.status_id \
                 WHERE t.tag LIKE $1 ESCAPE '\\' AND s.deleted_at IS NULL AND s.held_at IS NULL \
                 AND s.visibility IN ('public', 'unlisted') \
               UNION SELECT tag FROM followed_tags WHERE account_id = $2 AND tag LIKE $1 ESCAPE '\\' \
             ) found ORDER BY tag LIMIT $3 OFFSET $4",
        )
        .bind(pattern)
        .bind(viewer.map_or(0, Id::as_i64))
        .bind(limit)
        .bind(offset)
        .fetch_all(self.reader())
        .await?)
    }

    /// A tag's use over the last `days` days including today, newest day first.
    pub async fn tag_history(&self, tag: &str, days: i64) -> Result<Vec<TagDay>, StoreError> {
        let today = now_ms().div_euclid(DAY_MS) * DAY_MS;
        let since = today - (days - 1) * DAY_MS;
        let rows = sqlx::query(
            "SELECT s.created_at, s.account_id FROM status_tags t JOIN statuses s ON s.id = t.status_id \
             WHERE t.tag = $1 AND s.created_at >= $2 AND s.deleted_at IS NULL AND s.held_at IS NULL \
             AND s.visibility IN ('public', 'unlisted')",
        )
        .bind(tag.to_lowercase())
        .bind(since)
        .fetch_all(self.reader())
        .await?;
        let mut out: Vec<(TagDay, HashSet<i64>)> = (0..days)
            .map(|n| {
                (
                    TagDay {
                        day: today - n * DAY_MS,
                        uses: 0,
                        accounts: 0,
                    },
                    HashSet::new(),
                )
            })
            .collect();
        for row in rows {
            let at: i64 = row.try_get("created_at")?;
            let author: i64 = row.try_get("account_id")?;
            let index = (today - at.div_euclid(DAY_MS) * DAY_MS) / DAY_MS;
            if let Some((day, authors)) = usize::try_from(index).ok().and_then(|i| out.get_mut(i)) {
                day.uses += 1;
                authors.insert(author);
                day.accounts = i64::try_from(authors.len()).unwrap_or(i64::MAX);
            }
        }
        Ok(out.into_iter().map(|(day, _)| day).collect())
    }

    /// Endorses (features on the profile) an account; endorsing again changes nothing.
    pub async fn endorse(&self, account: Id, target: Id) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO endorsements (account_id, target_account_id, id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, target_account_id) DO NOTHING",
        )
        .bind(account.as_i64())
        .bind(target.as_i64())
        .bind(self.next_id().as_i64())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Removes an endorsement.
    pub async fn unendorse(&self, account: Id, target: Id) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM endorsements WHERE account_id = $1 AND target_account_id = $2")
            .bind(account.as_i64())
            .bind(target.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Whether `account` endorses `target`.
    pub async fn endorses(&self, account: Id, target: Id) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM endorsements WHERE account_id = $1 AND target_account_id = $2",
        )
        .bind(account.as_i64())
        .bind(target.as_i64())
        .fetch_one(self.reader())
        .await?;
        Ok(n > 0)
    }

    /// The accounts an account endorses, newest endorsement first, as (endorsement id,
    /// account id) for pagination.
    pub async fn endorsed_accounts(
        &self,
        account: Id,
        page: Page,
    ) -> Result<Vec<(Id, Id)>, StoreError> {
        let (upper, lower, ascending) = page.bounds();
        let sql = if ascending {
            "SELECT e.id, e.target_account_id FROM endorsements e JOIN accounts a ON a.id = e.target_account_id \
             WHERE e.account_id = $1 AND a.suspended_at IS NULL AND e.id < $2 AND e.id > $3 ORDER BY e.id ASC LIMIT $4"
        } else {
            "SELECT e.id, e.target_account_id FROM endorsements e JOIN accounts a ON a.id = e.target_account_id \
             WHERE e.account_id = $1 AND a.suspended_at IS NULL AND e.id < $2 AND e.id > $3 ORDER BY e.id DESC LIMIT $4"
        };
        let rows = sqlx::query(sql)
            .bind(account.as_i64())
            .bind(upper)
            .bind(lower)
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        let mut out = rows
            .iter()
            .map(|r| Ok((id(r, "id")?, id(r, "target_account_id")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        if ascending {
            out.reverse();
        }
        Ok(out)
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_their_wildcards() {
        assert_eq!(super::like_escape("a_b%c\\"), "a\\_b\\%c\\\\");
    }
}
