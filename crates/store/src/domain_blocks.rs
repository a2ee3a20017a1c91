//! An account's own domain blocks (Mastodon's user-level `domain_blocks`): the read gate
//! already hides the blocked domain's accounts and posts from that account
//! (`account_blocks_domain` in the policy's facts); here they are listed and removed, and
//! blocking drops the followers the account had there, as Mastodon does.

use cohort_model::{Domain, Id};
use sqlx::Row;

use crate::relations::remove_follow_in;
use crate::row::id_from;
use crate::{Store, StoreError, now_ms};

impl Store {
    /// Blocks a domain for one account and removes that account's followers (and follow
    /// requests) from it, in one transaction. Returns the removed followers.
    pub async fn block_domain_and_drop_followers(
        &self,
        account: Id,
        domain: &Domain,
    ) -> Result<Vec<Id>, StoreError> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO account_domain_blocks (account_id, domain, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, domain) DO NOTHING",
        )
        .bind(account.as_i64())
        .bind(domain.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let followers: Vec<i64> = sqlx::query_scalar(
            "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id \
             WHERE f.target_account_id = $1 AND a.domain = $2",
        )
        .bind(account.as_i64())
        .bind(domain.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let followers: Vec<Id> = followers
            .into_iter()
            .map(|f| id_from(f, "follows.account_id"))
            .collect::<Result<_, _>>()?;
        for follower in &followers {
            remove_follow_in(&mut tx, *follower, account).await?;
        }
        tx.commit().await?;
        Ok(followers)
    }

    /// Lifts an account's block of a domain.
    pub async fn unblock_domain_for_account(
        &self,
        account: Id,
        domain: &Domain,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM account_domain_blocks WHERE account_id = $1 AND domain = $2")
            .bind(account.as_i64())
            .bind(domain.as_str())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The domains an account blocks, by name, after `after` (for pagination by offset).
    pub async fn domains_blocked_by(
        &self,
        account: Id,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Domain>, StoreError> {
        let rows = sqlx::query(
            "SELECT domain FROM account_domain_blocks WHERE account_id = $1 ORDER BY domain LIMIT $2 OFFSET $3",
        )
        .bind(account.as_i64())
        .bind(limit)
        .bind(offset)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                let raw: String = r.try_get("domain")?;
                Domain::parse(&raw).map_err(|e| StoreError::Corrupt {
                    column: "account_domain_blocks.domain",
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// Whether the account blocks the domain (for a relationship's `domain_blocking`).
    pub async fn blocks_domain(&self, account: Id, domain: &Domain) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM account_domain_blocks WHERE account_id = $1 AND domain = $2",
        )
        .bind(account.as_i64())
        .bind(domain.as_str())
        .fetch_one(self.reader())
        .await?;
        let n: i64 = row.try_get("n")?;
        Ok(n > 0)
    }
}
