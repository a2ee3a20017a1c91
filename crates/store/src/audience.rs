//! Loading the audience engine's facts in bulk, and keeping its records: the decision log
//! and the list of inboxes each post reached.
//!
//! The engine is pure; these functions gather exactly the facts one batch of decisions
//! needs (a timeline page for one viewer, or one post's delivery) in a handful of queries,
//! so that no rule ever waits on the database.

use std::collections::{BTreeSet, HashSet};

use cohort_model::{Domain, Id};
use cohort_policy::{
    CommunityFacts, DomainDecision, FactSet, Party, PostFacts, Recipient, RecordedInbox, Rule,
    Viewer,
};
use sqlx::Row;

use crate::row::{flag, id, id_from};
use crate::sql::{id_set_value, in_id_set, in_text_set, text_set_value};
use crate::{Store, StoreError, now_ms};

/// One row of the decision log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDecision {
    /// The post.
    pub status_id: Id,
    /// The receiving instance.
    pub domain: String,
    /// Whether anything was delivered there.
    pub allowed: bool,
    /// The deciding rule's name.
    pub rule: String,
    /// When, Unix ms.
    pub decided_at: i64,
}

/// Every account, domain and community a set of posts involves.
#[derive(Default)]
struct Involved {
    authors: BTreeSet<Id>,
    domains: BTreeSet<Domain>,
    communities: BTreeSet<Id>,
}

impl Involved {
    fn add_post(&mut self, post: &PostFacts) {
        self.authors.insert(post.author.id);
        if let Some(d) = &post.author.domain {
            self.domains.insert(d.clone());
        }
        if let Some(c) = post.audience.community {
            self.communities.insert(c);
        }
        if let Some(parent) = &post.parent {
            self.add_post(parent);
        }
        if let Some(original) = &post.reblog_of {
            self.add_post(original);
        }
    }
}

impl Store {
    /// The facts needed to decide whether `viewer` may see each of `posts` (with their
    /// ancestors and boosted originals).
    pub async fn facts_for_viewer(
        &self,
        viewer: &Viewer,
        posts: &[&PostFacts],
    ) -> Result<FactSet, StoreError> {
        let mut involved = Involved::default();
        for post in posts {
            involved.add_post(post);
        }
        let mut facts = FactSet::default();
        let viewer_account = match viewer {
            Viewer::Account(p) => Some(p),
            _ => None,
        };
        if let Some(d) = match viewer {
            Viewer::Account(p) => p.domain.clone(),
            Viewer::Instance(d) => Some(d.clone()),
            Viewer::Anonymous => None,
        } {
            involved.domains.insert(d);
        }
        self.load_domain_facts(&mut facts, &involved.domains)
            .await?;
        let authors: Vec<Id> = involved.authors.iter().copied().collect();
        if let Some(v) = viewer_account {
            self.load_follows(&mut facts, &[v.id], &authors).await?;
            self.load_blocks(&mut facts, &[v.id], &authors).await?;
            let mut with_viewer = authors.clone();
            with_viewer.push(v.id);
            self.load_account_domain_blocks(&mut facts, &with_viewer)
                .await?;
            self.load_memberships(&mut facts, &involved.communities, &[v.id])
                .await?;
        } else {
            self.load_account_domain_blocks(&mut facts, &authors)
                .await?;
        }
        if let Viewer::Instance(domain) = viewer {
            self.load_member_domains(&mut facts, &involved.communities, domain)
                .await?;
        }
        self.load_communities(&mut facts, &involved.communities)
            .await?;
        let viewers: Vec<Id> = viewer_account
            .filter(|v| v.is_local())
            .map(|v| v.id)
            .into_iter()
            .collect();
        self.load_limits(&mut facts, &authors, &viewers).await?;
        Ok(facts)
    }

