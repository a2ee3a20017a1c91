//! Relations between accounts, instances and communities: the facts the audience engine
//! reads. Writes here only record facts; what they allow is decided in `cohort-policy`.

use cohort_model::{Domain, Id};
use cohort_policy::FederationMode;

use crate::{Store, StoreError, now_ms};

/// A remote actor as discovered by federation, for [`Store::upsert_remote_account`].
#[derive(Clone, Debug)]
pub struct NewRemoteAccount {
    /// `preferredUsername`.
    pub username: String,
    /// The actor's instance.
    pub domain: Domain,
    /// The actor's id.
    pub actor_uri: String,
    /// Personal inbox.
    pub inbox_uri: String,
    /// Shared inbox, if the instance has one.
    pub shared_inbox_uri: Option<String>,
    /// Followers collection.
    pub followers_uri: Option<String>,
    /// Display name.
    pub display_name: String,
    /// Whether it is a Group (community) actor.
    pub is_group: bool,
}

/// The state of a follow.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FollowState {
    /// Waiting for a locked account's approval.
    Requested,
    /// Accepted.
    Accepted,
}

impl FollowState {
    fn as_str(self) -> &'static str {
        match self {
            FollowState::Requested => "requested",
            FollowState::Accepted => "accepted",
        }
    }
}

/// What this instance decided about a domain.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DomainPolicy {
    /// Blocked: nothing in or out (`suspend`), or hidden from public timelines (`silence`).
    Block {
        /// `true` for suspend, `false` for silence.
        suspend: bool,
    },
    /// On the allowlist (used in allowlist mode).
    Allow,
}

/// A community's settings that the audience engine reads.
#[derive(Clone, Debug)]
pub struct NewCommunity {
    /// The Group actor's account (created beforehand with `is_group`).
    pub account_id: Id,
    /// `public`, `unlisted`, `members` or `local`.
    pub visibility: String,
    /// `open`, `approval` or `invite`.
    pub membership: String,
    /// If set, federate only with these instances.
    pub federates_with: Option<Vec<Domain>>,
}

/// How two accounts relate, from the first one's side.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Relationship {
    /// The first follows the second (accepted).
    pub following: bool,
    /// The first asked to follow the second (pending).
    pub requested: bool,
    /// The second follows the first.
    pub followed_by: bool,
    /// The second asked to follow the first.
    pub requested_by: bool,
    /// The first blocks the second.
    pub blocking: bool,
    /// The second blocks the first.
    pub blocked_by: bool,
}

impl Store {
    /// The relationship between `account` and `target`.
    pub async fn relationship(&self, account: Id, target: Id) -> Result<Relationship, StoreError> {
        let follows = sqlx::query(
            "SELECT account_id, state FROM follows WHERE (account_id = $1 AND target_account_id = $2) \
             OR (account_id = $2 AND target_account_id = $1)",
        )
        .bind(account.as_i64())
        .bind(target.as_i64())
        .fetch_all(self.reader())
        .await?;
        let mut r = Relationship::default();
        for row in &follows {
            let from: i64 = sqlx::Row::try_get(row, "account_id")?;
            let state: String = sqlx::Row::try_get(row, "state")?;
            let accepted = state == "accepted";
            if from == account.as_i64() {
                r.following = accepted;
                r.requested = !accepted;
            } else {
                r.followed_by = accepted;
                r.requested_by = !accepted;
            }
        }
        let blocks: Vec<i64> = sqlx::query_scalar(
            "SELECT account_id FROM blocks WHERE (account_id = $1 AND target_account_id = $2) \
             OR (account_id = $2 AND target_account_id = $1)",
        )
        .bind(account.as_i64())
        .bind(target.as_i64())
        .fetch_all(self.reader())
        .await?;
        r.blocking = blocks.contains(&account.as_i64());
        r.blocked_by = blocks.contains(&target.as_i64());
        Ok(r)
    }

