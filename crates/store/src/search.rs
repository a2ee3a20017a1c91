//! Search: full-text candidates among statuses, and accounts by name.
//!
//! Statuses are matched by an FTS5 index on SQLite and a `tsvector` GIN index on PostgreSQL
//! (migration 0018), both without stemming, so the two engines find the same words. The
//! query only proposes candidates; the caller passes them through the read gate. Besides
//! what the gate decides, a post is a candidate for someone other than its author only when
//! its author opted in to search (`indexable`) and, for a community post, its community did
//! too: posts of accounts or communities that opt out are never found by others. A viewer
//! always finds posts they wrote, were mentioned in, favourited or bookmarked.

use cohort_model::Id;

use crate::row::id;
use crate::tags::like_escape;
use crate::{Engine, Store, StoreError};

/// What a status search may be narrowed to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusSearch {
    /// The words to find (all of them).
    pub words: Vec<String>,
    /// Only this author's statuses.
    pub author: Option<Id>,
    /// How many.
    pub limit: i64,
    /// How many to skip.
    pub offset: i64,
}

/// The words of a search query: runs of letters and digits, lower-case.
pub fn search_words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(16)
        .collect()
}

/// Who may find a post besides its author (see the module doc).
const FINDABLE: &str = "(s.account_id = $2 \
     OR (a.indexable = TRUE AND NOT EXISTS (SELECT 1 FROM communities c JOIN accounts g ON g.id = c.account_id \
          WHERE c.id = s.community_id AND g.indexable = FALSE)) \
     OR s.id IN (SELECT status_id FROM status_mentions WHERE account_id = $2) \
     OR s.id IN (SELECT status_id FROM favourites WHERE account_id = $2) \
     OR s.id IN (SELECT status_id FROM bookmarks WHERE account_id = $2))";

impl Store {
    /// Candidate statuses containing every word, newest first, for `viewer` (an anonymous
    /// viewer finds nothing: Mastodon requires a signed-in account for full-text search).
    pub async fn search_status_ids(
        &self,
        viewer: Id,
        search: &StatusSearch,
    ) -> Result<Vec<Id>, StoreError> {
        if search.words.is_empty() {
            return Ok(Vec::new());
        }
        let (matcher, query) = match self.engine() {
            Engine::Sqlite => (
                "s.id IN (SELECT rowid FROM statuses_search WHERE statuses_search MATCH $1)",
                // Each word quoted: FTS5 syntax in the query cannot change its meaning.
                search
                    .words
                    .iter()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Engine::Postgres => (
                "to_tsvector('simple'::regconfig, (CASE WHEN s.local THEN s.text_source ELSE s.content_html END) \
                 || ' ' || s.spoiler_text) @@ plainto_tsquery('simple'::regconfig, $1)",
                search.words.join(" "),
            ),
        };
        let sql = format!(
            "SELECT s.id FROM statuses s JOIN accounts a ON a.id = s.account_id \
             WHERE {matcher} AND s.reblog_of_id IS NULL AND s.deleted_at IS NULL AND s.held_at IS NULL \
             AND a.suspended_at IS NULL AND ($3 = 0 OR s.account_id = $3) AND {FINDABLE} \
             ORDER BY s.id DESC LIMIT $4 OFFSET $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(query)
            .bind(viewer.as_i64())
            .bind(search.author.map_or(0, Id::as_i64))
            .bind(search.limit)
            .bind(search.offset)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| id(r, "id")).collect()
    }

    /// Accounts whose username starts with `prefix` or whose display name contains it,
    /// exact usernames first; suspended accounts are never found. With `followed_by`, only
    /// accounts that account follows.
    pub async fn search_account_ids(
        &self,
        prefix: &str,
        followed_by: Option<Id>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Id>, StoreError> {
        let lower = prefix.to_lowercase();
        let starts = format!("{}%", like_escape(&lower));
        let contains = format!("%{}%", like_escape(&lower));
        let rows = sqlx::query(
            "SELECT a.id FROM accounts a WHERE a.suspended_at IS NULL \
             AND (a.username_lower LIKE $1 ESCAPE '\\' OR LOWER(a.display_name) LIKE $2 ESCAPE '\\') \
             AND ($3 = 0 OR a.id IN (SELECT target_account_id FROM follows WHERE account_id = $3 AND state = 'accepted')) \
             ORDER BY CASE WHEN a.username_lower = $4 THEN 0 ELSE 1 END, \
                      CASE WHEN a.domain IS NULL THEN 0 ELSE 1 END, a.username_lower, a.id \
             LIMIT $5 OFFSET $6",
        )
        .bind(starts)
        .bind(contains)
        .bind(followed_by.map_or(0, Id::as_i64))
        .bind(lower)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| id(r, "id")).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_words_are_alphanumeric_runs_in_lower_case() {
        assert_eq!(
            super::search_words("Insulin \"pump\" OR* near(x)"),
            vec!["insulin", "pump", "or", "near", "x"]
        );
        assert!(super::search_words("  ** ").is_empty());
    }
}