    /// The candidates for delivering `post` and the facts to decide them: the author's
    /// remote followers, the remote accounts it addresses, the remote author of its parent,
    /// and (for community posts) the community's remote members.
    pub async fn delivery_candidates(
        &self,
        post: &PostFacts,
    ) -> Result<(FactSet, Vec<Recipient>), StoreError> {
        let mut involved = Involved::default();
        involved.add_post(post);
        let subject_author = post.author.id;
        let mut candidate_ids: BTreeSet<Id> = BTreeSet::new();

        let followers: Vec<i64> = sqlx::query_scalar(
            "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id \
             WHERE f.target_account_id = $1 AND f.state = 'accepted' AND a.domain IS NOT NULL",
        )
        .bind(subject_author.as_i64())
        .fetch_all(self.reader())
        .await?;
        candidate_ids.extend(followers.into_iter().filter_map(|i| Id::from_i64(i).ok()));
        candidate_ids.extend(post.addressed.iter().copied());
        let subject = post.reblog_of.as_deref().unwrap_or(post);
        candidate_ids.insert(subject.author.id);
        if let Some(parent) = &subject.parent {
            candidate_ids.insert(parent.author.id);
        }
        if let Some(community) = subject.audience.community {
            let members: Vec<i64> = sqlx::query_scalar(
                "SELECT m.account_id FROM community_members m JOIN accounts a ON a.id = m.account_id \
                 WHERE m.community_id = $1 AND m.state = 'member' AND a.domain IS NOT NULL",
            )
            .bind(community.as_i64())
            .fetch_all(self.reader())
            .await?;
            candidate_ids.extend(members.into_iter().filter_map(|i| Id::from_i64(i).ok()));
        }
        candidate_ids.remove(&subject_author);

        let candidates = self
            .remote_recipients(&candidate_ids.into_iter().collect::<Vec<_>>())
            .await?;
        let candidate_list: Vec<Id> = candidates.iter().map(|c| c.party.id).collect();
        for c in &candidates {
            if let Some(d) = &c.party.domain {
                involved.domains.insert(d.clone());
            }
        }
        let authors: Vec<Id> = involved.authors.iter().copied().collect();
        let mut facts = FactSet::default();
        self.load_domain_facts(&mut facts, &involved.domains)
            .await?;
        self.load_follows(&mut facts, &candidate_list, &authors)
            .await?;
        self.load_blocks(&mut facts, &candidate_list, &authors)
            .await?;
        let mut accounts = authors.clone();
        accounts.extend(candidate_list.iter().copied());
        self.load_account_domain_blocks(&mut facts, &accounts)
            .await?;
        self.load_memberships(&mut facts, &involved.communities, &candidate_list)
            .await?;
        self.load_communities(&mut facts, &involved.communities)
            .await?;
        Ok((facts, candidates))
    }