    /// Records or refreshes a remote actor; returns its account id.
    pub async fn upsert_remote_account(&self, actor: &NewRemoteAccount) -> Result<Id, StoreError> {
        let now = now_ms();
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM accounts WHERE actor_uri = $1")
                .bind(&actor.actor_uri)
                .fetch_optional(self.reader())
                .await?;
        if let Some(id) = existing {
            sqlx::query(
                "UPDATE accounts SET username = $1, username_lower = $2, inbox_uri = $3, \
                 shared_inbox_uri = $4, followers_uri = $5, display_name = $6, is_group = $7, \
                 fetched_at = $8, updated_at = $8 WHERE id = $9",
            )
            .bind(&actor.username)
            .bind(actor.username.to_lowercase())
            .bind(&actor.inbox_uri)
            .bind(&actor.shared_inbox_uri)
            .bind(&actor.followers_uri)
            .bind(&actor.display_name)
            .bind(actor.is_group)
            .bind(now)
            .bind(id)
            .execute(self.writer())
            .await?;
            let id = crate::row::id_from(id, "accounts.id")?;
            if actor.is_group {
                self.ensure_remote_community(id).await?;
            }
            return Ok(id);
        }
        let id = self.next_id();
        sqlx::query(
            "INSERT INTO accounts (id, username, username_lower, domain, display_name, actor_uri, \
             inbox_uri, shared_inbox_uri, followers_uri, is_group, fetched_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11)",
        )
        .bind(id.as_i64())
        .bind(&actor.username)
        .bind(actor.username.to_lowercase())
        .bind(actor.domain.as_str())
        .bind(&actor.display_name)
        .bind(&actor.actor_uri)
        .bind(&actor.inbox_uri)
        .bind(&actor.shared_inbox_uri)
        .bind(&actor.followers_uri)
        .bind(actor.is_group)
        .bind(now)
        .execute(self.writer())
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict("remote account")
            } else {
                e.into()
            }
        })?;
        if actor.is_group {
            self.ensure_remote_community(id).await?;
        }
        Ok(id)
    }

    /// Gives a remote Group a community row here, so that its posts can be attributed to
    /// the community and local members' standing recorded. Its settings are the permissive
    /// defaults: the Group's own instance enforces membership and visibility, and what it
    /// sends us is addressed per member.
    async fn ensure_remote_community(&self, group: Id) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO communities (id, account_id, visibility, membership, created_at) \
             VALUES ($1, $2, 'public', 'open', $3) ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(self.next_id().as_i64())
        .bind(group.as_i64())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Mirrors a local account's follow of a remote Group as its membership of that
    /// community (following a Group is joining it, FEP-1b12): `Some(state)` records it,
    /// `None` removes it. A ban stays as it is. Does nothing for other accounts.
    async fn mirror_remote_membership(
        &self,
        follower: Id,
        group: Id,
        state: Option<FollowState>,
    ) -> Result<(), StoreError> {
        match state {
            Some(state) => {
                let member_state = match state {
                    FollowState::Accepted => "member",
                    FollowState::Requested => "requested",
                };
                sqlx::query(
                    "INSERT INTO community_members (community_id, account_id, role, state, created_at, updated_at) \
                     SELECT c.id, $1, 'member', $2, $3, $3 FROM communities c JOIN accounts a ON a.id = c.account_id \
                     WHERE c.account_id = $4 AND a.domain IS NOT NULL \
                     ON CONFLICT (community_id, account_id) DO UPDATE SET state = excluded.state, \
                     updated_at = excluded.updated_at WHERE community_members.state <> 'banned'",
                )
                .bind(follower.as_i64())
                .bind(member_state)
                .bind(now_ms())
                .bind(group.as_i64())
                .execute(self.writer())
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM community_members WHERE account_id = $1 AND state <> 'banned' \
                     AND community_id IN (SELECT c.id FROM communities c JOIN accounts a ON a.id = c.account_id \
                     WHERE c.account_id = $2 AND a.domain IS NOT NULL)",
                )
                .bind(follower.as_i64())
                .bind(group.as_i64())
                .execute(self.writer())
                .await?;
            }
        }
        Ok(())
    }

    /// Records a follow (or updates its state).
    pub async fn set_follow(
        &self,
        follower: Id,
        followed: Id,
        state: FollowState,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        set_follow_in(&mut tx, self.next_id(), follower, followed, state.as_str()).await?;
        tx.commit().await?;
        self.mirror_remote_membership(follower, followed, Some(state))
            .await
    }

    /// Removes a follow or follow request.
    pub async fn remove_follow(&self, follower: Id, followed: Id) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        remove_follow_in(&mut tx, follower, followed).await?;
        tx.commit().await?;
        self.mirror_remote_membership(follower, followed, None)
            .await
    }

    /// Records a block and, as Mastodon does, removes follows in both directions, in one
    /// transaction.
    pub async fn block(&self, blocker: Id, blocked: Id) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO blocks (id, account_id, target_account_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, target_account_id) DO NOTHING",
        )
        .bind(self.next_id().as_i64())
        .bind(blocker.as_i64())
        .bind(blocked.as_i64())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM follows WHERE (account_id = $1 AND target_account_id = $2) \
             OR (account_id = $2 AND target_account_id = $1)",
        )
        .bind(blocker.as_i64())
        .bind(blocked.as_i64())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a block.
    pub async fn unblock(&self, blocker: Id, blocked: Id) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM blocks WHERE account_id = $1 AND target_account_id = $2")
            .bind(blocker.as_i64())
            .bind(blocked.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Records an account's block of a whole domain.
    pub async fn block_domain_for_account(
        &self,
        account: Id,
        domain: &Domain,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO account_domain_blocks (account_id, domain, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, domain) DO NOTHING",
        )
        .bind(account.as_i64())
        .bind(domain.as_str())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Sets (or replaces) this instance's policy for a domain.
    pub async fn set_domain_policy(
        &self,
        domain: &Domain,
        policy: DomainPolicy,
    ) -> Result<(), StoreError> {
        let (kind, severity) = match policy {
            DomainPolicy::Block { suspend: true } => ("block", "suspend"),
            DomainPolicy::Block { suspend: false } => ("block", "silence"),
            DomainPolicy::Allow => ("allow", "none"),
        };
        sqlx::query(
            "INSERT INTO domain_policies (domain, policy, severity, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (domain) DO UPDATE SET policy = excluded.policy, severity = excluded.severity",
        )
        .bind(domain.as_str())
        .bind(kind)
        .bind(severity)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Removes this instance's policy for a domain.
    pub async fn clear_domain_policy(&self, domain: &Domain) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM domain_policies WHERE domain = $1")
            .bind(domain.as_str())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Sets whether the instance federates openly or with listed domains only.
    pub async fn set_federation_mode(&self, mode: FederationMode) -> Result<(), StoreError> {
        let value = match mode {
            FederationMode::Open => "open",
            FederationMode::Allowlist => "allowlist",
        };
        sqlx::query(
            "INSERT INTO instance_settings (key, value, updated_at) VALUES ('federation_mode', $1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(value)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// The instance's federation mode (open unless set).
    pub async fn federation_mode(&self) -> Result<FederationMode, StoreError> {
        let value: Option<String> =
            sqlx::query_scalar("SELECT value FROM instance_settings WHERE key = 'federation_mode'")
                .fetch_optional(self.reader())
                .await?;
        Ok(match value.as_deref() {
            Some("allowlist") => FederationMode::Allowlist,
            _ => FederationMode::Open,
        })
    }

    /// Creates a community for an existing Group account; returns the community id.
    pub async fn create_community(&self, new: &NewCommunity) -> Result<Id, StoreError> {
        let id = self.next_id();
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO communities (id, account_id, visibility, membership, federation_restricted, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_i64())
        .bind(new.account_id.as_i64())
        .bind(&new.visibility)
        .bind(&new.membership)
        .bind(new.federates_with.is_some())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        for domain in new.federates_with.iter().flatten() {
            sqlx::query("INSERT INTO community_federation (community_id, domain) VALUES ($1, $2)")
                .bind(id.as_i64())
                .bind(domain.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Adds (or re-activates) a member of a community.
    pub async fn add_community_member(&self, community: Id, account: Id) -> Result<(), StoreError> {
        self.set_membership_state(community, account, "member")
            .await
    }

    /// Bans a member: they stop seeing and receiving the community's posts at once.
    pub async fn ban_community_member(&self, community: Id, account: Id) -> Result<(), StoreError> {
        self.set_membership_state(community, account, "banned")
            .await
    }

    /// Removes a member who left.
    pub async fn remove_community_member(
        &self,
        community: Id,
        account: Id,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM community_members WHERE community_id = $1 AND account_id = $2")
            .bind(community.as_i64())
            .bind(account.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn set_membership_state(
        &self,
        community: Id,
        account: Id,
        state: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO community_members (community_id, account_id, state, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (community_id, account_id) DO UPDATE SET state = excluded.state",
        )
        .bind(community.as_i64())
        .bind(account.as_i64())
        .bind(state)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Suspends (or lifts the suspension of) an account.
    pub async fn set_suspended(&self, account: Id, suspended: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET suspended_at = $1, updated_at = $2 WHERE id = $3")
            .bind(suspended.then(now_ms))
            .bind(now_ms())
            .bind(account.as_i64())
            .execute(self.writer())
            .await?;
        Ok(())
    }
}

/// Writes a follow row (or changes its state) inside a transaction: the one place that does,
/// for plain follows and for joining a community.
pub(crate) async fn set_follow_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    row_id: Id,
    follower: Id,
    followed: Id,
    state: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO follows (id, account_id, target_account_id, state, created_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, target_account_id) DO UPDATE SET state = excluded.state",
    )
    .bind(row_id.as_i64())
    .bind(follower.as_i64())
    .bind(followed.as_i64())
    .bind(state)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Removes a follow row (or request) inside a transaction: for unfollowing, leaving a
/// community, a rejected join request and a ban alike.
pub(crate) async fn remove_follow_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    follower: Id,
    followed: Id,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM follows WHERE account_id = $1 AND target_account_id = $2")
        .bind(follower.as_i64())
        .bind(followed.as_i64())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
