//! Communities: their Group accounts, settings, members, join requests, invites, bans,
//! moderators, featured threads and removals.
//!
//! A community is a Group account (`accounts.is_group`) plus a `communities` row. Its name,
//! title, description, avatar and header are the Group account's username, display name,
//! note and images, so Mastodon apps see it as an account with `group: true`.
//!
//! `community_members` is the truth about membership (role and state). Joining also writes
//! the matching `follows` row (member -> Group), in the same transaction, because following
//! the Group is how Mastodon apps and remote servers join (FEP-1b12) and because the home
//! timeline shows what followed accounts post, which for a Group is its announcements.

use cohort_model::{CommunityRole, CommunityVisibility, Id, Membership, Username};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::AccountRecord;
use crate::outbox::OutboxKind;
use crate::row::{id, parsed};
use crate::timelines::Page;
use crate::{Store, StoreError, now_ms};

/// Everything needed to create a local community. The URLs and keys come from the
/// federation layer, which alone knows their shape.
#[derive(Clone, Debug)]
pub struct NewLocalCommunity {
    /// The Group's `@name`.
    pub name: Username,
    /// Shown name.
    pub title: String,
    /// Description (HTML the caller made safe).
    pub description: String,
    /// Who may join.
    pub membership: Membership,
    /// Who may see it.
    pub visibility: CommunityVisibility,
    /// The community's rules, in order.
    pub rules: Vec<String>,
    /// Conditions and topics.
    pub tags: Vec<String>,
    /// ISO 639 language.
    pub language: Option<String>,
    /// The local account that creates it and becomes its owner.
    pub owner: Id,
    /// The Group actor's ActivityPub id.
    pub actor_uri: String,
    /// Its inbox.
    pub inbox_uri: String,
    /// The instance's shared inbox.
    pub shared_inbox_uri: String,
    /// Its followers (members) collection.
    pub followers_uri: String,
    /// Its web page.
    pub url: String,
    /// Its public key's id.
    pub key_id: String,
    /// PEM of the public key.
    pub public_key_pem: String,
    /// PEM of the private key.
    pub private_key_pem: String,
}

/// A community as stored, with its Group account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommunityRecord {
    /// The community's id (not the Group account's).
    pub id: Id,
    /// The Group account.
    pub account: AccountRecord,
    /// Description (the Group account's note).
    pub description: String,
    /// Who may join.
    pub membership: Membership,
    /// Who may see it.
    pub visibility: CommunityVisibility,
    /// Rules, in order.
    pub rules: Vec<String>,
    /// Conditions and topics.
    pub tags: Vec<String>,
    /// Language.
    pub language: Option<String>,
    /// Current members (moderators and owner included).
    pub members_count: i64,
    /// Created, Unix ms.
    pub created_at: i64,
}

impl CommunityRecord {
    /// Whether the community is hosted here.
    pub fn is_local(&self) -> bool {
        self.account.domain.is_none()
    }
}

/// Where a member stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// A current member.
    Member,
    /// Asked to join; waiting for a moderator.
    Requested,
    /// Banned: sees nothing and cannot rejoin until unbanned (or the ban expires).
    Banned,
}

impl MemberState {
    fn as_str(self) -> &'static str {
        match self {
            MemberState::Member => "member",
            MemberState::Requested => "requested",
            MemberState::Banned => "banned",
        }
    }

    fn parse(raw: &str) -> Result<Self, StoreError> {
        match raw {
            "member" => Ok(MemberState::Member),
            "requested" => Ok(MemberState::Requested),
            "banned" => Ok(MemberState::Banned),
            other => Err(StoreError::Corrupt {
                column: "community_members.state",
                detail: format!("unknown state {other:?}"),
            }),
        }
    }
}

/// One account's standing in a community.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRecord {
    /// The account.
    pub account: Id,
    /// Its part.
    pub role: CommunityRole,
    /// Its state.
    pub state: MemberState,
    /// Why it was banned.
    pub ban_reason: Option<String>,
    /// When the ban ends, Unix ms (`None`: never).
    pub ban_expires_at: Option<i64>,
    /// Since when, Unix ms.
    pub since: i64,
}

impl MemberRecord {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let state: String = row.try_get("state")?;
        Ok(MemberRecord {
            account: id(row, "account_id")?,
            role: parsed(row, "role")?,
            state: MemberState::parse(&state)?,
            ban_reason: row.try_get("ban_reason")?,
            ban_expires_at: row.try_get("ban_expires_at")?,
            since: row.try_get("created_at")?,
        })
    }

    /// A ban that is still in force at `now`.
    pub fn is_banned_at(&self, now: i64) -> bool {
        self.state == MemberState::Banned && self.ban_expires_at.is_none_or(|end| end > now)
    }

    /// A current member (of any role).
    pub fn is_member(&self) -> bool {
        self.state == MemberState::Member
    }

    /// A current member with moderation powers.
    pub fn can_moderate(&self) -> bool {
        self.is_member() && self.role.can_moderate()
    }
}