    /// The remote domains [`Store::delivery_candidates`] would find candidates on, without
    /// gathering the candidates' facts: what the planner needs (each domain's worker
    /// re-plans at send time with that domain's facts). For a post to a community of 20,000
    /// members this is two `DISTINCT` queries instead of loading every member's facts.
    pub async fn candidate_domains(
        &self,
        post: &PostFacts,
    ) -> Result<BTreeSet<Domain>, StoreError> {
        let mut names: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT a.domain FROM follows f JOIN accounts a ON a.id = f.account_id \
             WHERE f.target_account_id = $1 AND f.state = 'accepted' AND a.domain IS NOT NULL \
             AND a.inbox_uri IS NOT NULL",
        )
        .bind(post.author.id.as_i64())
        .fetch_all(self.reader())
        .await?;
        let subject = post.reblog_of.as_deref().unwrap_or(post);
        if let Some(community) = subject.audience.community {
            names.extend(
                sqlx::query_scalar::<_, String>(
                    "SELECT DISTINCT a.domain FROM community_members m JOIN accounts a \
                     ON a.id = m.account_id WHERE m.community_id = $1 AND m.state = 'member' \
                     AND a.domain IS NOT NULL AND a.inbox_uri IS NOT NULL",
                )
                .bind(community.as_i64())
                .fetch_all(self.reader())
                .await?,
            );
        }
        let mut others: Vec<Id> = post.addressed.clone();
        others.push(subject.author.id);
        if let Some(parent) = &subject.parent {
            others.push(parent.author.id);
        }
        others.retain(|id| *id != post.author.id);
        let mut domains: BTreeSet<Domain> = self
            .remote_recipients(&others)
            .await?
            .into_iter()
            .filter_map(|r| r.party.domain)
            .collect();
        for name in names {
            domains.insert(Domain::parse(&name).map_err(|e| StoreError::Corrupt {
                column: "accounts.domain",
                detail: e.to_string(),
            })?);
        }
        Ok(domains)
    }

    /// Blocks between `account` and any of `others`, in both directions, as (blocker,
    /// blocked) pairs.
    pub async fn blocks_between(
        &self,
        account: Id,
        others: &[Id],
    ) -> Result<HashSet<(Id, Id)>, StoreError> {
        let mut facts = FactSet::default();
        self.load_blocks(&mut facts, &[account], others).await?;
        Ok(facts.blocks)
    }

    /// `account`'s current membership of `community`, as a (community, account) pair set.
    pub async fn memberships_of(
        &self,
        account: Id,
        community: Id,
    ) -> Result<HashSet<(Id, Id)>, StoreError> {
        let mut facts = FactSet::default();
        let communities: BTreeSet<Id> = [community].into_iter().collect();
        self.load_memberships(&mut facts, &communities, &[account])
            .await?;
        Ok(facts.memberships)
    }

    /// Remote accounts with their inboxes, as delivery candidates. Local accounts and
    /// accounts without an inbox are left out.
    pub async fn remote_recipients(&self, ids: &[Id]) -> Result<Vec<Recipient>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        if ids.is_empty() {
            return Ok(out);
        }
        let engine = self.engine();
        let sql = format!(
            "SELECT id, domain, suspended_at, actor_uri, inbox_uri, shared_inbox_uri FROM accounts \
             WHERE domain IS NOT NULL AND inbox_uri IS NOT NULL AND {}",
            in_id_set(engine, "id", 1)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_set_value(engine, ids))
            .fetch_all(self.reader())
            .await?;
        for row in &rows {
            out.push(recipient(row)?);
        }
        out.sort_by_key(|r| r.party.id);
        Ok(out)
    }

    /// Records the per-domain decisions of one plan (replacing earlier ones for the same
    /// post and domain: the log says where the post stands now).
    pub async fn record_audience_decisions(
        &self,
        status: Id,
        decisions: &[DomainDecision],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        for d in decisions {
            sqlx::query(
                "INSERT INTO audience_decisions (status_id, domain, allowed, rule, decided_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (status_id, domain) DO UPDATE SET \
                 allowed = excluded.allowed, rule = excluded.rule, decided_at = excluded.decided_at",
            )
            .bind(status.as_i64())
            .bind(d.domain.as_str())
            .bind(d.allowed)
            .bind(d.rule.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Where a post went (and where it did not), by domain.
    pub async fn audience_decisions_for_status(
        &self,
        status: Id,
    ) -> Result<Vec<StoredDecision>, StoreError> {
        let rows = sqlx::query(
            "SELECT status_id, domain, allowed, rule, decided_at FROM audience_decisions \
             WHERE status_id = $1 ORDER BY domain",
        )
        .bind(status.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(decision_from_row).collect()
    }

    /// The newest decisions about one domain, for admins.
    pub async fn audience_decisions_for_domain(
        &self,
        domain: &Domain,
        limit: i64,
    ) -> Result<Vec<StoredDecision>, StoreError> {
        let rows = sqlx::query(
            "SELECT status_id, domain, allowed, rule, decided_at FROM audience_decisions \
             WHERE domain = $1 ORDER BY decided_at DESC, status_id DESC LIMIT $2",
        )
        .bind(domain.as_str())
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(decision_from_row).collect()
    }

    /// Records that `inbox` received `status`, so that a later Delete reaches it.
    pub async fn record_status_delivery(
        &self,
        status: Id,
        inbox: &str,
        domain: &Domain,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO status_deliveries (status_id, inbox_uri, domain, delivered_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (status_id, inbox_uri) DO NOTHING",
        )
        .bind(status.as_i64())
        .bind(inbox)
        .bind(domain.as_str())
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Every inbox that received `status`.
    pub async fn recorded_inboxes(&self, status: Id) -> Result<Vec<RecordedInbox>, StoreError> {
        let rows = sqlx::query("SELECT inbox_uri, domain FROM status_deliveries WHERE status_id = $1 ORDER BY inbox_uri")
            .bind(status.as_i64())
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|row| {
                let domain: String = row.try_get("domain")?;
                Ok(RecordedInbox {
                    inbox: row.try_get("inbox_uri")?,
                    domain: Domain::parse(&domain).map_err(|e| StoreError::Corrupt {
                        column: "status_deliveries.domain",
                        detail: e.to_string(),
                    })?,
                })
            })
            .collect()
    }

    /// Every remote inbox that must hear of `account`'s deletion: those that received any of
    /// its posts (`status_deliveries`) and its remote followers' (shared inbox if any). A
    /// retraction only removes information, so nothing narrows it but domain suspension.
    pub async fn actor_deletion_inboxes(
        &self,
        account: Id,
    ) -> Result<Vec<RecordedInbox>, StoreError> {
        let mut rows = sqlx::query(
            "SELECT DISTINCT d.inbox_uri, d.domain FROM status_deliveries d \
             JOIN statuses s ON s.id = d.status_id WHERE s.account_id = $1",
        )
        .bind(account.as_i64())
        .fetch_all(self.reader())
        .await?;
        rows.extend(
            sqlx::query(
                "SELECT DISTINCT COALESCE(a.shared_inbox_uri, a.inbox_uri) AS inbox_uri, a.domain \
                 FROM follows f JOIN accounts a ON a.id = f.account_id \
                 WHERE f.target_account_id = $1 AND f.state = 'accepted' \
                 AND a.domain IS NOT NULL AND a.inbox_uri IS NOT NULL",
            )
            .bind(account.as_i64())
            .fetch_all(self.reader())
            .await?,
        );
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for row in &rows {
            let inbox: String = row.try_get("inbox_uri")?;
            let domain: String = row.try_get("domain")?;
            if !seen.insert(inbox.clone()) {
                continue;
            }
            out.push(RecordedInbox {
                inbox,
                domain: Domain::parse(&domain).map_err(|e| StoreError::Corrupt {
                    column: "accounts.domain",
                    detail: e.to_string(),
                })?,
            });
        }
        out.sort_by(|a, b| a.inbox.cmp(&b.inbox));
        Ok(out)
    }

    /// The federation mode and the policies of `domains` ([`Store::domains_facts_of`]: one
    /// query, one reading of the policy rows).
    pub(crate) async fn load_domain_facts(
        &self,
        facts: &mut FactSet,
        domains: &BTreeSet<Domain>,
    ) -> Result<(), StoreError> {
        let list: Vec<Domain> = domains.iter().cloned().collect();
        let loaded = self.domains_facts_of(&list).await?;
        facts.mode = loaded.mode;
        facts.blocked_domains.extend(loaded.blocked_domains);
        facts.allowed_domains.extend(loaded.allowed_domains);
        Ok(())
    }

    /// The federation mode and one domain's policy, as [`Store::domain_facts`] loads them,
    /// in one query (every inbox request asks it before reading the body).
    pub async fn domain_facts_of(&self, domain: &Domain) -> Result<FactSet, StoreError> {
        self.domains_facts_of(std::slice::from_ref(domain)).await
    }

    /// [`Store::domain_facts_of`] for several domains at once, in one query (the inbox asks
    /// it for the requests that arrive together).
    pub async fn domains_facts_of(&self, domains: &[Domain]) -> Result<FactSet, StoreError> {
        let engine = self.engine();
        let sql = format!(
            "SELECT (SELECT value FROM instance_settings WHERE key = 'federation_mode') AS mode, \
             p.domain, p.policy, p.severity FROM (SELECT 1 AS one) o \
             LEFT JOIN domain_policies p ON {}",
            in_text_set(engine, "p.domain", 1)
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_set_value(domains.iter().map(Domain::as_str)));
        let rows = query.fetch_all(self.reader()).await?;
        let mut facts = FactSet::default();
        for row in rows {
            let mode: Option<String> = row.try_get("mode")?;
            facts.mode = match mode.as_deref() {
                Some("allowlist") => cohort_policy::FederationMode::Allowlist,
                _ => cohort_policy::FederationMode::Open,
            };
            let name: Option<String> = row.try_get("domain")?;
            let Some(domain) = name.and_then(|n| domains.iter().find(|d| d.as_str() == n)) else {
                continue;
            };
            let policy: Option<String> = row.try_get("policy")?;
            let severity: Option<String> = row.try_get("severity")?;
            match (policy.as_deref(), severity.as_deref()) {
                // A `noop` block only carries flags (reject media, reject reports).
                (Some("block"), Some(severity)) if severity != "noop" => {
                    facts
                        .blocked_domains
                        .insert(domain.clone(), severity != "silence");
                }
                (Some("allow"), _) => {
                    facts.allowed_domains.insert(domain.clone());
                }
                _ => {}
            }
        }
        Ok(facts)
    }

    /// Accepted follows from any of `followers` to any of `followed`.
    pub(crate) async fn load_follows(
        &self,
        facts: &mut FactSet,
        followers: &[Id],
        followed: &[Id],
    ) -> Result<(), StoreError> {
        for (a, b) in self
            .pairs(
                "follows",
                "account_id",
                "target_account_id",
                " AND state = 'accepted'",
                followers,
                followed,
            )
            .await?
        {
            facts.follows.insert((a, b));
        }
        Ok(())
    }

    /// Blocks between any of `xs` and any of `ys`, in both directions.
    pub(crate) async fn load_blocks(
        &self,
        facts: &mut FactSet,
        xs: &[Id],
        ys: &[Id],
    ) -> Result<(), StoreError> {
        for pair in self
            .pairs("blocks", "account_id", "target_account_id", "", xs, ys)
            .await?
        {
            facts.blocks.insert(pair);
        }
        for pair in self
            .pairs("blocks", "account_id", "target_account_id", "", ys, xs)
            .await?
        {
            facts.blocks.insert(pair);
        }
        Ok(())
    }

    /// Rows `(left, right)` of `table` with `left` in `lefts` and `right` in `rights`. The
    /// table and column names come from this module's callers, never from input.
    async fn pairs(
        &self,
        table: &'static str,
        left: &'static str,
        right: &'static str,
        extra: &'static str,
        lefts: &[Id],
        rights: &[Id],
    ) -> Result<Vec<(Id, Id)>, StoreError> {
        let mut out = Vec::new();
        if lefts.is_empty() || rights.is_empty() {
            return Ok(out);
        }
        // One statement, each side bound as one set (see `in_id_set`).
        let engine = self.engine();
        let sql = format!(
            "SELECT {left}, {right} FROM {table} WHERE {} AND {}{extra}",
            in_id_set(engine, left, 1),
            in_id_set(engine, right, 2),
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_set_value(engine, lefts))
            .bind(id_set_value(engine, rights))
            .fetch_all(self.reader())
            .await?;
        for row in &rows {
            out.push((id(row, left)?, id(row, right)?));
        }
        Ok(out)
    }

    pub(crate) async fn load_account_domain_blocks(
        &self,
        facts: &mut FactSet,
        accounts: &[Id],
    ) -> Result<(), StoreError> {
        if accounts.is_empty() {
            return Ok(());
        }
        let engine = self.engine();
        let sql = format!(
            "SELECT account_id, domain FROM account_domain_blocks WHERE {}",
            in_id_set(engine, "account_id", 1)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id_set_value(engine, accounts))
            .fetch_all(self.reader())
            .await?;
        for row in &rows {
            let domain: String = row.try_get("domain")?;
            if let Ok(domain) = Domain::parse(&domain) {
                facts
                    .account_domain_blocks
                    .insert((id(row, "account_id")?, domain));
            }
        }
        Ok(())
    }

    pub(crate) async fn load_memberships(
        &self,
        facts: &mut FactSet,
        communities: &BTreeSet<Id>,
        accounts: &[Id],
    ) -> Result<(), StoreError> {
        let communities: Vec<Id> = communities.iter().copied().collect();
        for (community, account) in self
            .pairs(
                "community_members",
                "community_id",
                "account_id",
                " AND state = 'member'",
                &communities,
                accounts,
            )
            .await?
        {
            facts.memberships.insert((community, account));
        }
        Ok(())
    }

    /// Which of `authors` are limited (silenced), and which of `viewers` (local accounts)
    /// moderate this instance: the facts of `limited_accounts_reach_only_their_followers`.
    pub(crate) async fn load_limits(
        &self,
        facts: &mut FactSet,
        authors: &[Id],
        viewers: &[Id],
    ) -> Result<(), StoreError> {
        for (ids, sql, set) in [
            (
                authors,
                "SELECT id FROM accounts WHERE silenced_at IS NOT NULL AND",
                &mut facts.limited,
            ),
            (
                viewers,
                "SELECT id FROM accounts WHERE domain IS NULL \
                 AND role IN ('moderator', 'admin') AND",
                &mut facts.moderators,
            ),
        ] {
            if ids.is_empty() {
                continue;
            }
            let engine = self.engine();
            let sql = format!("{sql} {}", in_id_set(engine, "id", 1));
            let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(id_set_value(engine, ids))
                .fetch_all(self.reader())
                .await?;
            for found in found {
                set.insert(id_from(found, "accounts.id")?);
            }
        }
        Ok(())
    }

    async fn load_member_domains(
        &self,
        facts: &mut FactSet,
        communities: &BTreeSet<Id>,
        domain: &Domain,
    ) -> Result<(), StoreError> {
        for community in communities {
            let members: Vec<i64> = sqlx::query_scalar(
                "SELECT m.account_id FROM community_members m JOIN accounts a ON a.id = m.account_id \
                 WHERE m.community_id = $1 AND m.state = 'member' AND a.domain = $2",
            )
            .bind(community.as_i64())
            .bind(domain.as_str())
            .fetch_all(self.reader())
            .await?;
            let members: Vec<Id> = members
                .into_iter()
                .filter_map(|m| Id::from_i64(m).ok())
                .collect();
            if !members.is_empty() {
                facts
                    .members_by_domain
                    .insert((*community, domain.clone()), members);
            }
        }
        Ok(())
    }

    pub(crate) async fn load_communities(
        &self,
        facts: &mut FactSet,
        communities: &BTreeSet<Id>,
    ) -> Result<(), StoreError> {
        for community in communities {
            let Some(row) = sqlx::query(
                "SELECT visibility, federation_restricted FROM communities WHERE id = $1",
            )
            .bind(community.as_i64())
            .fetch_optional(self.reader())
            .await?
            else {
                continue;
            };
            let visibility: String = row.try_get("visibility")?;
            let federates_with = if flag(&row, "federation_restricted")? {
                let domains: Vec<String> = sqlx::query_scalar(
                    "SELECT domain FROM community_federation WHERE community_id = $1",
                )
                .bind(community.as_i64())
                .fetch_all(self.reader())
                .await?;
                Some(
                    domains
                        .iter()
                        .filter_map(|d| Domain::parse(d).ok())
                        .collect::<HashSet<_>>(),
                )
            } else {
                None
            };
            facts.communities.insert(
                *community,
                CommunityFacts {
                    federates_with,
                    local_only: visibility == "local",
                },
            );
        }
        Ok(())
    }
}

fn decision_from_row(row: &sqlx::any::AnyRow) -> Result<StoredDecision, StoreError> {
    let rule: String = row.try_get("rule")?;
    if Rule::from_name(&rule).is_none() {
        return Err(StoreError::Corrupt {
            column: "audience_decisions.rule",
            detail: format!("unknown rule {rule:?}"),
        });
    }
    Ok(StoredDecision {
        status_id: id(row, "status_id")?,
        domain: row.try_get("domain")?,
        allowed: flag(row, "allowed")?,
        rule,
        decided_at: row.try_get("decided_at")?,
    })
}

/// The select list that aggregates rows of `accounts` (as `alias`) into one JSON array of
/// delivery candidates, read back by [`recipients_from_json`]: one value for thousands of
/// candidates instead of one row each (SQLite only).
pub(crate) fn recipients_json(alias: &str) -> String {
    let a = alias;
    format!(
        "COALESCE(json_group_array(json_array({a}.id, {a}.domain, {a}.suspended_at IS NOT NULL, \
         {a}.actor_uri, {a}.inbox_uri, {a}.shared_inbox_uri)), '[]')"
    )
}

/// One candidate as [`recipients_json`] writes it: `[id, domain, suspended (0 or 1),
/// actor_uri, inbox_uri, shared_inbox_uri]`.
#[derive(serde::Deserialize)]
struct RecipientJson(i64, String, i64, String, Option<String>, Option<String>);

/// The candidates of a [`recipients_json`] array.
pub(crate) fn recipients_from_json(json: &str) -> Result<Vec<Recipient>, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        column: "accounts (delivery candidates)",
        detail,
    };
    let rows: Vec<RecipientJson> =
        serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
    let mut out = Vec::with_capacity(rows.len());
    for RecipientJson(account, domain, suspended, actor_uri, inbox, shared_inbox) in rows {
        let domain = Domain::parse(&domain).map_err(|e| corrupt(e.to_string()))?;
        let Some(inbox) = inbox else {
            continue;
        };
        out.push(Recipient {
            party: Party {
                id: id_from(account, "accounts.id")?,
                domain: Some(domain),
                suspended: suspended != 0,
            },
            actor_uri,
            inbox,
            shared_inbox,
        });
    }
    Ok(out)
}

/// A delivery candidate from a row of `accounts` (`id, domain, suspended_at, actor_uri,
/// inbox_uri, shared_inbox_uri`).
pub(crate) fn recipient(row: &sqlx::any::AnyRow) -> Result<Recipient, StoreError> {
    let domain: String = row.try_get("domain")?;
    let domain = Domain::parse(&domain).map_err(|e| StoreError::Corrupt {
        column: "accounts.domain",
        detail: e.to_string(),
    })?;
    let suspended: Option<i64> = row.try_get("suspended_at")?;
    Ok(Recipient {
        party: Party {
            id: id(row, "id")?,
            domain: Some(domain),
            suspended: suspended.is_some(),
        },
        actor_uri: row.try_get("actor_uri")?,
        inbox: row.try_get("inbox_uri")?,
        shared_inbox: row.try_get("shared_inbox_uri")?,
    })
}