/// What a join attempt came to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum JoinOutcome {
    /// Now a member (or already was).
    Joined,
    /// A join request waits for a moderator (or already did).
    Requested,
    /// Banned from the community.
    Banned,
    /// An `invite` community and no code was given.
    InviteRequired,
    /// The code is unknown, used up, expired or for another community.
    InviteInvalid,
    /// The account asked to join too many communities in the last hour
    /// ([`JOIN_REQUESTS_PER_HOUR`]): a flood, refused without writing anything.
    TooManyRequests,
}

/// How many join requests one account may make in an hour, across communities. Requests
/// wait for people (moderators), so a flood is refused early.
pub const JOIN_REQUESTS_PER_HOUR: i64 = 10;

/// A settings change; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct CommunityUpdate {
    /// Shown name.
    pub title: Option<String>,
    /// Description (safe HTML).
    pub description: Option<String>,
    /// Who may join.
    pub membership: Option<Membership>,
    /// Who may see it.
    pub visibility: Option<CommunityVisibility>,
    /// Rules.
    pub rules: Option<Vec<String>>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Language.
    pub language: Option<String>,
}

/// A created invite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteRecord {
    /// The secret code.
    pub code: String,
    /// How many times it may be used (`None`: unlimited).
    pub max_uses: Option<i64>,
    /// Used so far.
    pub uses: i64,
    /// When it expires, Unix ms.
    pub expires_at: Option<i64>,
}

/// `SELECT <the columns CommunityRecord reads> ...`: the community row, its Group account and
/// the live member count.
macro_rules! select_communities {
    ($rest:literal) => {
        concat!(
            "SELECT c.id AS community_id, c.visibility AS community_visibility, c.membership, ",
            "c.rules_json, c.tags_json, c.language AS community_language, c.created_at AS community_created_at, ",
            "(SELECT COUNT(*) FROM community_members m WHERE m.community_id = c.id AND m.state = 'member') AS members_count, ",
            "a.id, a.username, a.domain, a.display_name, a.note, a.role, a.author_kind, a.email, a.locked, a.bot, ",
            "a.is_group, a.approved, a.actor_uri, a.created_at, a.suspended_at, a.avatar_url, a.header_url ",
            "FROM communities c JOIN accounts a ON a.id = c.account_id ",
            $rest
        )
    };
}

fn json_list(row: &AnyRow, column: &'static str) -> Result<Vec<String>, StoreError> {
    let raw: String = row.try_get(column)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

fn to_json(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

impl CommunityRecord {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(CommunityRecord {
            id: id(row, "community_id")?,
            account: AccountRecord::from_row(row)?,
            description: row.try_get("note")?,
            membership: parsed(row, "membership")?,
            visibility: parsed(row, "community_visibility")?,
            rules: json_list(row, "rules_json")?,
            tags: json_list(row, "tags_json")?,
            language: row.try_get("community_language")?,
            members_count: row.try_get("members_count")?,
            created_at: row.try_get("community_created_at")?,
        })
    }
}

/// A random invite code: 16 letters and digits (about 95 bits), easy to type and to put in a
/// URL.
fn new_invite_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// What a removal from a community sends ([`Store::remove_from_community`]), written in the
/// removal's own transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemovalNotice {
    /// Nothing: the removal came from elsewhere (the community's Group relayed it).
    Received,
    /// The community is hosted here: its Group (this account) relays the removal to every
    /// instance that received the post, and the removal goes into the moderation log.
    RelayFromGroup(Id),
    /// The community is hosted elsewhere and a moderator here removed the post: their
    /// `Delete` goes to the community's Group (this account), which relays it.
    ToRemoteGroup(Id),
}

impl Store {
    /// Creates a local community: its Group account and keys, the community row, and the
    /// creator as owner and first member, in one transaction. A name already used by any
    /// local account is refused with [`StoreError::Conflict`], writing nothing.
    pub async fn create_local_community(
        &self,
        new: &NewLocalCommunity,
    ) -> Result<CommunityRecord, StoreError> {
        let account_id = self.next_id();
        let community_id = self.next_id();
        let now = now_ms();
        let name_lower = new.name.as_str().to_ascii_lowercase();
        let mut tx = self.writer().begin().await?;
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM accounts WHERE domain IS NULL AND username_lower = $1",
        )
        .bind(&name_lower)
        .fetch_one(&mut *tx)
        .await?;
        if taken > 0 {
            return Err(StoreError::Conflict("name"));
        }
        sqlx::query(
            "INSERT INTO accounts (id, username, username_lower, domain, display_name, note, role, \
             author_kind, locked, is_group, discoverable, approved, actor_uri, inbox_uri, \
             shared_inbox_uri, followers_uri, url, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, $4, $5, 'member', 'organization', $6, TRUE, $7, TRUE, $8, $9, \
             $10, $11, $12, $13, $13)",
        )
        .bind(account_id.as_i64())
        .bind(new.name.as_str())
        .bind(&name_lower)
        .bind(&new.title)
        .bind(&new.description)
        .bind(new.membership.is_gated())
        .bind(new.visibility.is_discoverable())
        .bind(&new.actor_uri)
        .bind(&new.inbox_uri)
        .bind(&new.shared_inbox_uri)
        .bind(&new.followers_uri)
        .bind(&new.url)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict("name")
            } else {
                e.into()
            }
        })?;
        sqlx::query(
            "INSERT INTO actor_keys (account_id, key_id, public_key_pem, private_key_pem, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(account_id.as_i64())
        .bind(&new.key_id)
        .bind(&new.public_key_pem)
        .bind(&new.private_key_pem)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO communities (id, account_id, visibility, membership, rules_json, tags_json, \
             language, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(community_id.as_i64())
        .bind(account_id.as_i64())
        .bind(new.visibility.as_str())
        .bind(new.membership.as_str())
        .bind(to_json(&new.rules))
        .bind(to_json(&new.tags))
        .bind(&new.language)
        .bind(new.owner.as_i64())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO community_members (community_id, account_id, role, state, created_at, updated_at) \
             VALUES ($1, $2, 'owner', 'member', $3, $3)",
        )
        .bind(community_id.as_i64())
        .bind(new.owner.as_i64())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        crate::relations::set_follow_in(&mut tx, self.next_id(), new.owner, account_id, "accepted")
            .await?;
        tx.commit().await?;
        self.community(community_id).await
    }

    /// One community by its id.
    pub async fn community(&self, community: Id) -> Result<CommunityRecord, StoreError> {
        let row = sqlx::query(select_communities!("WHERE c.id = $1"))
            .bind(community.as_i64())
            .fetch_optional(self.reader())
            .await?
            .ok_or(StoreError::NotFound("community"))?;
        CommunityRecord::from_row(&row)
    }

    /// The community whose Group account is `account`, if it is one.
    pub async fn community_of_group(
        &self,
        account: Id,
    ) -> Result<Option<CommunityRecord>, StoreError> {
        sqlx::query(select_communities!("WHERE c.account_id = $1"))
            .bind(account.as_i64())
            .fetch_optional(self.reader())
            .await?
            .map(|row| CommunityRecord::from_row(&row))
            .transpose()
    }

    /// A local community by name, case-insensitively.
    pub async fn local_community_by_name(&self, name: &str) -> Result<CommunityRecord, StoreError> {
        let row = sqlx::query(select_communities!(
            "WHERE a.domain IS NULL AND a.username_lower = $1"
        ))
        .bind(name.to_ascii_lowercase())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("community"))?;
        CommunityRecord::from_row(&row)
    }

    /// A remote community by `name` and `domain`.
    pub async fn remote_community_by_acct(
        &self,
        name: &str,
        domain: &str,
    ) -> Result<CommunityRecord, StoreError> {
        let row = sqlx::query(select_communities!(
            "WHERE a.domain = $1 AND a.username_lower = $2"
        ))
        .bind(domain.to_ascii_lowercase())
        .bind(name.to_ascii_lowercase())
        .fetch_optional(self.reader())
        .await?
        .ok_or(StoreError::NotFound("community"))?;
        CommunityRecord::from_row(&row)
    }

    /// Discoverable communities (public and members-only ones; never unlisted or, for
    /// remote viewers, local ones), newest first, optionally matching `query` in name, title
    /// or tags, optionally only local ones. `viewer_is_local` admits `local` communities.
    pub async fn list_communities(
        &self,
        query: Option<&str>,
        local_only: bool,
        viewer_is_local: bool,
        page: Page,
    ) -> Result<Vec<CommunityRecord>, StoreError> {
        let pattern = query
            .map(|q| format!("%{}%", q.trim().to_lowercase().replace(['%', '_'], "")))
            .unwrap_or_else(|| "%".to_owned());
        let rows = sqlx::query(select_communities!(
            "WHERE (c.visibility IN ('public', 'members') OR (c.visibility = 'local' AND $1 = 1)) \
             AND (a.domain IS NULL OR $2 = 0) AND a.suspended_at IS NULL \
             AND (a.username_lower LIKE $3 OR LOWER(a.display_name) LIKE $3 OR LOWER(c.tags_json) LIKE $3) \
             AND c.id < $4 AND c.id > $5 ORDER BY c.id DESC LIMIT $6"
        ))
        .bind(i64::from(viewer_is_local))
        .bind(i64::from(local_only))
        .bind(&pattern)
        .bind(page.max_id.unwrap_or(i64::MAX))
        .bind(page.min_id.or(page.since_id).unwrap_or(0))
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(CommunityRecord::from_row).collect()
    }

    /// Changes a community's settings; the Group account's name-like fields change with them.
    pub async fn update_community(
        &self,
        community: &CommunityRecord,
        update: &CommunityUpdate,
    ) -> Result<CommunityRecord, StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let membership = update.membership.unwrap_or(community.membership);
        let visibility = update.visibility.unwrap_or(community.visibility);
        sqlx::query(
            "UPDATE accounts SET display_name = $1, note = $2, locked = $3, discoverable = $4, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(
            update
                .title
                .as_ref()
                .unwrap_or(&community.account.display_name),
        )
        .bind(
            update
                .description
                .as_ref()
                .unwrap_or(&community.description),
        )
        .bind(membership.is_gated())
        .bind(visibility.is_discoverable())
        .bind(now)
        .bind(community.account.id.as_i64())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE communities SET membership = $1, visibility = $2, rules_json = $3, tags_json = $4, \
             language = $5 WHERE id = $6",
        )
        .bind(membership.as_str())
        .bind(visibility.as_str())
        .bind(to_json(update.rules.as_ref().unwrap_or(&community.rules)))
        .bind(to_json(update.tags.as_ref().unwrap_or(&community.tags)))
        .bind(update.language.as_ref().or(community.language.as_ref()))
        .bind(community.id.as_i64())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.community(community.id).await
    }

    /// `account`'s standing in `community`, if it has one.
    pub async fn membership(
        &self,
        community: Id,
        account: Id,
    ) -> Result<Option<MemberRecord>, StoreError> {
        sqlx::query(
            "SELECT account_id, role, state, ban_reason, ban_expires_at, created_at \
             FROM community_members WHERE community_id = $1 AND account_id = $2",
        )
        .bind(community.as_i64())
        .bind(account.as_i64())
        .fetch_optional(self.reader())
        .await?
        .map(|row| MemberRecord::from_row(&row))
        .transpose()
    }

    /// Joins `account` to `community` as its membership mode allows: at once (`open`, or an
    /// `invite` community with a valid code, which uses it up by one), or as a request
    /// (`approval`). A current ban refuses; an expired one is lifted. Writes the matching
    /// follow of the Group in the same transaction.
    pub async fn join_community(
        &self,
        community: &CommunityRecord,
        account: Id,
        invite_code: Option<&str>,
    ) -> Result<JoinOutcome, StoreError> {
        let now = now_ms();
        let existing = self.membership(community.id, account).await?;
        if let Some(member) = &existing {
            if member.is_banned_at(now) {
                return Ok(JoinOutcome::Banned);
            }
            match member.state {
                MemberState::Member => return Ok(JoinOutcome::Joined),
                MemberState::Requested if community.membership == Membership::Approval => {
                    return Ok(JoinOutcome::Requested);
                }
                _ => {}
            }
        }
        if community.membership == Membership::Approval {
            let recent: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM community_members WHERE account_id = $1 AND state = 'requested' \
                 AND updated_at > $2",
            )
            .bind(account.as_i64())
            .bind(now - 3_600_000)
            .fetch_one(self.reader())
            .await?;
            if recent >= JOIN_REQUESTS_PER_HOUR {
                return Ok(JoinOutcome::TooManyRequests);
            }
        }
        let mut tx = self.writer().begin().await?;
        let state = match community.membership {
            Membership::Open => MemberState::Member,
            Membership::Approval => MemberState::Requested,
            Membership::Invite => {
                let Some(code) = invite_code.filter(|c| !c.is_empty()) else {
                    return Ok(JoinOutcome::InviteRequired);
                };
                let used = sqlx::query(
                    "UPDATE community_invites SET uses = uses + 1 WHERE code = $1 AND community_id = $2 \
                     AND (max_uses IS NULL OR uses < max_uses) AND (expires_at IS NULL OR expires_at > $3)",
                )
                .bind(code)
                .bind(community.id.as_i64())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if used.rows_affected() == 0 {
                    return Ok(JoinOutcome::InviteInvalid);
                }
                MemberState::Member
            }
        };
        sqlx::query(
            "INSERT INTO community_members (community_id, account_id, role, state, created_at, updated_at) \
             VALUES ($1, $2, 'member', $3, $4, $4) \
             ON CONFLICT (community_id, account_id) DO UPDATE SET state = excluded.state, \
             ban_reason = NULL, ban_expires_at = NULL, updated_at = excluded.updated_at",
        )
        .bind(community.id.as_i64())
        .bind(account.as_i64())
        .bind(state.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let follow_state = if state == MemberState::Member {
            "accepted"
        } else {
            "requested"
        };
        crate::relations::set_follow_in(
            &mut tx,
            self.next_id(),
            account,
            community.account.id,
            follow_state,
        )
        .await?;
        tx.commit().await?;
        Ok(if state == MemberState::Member {
            JoinOutcome::Joined
        } else {
            JoinOutcome::Requested
        })
    }

    /// Leaves a community (or withdraws a request). A banned account stays banned: leaving
    /// is not a way around a ban. The owner cannot leave. Returns whether anything changed.
    pub async fn leave_community(
        &self,
        community: &CommunityRecord,
        account: Id,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin().await?;
        let removed = sqlx::query(
            "DELETE FROM community_members WHERE community_id = $1 AND account_id = $2 \
             AND state <> 'banned' AND role <> 'owner'",
        )
        .bind(community.id.as_i64())
        .bind(account.as_i64())
        .execute(&mut *tx)
        .await?;
        crate::relations::remove_follow_in(&mut tx, account, community.account.id).await?;
        tx.commit().await?;
        Ok(removed.rows_affected() > 0)
    }

    /// Accounts waiting for approval, oldest request first.
    pub async fn join_requests(&self, community: Id) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id FROM community_members WHERE community_id = $1 AND state = 'requested' \
             ORDER BY updated_at ASC LIMIT 400",
        )
        .bind(community.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| id(r, "account_id")).collect()
    }

    /// Approves or rejects a pending request. Returns `false` when there was none.
    pub async fn decide_join_request(
        &self,
        community: &CommunityRecord,
        account: Id,
        approve: bool,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let changed = if approve {
            sqlx::query(
                "UPDATE community_members SET state = 'member', updated_at = $1 \
                 WHERE community_id = $2 AND account_id = $3 AND state = 'requested'",
            )
            .bind(now)
            .bind(community.id.as_i64())
            .bind(account.as_i64())
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "DELETE FROM community_members WHERE community_id = $1 AND account_id = $2 \
                 AND state = 'requested'",
            )
            .bind(community.id.as_i64())
            .bind(account.as_i64())
            .execute(&mut *tx)
            .await?
        };
        if changed.rows_affected() == 0 {
            return Ok(false);
        }
        if approve {
            crate::relations::set_follow_in(
                &mut tx,
                self.next_id(),
                account,
                community.account.id,
                "accepted",
            )
            .await?;
        } else {
            crate::relations::remove_follow_in(&mut tx, account, community.account.id).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Creates an invite code.
    pub async fn create_invite(
        &self,
        community: Id,
        created_by: Id,
        max_uses: Option<i64>,
        expires_at: Option<i64>,
    ) -> Result<InviteRecord, StoreError> {
        let code = new_invite_code();
        sqlx::query(
            "INSERT INTO community_invites (code, community_id, created_by, max_uses, uses, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, 0, $5, $6)",
        )
        .bind(&code)
        .bind(community.as_i64())
        .bind(created_by.as_i64())
        .bind(max_uses)
        .bind(expires_at)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(InviteRecord {
            code,
            max_uses,
            uses: 0,
            expires_at,
        })
    }

    /// Current members, moderators and owner first, then by when they joined. Paged by
    /// offset-free cursor on the account id.
    pub async fn community_members(
        &self,
        community: Id,
        page: Page,
    ) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id, role, state, ban_reason, ban_expires_at, created_at FROM community_members \
             WHERE community_id = $1 AND state = 'member' AND account_id < $2 AND account_id > $3 \
             ORDER BY account_id DESC LIMIT $4",
        )
        .bind(community.as_i64())
        .bind(page.max_id.unwrap_or(i64::MAX))
        .bind(page.min_id.or(page.since_id).unwrap_or(0))
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(MemberRecord::from_row).collect()
    }

    /// Moderators and the owner.
    pub async fn community_moderators(
        &self,
        community: Id,
    ) -> Result<Vec<MemberRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT account_id, role, state, ban_reason, ban_expires_at, created_at FROM community_members \
             WHERE community_id = $1 AND state = 'member' AND role IN ('moderator', 'owner') \
             ORDER BY created_at ASC",
        )
        .bind(community.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(MemberRecord::from_row).collect()
    }

    /// Makes a current member a moderator, or a moderator a plain member again. The owner's
    /// role never changes here. Returns `false` when `account` is not a current member (or is
    /// the owner).
    pub async fn set_community_moderator(
        &self,
        community: Id,
        account: Id,
        moderator: bool,
    ) -> Result<bool, StoreError> {
        let role = if moderator {
            CommunityRole::Moderator
        } else {
            CommunityRole::Member
        };
        let record = self.community(community).await?;
        let mut tx = self.writer().begin().await?;
        let changed = sqlx::query(
            "UPDATE community_members SET role = $1, updated_at = $2 WHERE community_id = $3 \
             AND account_id = $4 AND state = 'member' AND role <> 'owner' AND role <> $1",
        )
        .bind(role.as_str())
        .bind(now_ms())
        .bind(community.as_i64())
        .bind(account.as_i64())
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() > 0 {
            let kind = if moderator {
                OutboxKind::GroupAddModerator
            } else {
                OutboxKind::GroupRemoveModerator
            };
            self.announce_moderation_in(&mut tx, &record, kind, None, Some(account))
                .await?;
            tx.commit().await?;
            return Ok(true);
        }
        // Already in that role: nothing changes, nothing is announced.
        let already: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM community_members WHERE community_id = $1 AND account_id = $2 \
             AND state = 'member' AND role = $3",
        )
        .bind(community.as_i64())
        .bind(account.as_i64())
        .bind(role.as_str())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(already > 0)
    }

    /// The domains of the remote accounts following `account` (accepted): where a Group's
    /// announcements and an actor's `Update` go.
    pub async fn remote_follower_domains(
        &self,
        account: Id,
    ) -> Result<Vec<cohort_model::Domain>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT a.domain FROM follows f JOIN accounts a ON a.id = f.account_id \
             WHERE f.target_account_id = $1 AND f.state = 'accepted' AND a.domain IS NOT NULL \
             ORDER BY a.domain",
        )
        .bind(account.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|d| {
                cohort_model::Domain::parse(d).map_err(|e| StoreError::Corrupt {
                    column: "accounts.domain",
                    detail: e.to_string(),
                })
            })
            .collect()
    }

    /// The remote accounts on `domain` following `account` (accepted), oldest follow first.
    pub async fn remote_followers_on_domain(
        &self,
        account: Id,
        domain: &cohort_model::Domain,
    ) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id FROM follows f JOIN accounts a ON a.id = f.account_id \
             WHERE f.target_account_id = $1 AND f.state = 'accepted' AND a.domain = $2 \
             ORDER BY a.id",
        )
        .bind(account.as_i64())
        .bind(domain.as_str())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|row| id(row, "id")).collect()
    }

    /// Records the Group's announcement of a moderation in a community hosted here, in the
    /// caller's transaction. A `local` community's Group exists nowhere else, and a community
    /// hosted elsewhere is announced by its own Group: nothing is recorded for them.
    async fn announce_moderation_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        community: &CommunityRecord,
        kind: OutboxKind,
        status: Option<Id>,
        target_account: Option<Id>,
    ) -> Result<(), StoreError> {
        if !community.is_local() || community.visibility == CommunityVisibility::Local {
            return Ok(());
        }
        let event = crate::outbox::NewOutboxEvent {
            kind,
            actor: community.account.id,
            status,
            target_account,
        };
        crate::outbox::enqueue_in(tx, self.next_id(), &event).await
    }

    /// Bans an account (member or not) until `expires_at` (`None`: until unbanned). Its
    /// follow of the Group goes, so it stops receiving at once. The owner cannot be banned:
    /// returns `false` then.
    pub async fn ban_from_community(
        &self,
        community: &CommunityRecord,
        moderator: Id,
        account: Id,
        reason: &str,
        expires_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let owner: Option<String> = sqlx::query_scalar(
            "SELECT role FROM community_members WHERE community_id = $1 AND account_id = $2",
        )
        .bind(community.id.as_i64())
        .bind(account.as_i64())
        .fetch_optional(&mut *tx)
        .await?;
        if owner.as_deref() == Some("owner") {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO community_members (community_id, account_id, role, state, ban_reason, \
             ban_expires_at, created_at, updated_at) VALUES ($1, $2, 'member', 'banned', $3, $4, $5, $5) \
             ON CONFLICT (community_id, account_id) DO UPDATE SET role = 'member', state = 'banned', \
             ban_reason = excluded.ban_reason, ban_expires_at = excluded.ban_expires_at, \
             updated_at = excluded.updated_at",
        )
        .bind(community.id.as_i64())
        .bind(account.as_i64())
        .bind(reason)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        crate::relations::remove_follow_in(&mut tx, account, community.account.id).await?;
        self.announce_moderation_in(
            &mut tx,
            community,
            OutboxKind::GroupBan,
            None,
            Some(account),
        )
        .await?;
        crate::moderation::log_community_in(
            &mut tx,
            self.next_id(),
            community.id,
            crate::moderation::CommunityLogLine {
                moderator,
                action: "ban",
                target_kind: "account",
                target_id: account.to_string(),
                reason,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Lifts a ban (the account may join again). Returns whether there was one.
    pub async fn unban_from_community(
        &self,
        community: Id,
        moderator: Id,
        account: Id,
    ) -> Result<bool, StoreError> {
        let record = self.community(community).await?;
        let mut tx = self.writer().begin().await?;
        let removed = sqlx::query(
            "DELETE FROM community_members WHERE community_id = $1 AND account_id = $2 AND state = 'banned'",
        )
        .bind(community.as_i64())
        .bind(account.as_i64())
        .execute(&mut *tx)
        .await?;
        if removed.rows_affected() == 0 {
            return Ok(false);
        }
        self.announce_moderation_in(
            &mut tx,
            &record,
            OutboxKind::GroupUnban,
            None,
            Some(account),
        )
        .await?;
        crate::moderation::log_community_in(
            &mut tx,
            self.next_id(),
            community,
            crate::moderation::CommunityLogLine {
                moderator,
                action: "unban",
                target_kind: "account",
                target_id: account.to_string(),
                reason: "",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes a post (and, for a thread, the Group's announcement of it) from a community:
    /// it disappears from every read path like a deleted post, and the removal (by whom,
    /// why) is kept. What it sends (`notice`) is written in the same transaction, so that
    /// a removal is never made here without its notice or sent without being made here.
    /// Returns `false` when the post is not in this community or already gone.
    pub async fn remove_from_community(
        &self,
        community: Id,
        status: Id,
        moderator: Id,
        reason: &str,
        notice: RemovalNotice,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let removed = sqlx::query(
            "UPDATE statuses SET deleted_at = $1, removed_by = $2, removed_reason = $3 \
             WHERE community_id = $4 AND deleted_at IS NULL AND (id = $5 OR reblog_of_id = $5)",
        )
        .bind(now)
        .bind(moderator.as_i64())
        .bind(reason)
        .bind(community.as_i64())
        .bind(status.as_i64())
        .execute(&mut *tx)
        .await?;
        if removed.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM community_pins WHERE community_id = $1 AND status_id = $2")
            .bind(community.as_i64())
            .bind(status.as_i64())
            .execute(&mut *tx)
            .await?;
        if let RemovalNotice::ToRemoteGroup(group) = notice {
            let event = crate::outbox::NewOutboxEvent {
                kind: crate::outbox::OutboxKind::ModeratorDelete,
                actor: moderator,
                status: Some(status),
                target_account: Some(group),
            };
            crate::outbox::enqueue_in(&mut tx, self.next_id(), &event).await?;
        }
        if let RemovalNotice::RelayFromGroup(group) = notice {
            // Hosted here: relayed to every instance, and written in the mod log.
            let event = crate::outbox::NewOutboxEvent {
                kind: crate::outbox::OutboxKind::GroupRemove,
                actor: group,
                status: Some(status),
                target_account: None,
            };
            crate::outbox::enqueue_in(&mut tx, self.next_id(), &event).await?;
            crate::moderation::log_community_in(
                &mut tx,
                self.next_id(),
                community,
                crate::moderation::CommunityLogLine {
                    moderator,
                    action: "remove_status",
                    target_kind: "status",
                    target_id: status.to_string(),
                    reason,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Who removed a post from its community, and why, if a moderator did.
    pub async fn removal_of(&self, status: Id) -> Result<Option<(Id, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT removed_by, removed_reason FROM statuses WHERE id = $1 AND removed_by IS NOT NULL",
        )
        .bind(status.as_i64())
        .fetch_optional(self.reader())
        .await?;
        match row {
            Some(row) => Ok(Some((
                id(&row, "removed_by")?,
                row.try_get::<Option<String>, _>("removed_reason")?
                    .unwrap_or_default(),
            ))),
            None => Ok(None),
        }
    }

    /// Features (or stops featuring) a thread of the community. Returns `false` when the
    /// status is not a live thread of this community.
    pub async fn set_community_pin(
        &self,
        community: Id,
        status: Id,
        pinned: bool,
    ) -> Result<bool, StoreError> {
        let record = self.community(community).await?;
        if !pinned {
            let mut tx = self.writer().begin().await?;
            let unpinned = sqlx::query(
                "DELETE FROM community_pins WHERE community_id = $1 AND status_id = $2",
            )
            .bind(community.as_i64())
            .bind(status.as_i64())
            .execute(&mut *tx)
            .await?;
            if unpinned.rows_affected() > 0 {
                self.announce_moderation_in(
                    &mut tx,
                    &record,
                    OutboxKind::GroupUnfeature,
                    Some(status),
                    None,
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(true);
        }
        let is_thread: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM statuses WHERE id = $1 AND community_id = $2 AND deleted_at IS NULL \
             AND in_reply_to_id IS NULL AND reblog_of_id IS NULL",
        )
        .bind(status.as_i64())
        .bind(community.as_i64())
        .fetch_one(self.reader())
        .await?;
        if is_thread == 0 {
            return Ok(false);
        }
        let mut tx = self.writer().begin().await?;
        let pinned = sqlx::query(
            "INSERT INTO community_pins (community_id, status_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (community_id, status_id) DO NOTHING",
        )
        .bind(community.as_i64())
        .bind(status.as_i64())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if pinned.rows_affected() > 0 {
            self.announce_moderation_in(
                &mut tx,
                &record,
                OutboxKind::GroupFeature,
                Some(status),
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Featured threads, most recently featured first.
    pub async fn community_pins(&self, community: Id) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.status_id FROM community_pins p JOIN statuses s ON s.id = p.status_id \
             WHERE p.community_id = $1 AND s.deleted_at IS NULL ORDER BY p.created_at DESC LIMIT 40",
        )
        .bind(community.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|r| id(r, "status_id")).collect()
    }

    /// The community's threads (top-level posts, not the Group's announcements), newest
    /// first. The read gate decides which the viewer sees.
    pub async fn community_thread_ids(
        &self,
        community: Id,
        page: Page,
    ) -> Result<Vec<Id>, StoreError> {
        let ascending = page.min_id.is_some();
        let sql = if ascending {
            "SELECT id FROM statuses WHERE community_id = $1 AND deleted_at IS NULL AND held_at IS NULL \
             AND in_reply_to_id IS NULL AND reblog_of_id IS NULL AND id < $2 AND id > $3 \
             ORDER BY id ASC LIMIT $4"
        } else {
            "SELECT id FROM statuses WHERE community_id = $1 AND deleted_at IS NULL AND held_at IS NULL \
             AND in_reply_to_id IS NULL AND reblog_of_id IS NULL AND id < $2 AND id > $3 \
             ORDER BY id DESC LIMIT $4"
        };
        let rows = sqlx::query(sql)
            .bind(community.as_i64())
            .bind(page.max_id.unwrap_or(i64::MAX))
            .bind(page.min_id.or(page.since_id).unwrap_or(0))
            .bind(page.limit)
            .fetch_all(self.reader())
            .await?;
        let mut ids = rows
            .iter()
            .map(|r| id(r, "id"))
            .collect::<Result<Vec<_>, _>>()?;
        if ascending {
            ids.reverse();
        }
        Ok(ids)
    }

    /// The Group's announcement of a thread, if it made one.
    pub async fn community_announcement_of(
        &self,
        group: Id,
        thread: Id,
    ) -> Result<Option<Id>, StoreError> {
        self.reblog_by(group, thread).await
    }
}

impl Store {
    /// The profile directory (Mastodon's `/api/v1/directory`): accounts that opted in to
    /// discovery (`discoverable`), which on Cohort are mostly communities (public and
    /// members-only ones are discoverable) and institutions; patients are not unless they
    /// choose. `recently_active` orders by latest post, else newest first.
    pub async fn directory_account_ids(
        &self,
        local_only: bool,
        recently_active: bool,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Id>, StoreError> {
        let sql = if recently_active {
            "SELECT a.id FROM accounts a WHERE a.discoverable = TRUE AND a.suspended_at IS NULL \
             AND a.approved = TRUE AND (a.domain IS NULL OR $1 = 0) \
             ORDER BY (SELECT MAX(s.id) FROM statuses s WHERE s.account_id = a.id AND s.deleted_at IS NULL) \
             DESC NULLS LAST, a.id DESC LIMIT $2 OFFSET $3"
        } else {
            "SELECT a.id FROM accounts a WHERE a.discoverable = TRUE AND a.suspended_at IS NULL \
             AND a.approved = TRUE AND (a.domain IS NULL OR $1 = 0) \
             ORDER BY a.id DESC LIMIT $2 OFFSET $3"
        };
        let rows = sqlx::query(sql)
            .bind(i64::from(local_only))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|r| id(r, "id")).collect()
    }
}
