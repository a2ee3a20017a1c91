//! Mastodon's admin API for moderators: reports, accounts (v1 and v2 listings, actions,
//! approvals), domain blocks and domain allows; plus Cohort's mod log.
//!
//! Every route needs an `admin:read` / `admin:write` scope (or the matching child scope,
//! `admin:read:reports` and so on) **and** the moderator or admin role; otherwise `403`.
//! Every write records a mod-log line in the same transaction as the change (the store
//! does both). Statuses shown with a report go through the read gate like every other read.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use cohort_model::{Domain, Id, Role};
use cohort_moderation::{AccountAction, Severity};
use cohort_store::{
    AccountModeration, AccountState, AdminAccountFilter, DomainBlockRecord, DomainBlockWrite,
    NewStrike, ReportFilter, ReportRecord, StoreError,
};
use serde_json::{Value, json};

use crate::auth::Authenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{account_json, link_header, parse_id, visible_statuses};
use crate::state::ApiState;

/// 403 unless the token covers `scope` and the account moderates.
pub(crate) fn moderator(auth: &Authenticated, scope: &str) -> ApiResult<()> {
    auth.require(scope)?;
    if !auth.account.role.can_moderate() {
        return Err(ApiError::Forbidden("This action is not allowed".into()));
    }
    Ok(())
}

fn invalid(why: impl std::fmt::Display) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {why}"))
}

/// The outcome told to the reporter, and to the instance a received report came from: the
/// action taken (or none) and the moderator's optional `resolution_note`, which passes the
/// PHI guard (spans that identify a patient are redacted) because it leaves the moderators.
async fn outcome(
    state: &ApiState,
    auth: &Authenticated,
    params: &Params,
    action: AccountAction,
) -> ApiResult<String> {
    let note = params.string("resolution_note").unwrap_or_default();
    cohort_moderation::check_comment(&note).map_err(invalid)?;
    let mut text = match action {
        AccountAction::None => "Resolved; no action was taken against the account.".to_owned(),
        other => format!("Resolved; action taken: {}.", other.as_str()),
    };
    if !note.trim().is_empty() {
        let (note, _) =
            crate::routes::shared::redacted_for_publication(state, &note, auth.account.author_kind)
                .await?;
        text.push(' ');
        text.push_str(note.trim());
    }
    Ok(text)
}

fn cursor(params: &Params, key: &str) -> ApiResult<Option<i64>> {
    match params.string(key).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{key} must be an id"))),
    }
}

fn optional_id(params: &Params, key: &str) -> ApiResult<Option<Id>> {
    match params.string(key).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<Id>()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{key} must be an id"))),
    }
}

// ---------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------

/// Mastodon's Admin::Account entity.
pub(crate) async fn admin_account_json(state: &ApiState, account: Id) -> ApiResult<Value> {
    let record = state.store.account_by_id(account).await?;
    let moderation = state.store.moderation_state(account).await?;
    let rendered = account_json(state, account).await?;
    Ok(json!({
        "id": record.id.to_string(),
        "username": record.username,
        "domain": record.domain.as_ref().map(Domain::as_str),
        "created_at": datetime(record.created_at),
        "email": record.email,
        "ip": null,
        "ips": [],
        "locale": "en",
        "invite_request": null,
        "role": {
            "id": record.role.as_str(),
            "name": record.role.as_str(),
            "color": "",
            "permissions": if record.role.can_moderate() { "1" } else { "0" },
            "highlighted": record.role.can_moderate(),
        },
        "confirmed": true,
        "approved": moderation.approved,
        "disabled": moderation.disabled_at.is_some(),
        "silenced": moderation.silenced_at.is_some(),
        "suspended": moderation.suspended_at.is_some(),
        "sensitized": moderation.sensitized_at.is_some(),
        "account": rendered,
        "created_by_application_id": null,
        "invited_by_account_id": null,
    }))
}

async fn admin_accounts_json(state: &ApiState, ids: &[Id]) -> ApiResult<Vec<Value>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(admin_account_json(state, *id).await?);
    }
    Ok(out)
}

async fn list_accounts(
    state: &ApiState,
    filter: AdminAccountFilter,
    path: &str,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    let ids = state.store.admin_account_ids(&filter).await?;
    let items = admin_accounts_json(state, &ids).await?;
    Ok((
        link_header(state, path, "", &items),
        Json(Value::Array(items)),
    ))
}

fn page_filter(params: &Params) -> ApiResult<AdminAccountFilter> {
    Ok(AdminAccountFilter {
        max_id: cursor(params, "max_id")?,
        since_id: cursor(params, "since_id")?.or(cursor(params, "min_id")?),
        limit: params.int("limit")?.unwrap_or(100).clamp(1, 200),
        username: params.string("username"),
        email: params.string("email"),
        ..AdminAccountFilter::default()
    })
}

/// `GET /api/v1/admin/accounts`: filters `local`, `remote`, `by_domain`, `active`,
/// `pending`, `disabled`, `silenced`, `suspended`, `sensitized`, `username`, `email`,
/// `staff`.
pub async fn accounts_v1(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    moderator(&auth, "admin:read:accounts")?;
    let mut filter = page_filter(&params)?;
    if params.bool("local")?.unwrap_or(false) {
        filter.local = Some(true);
    } else if params.bool("remote")?.unwrap_or(false) {
        filter.local = Some(false);
    }
    filter.domain = params.string("by_domain").filter(|d| !d.is_empty());
    for status in [
        "active",
        "pending",
        "disabled",
        "silenced",
        "suspended",
        "sensitized",
    ] {
        if params.bool(status)?.unwrap_or(false) {
            filter.status = Some(status.to_owned());
        }
    }
    filter.staff = params.bool("staff")?.unwrap_or(false);
    list_accounts(&state, filter, "/api/v1/admin/accounts").await
}

/// `GET /api/v2/admin/accounts`: filters `origin` (local/remote), `by_domain`, `status`
/// (active, pending, disabled, silenced, suspended), `permissions` (staff), `username`,
/// `email`.
pub async fn accounts_v2(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    moderator(&auth, "admin:read:accounts")?;
    let mut filter = page_filter(&params)?;
    filter.local = match params.string("origin").as_deref() {
        None | Some("") => None,
        Some("local") => Some(true),
        Some("remote") => Some(false),
        Some(other) => return Err(invalid(format!("origin {other:?} is not local or remote"))),
    };
    filter.domain = params.string("by_domain").filter(|d| !d.is_empty());
    filter.status = match params.string("status").as_deref() {
        None | Some("") => None,
        Some(s @ ("active" | "pending" | "disabled" | "silenced" | "suspended" | "sensitized")) => {
            Some(s.to_owned())
        }
        Some(other) => return Err(invalid(format!("unknown status {other:?}"))),
    };
    filter.staff = params.string("permissions").as_deref() == Some("staff");
    list_accounts(&state, filter, "/api/v2/admin/accounts").await
}

/// `GET /api/v1/admin/accounts/:id`.
pub async fn account(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:accounts")?;
    Ok(Json(admin_account_json(&state, parse_id(&id)?).await?))
}

/// Refuses acting on oneself, and a moderator acting on an admin or another moderator.
fn may_act_on(auth: &Authenticated, target: &cohort_store::AccountRecord) -> ApiResult<()> {
    if target.id == auth.account.id {
        return Err(ApiError::Forbidden(
            "This action is not allowed on your own account".into(),
        ));
    }
    if target.domain.is_none() && target.role.can_moderate() && auth.account.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "Only an admin can act on a staff account".into(),
        ));
    }
    Ok(())
}

/// `POST /api/v1/admin/accounts/:id/action`: `type` none / sensitive / disable / silence /
/// suspend, with an optional `report_id` (resolved by the action) and `text` (the reason,
/// kept in the mod log). `send_email_notification` is accepted; Cohort sends no email.
pub async fn account_action(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:accounts")?;
    let target = state.store.account_by_id(parse_id(&id)?).await?;
    may_act_on(&auth, &target)?;
    let action = match params.string("type").filter(|t| !t.is_empty()) {
        Some(t) => t.parse::<AccountAction>().map_err(invalid)?,
        None => AccountAction::None,
    };
    let report = optional_id(&params, "report_id")?;
    let mut reported_statuses = Vec::new();
    if let Some(report) = report {
        let record = match state.store.report(report).await {
            Ok(r) => r,
            Err(StoreError::NotFound(_)) => {
                return Err(invalid("report_id names no report"));
            }
            Err(e) => return Err(e.into()),
        };
        if record.target != target.id {
            return Err(invalid("the report is about another account"));
        }
        reported_statuses = record.status_ids;
    }
    if action == AccountAction::DeleteStatuses && reported_statuses.is_empty() {
        return Err(invalid(
            "delete_statuses needs a report_id of a report that names posts",
        ));
    }
    let warning_text = params.string("warning_text").unwrap_or_default();
    cohort_moderation::check_comment(&warning_text)
        .map_err(|_| invalid("warning_text is too long (at most 1000 characters)"))?;
    params.bool("send_email_notification")?;
    let resolution_note = match report {
        Some(_) => Some(outcome(&state, &auth, &params, action).await?),
        None => None,
    };
    let change = match action {
        AccountAction::None => None,
        AccountAction::Sensitive => Some((AccountState::Sensitized, true)),
        AccountAction::Disable => Some((AccountState::Disabled, true)),
        AccountAction::Silence => Some((AccountState::Silenced, true)),
        AccountAction::Suspend => Some((AccountState::Suspended, true)),
        AccountAction::DeleteStatuses => None,
    };
    let log_action = match action {
        AccountAction::None => "warn",
        other => other.as_str(),
    };
    // A local account's owner is told with a strike they can see and appeal; a remote
    // account's owner is another instance's to tell.
    let strike = target.domain.is_none().then(|| NewStrike {
        action: action.as_str().to_owned(),
        text: warning_text.trim().to_owned(),
        status_ids: reported_statuses.clone(),
        delete_statuses: action == AccountAction::DeleteStatuses,
    });
    let remote_deletions = if target.domain.is_some() && action == AccountAction::DeleteStatuses {
        reported_statuses.clone()
    } else {
        Vec::new()
    };
    state
        .store
        .moderate_account_with_strike(
            &AccountModeration {
                moderator: auth.account.id,
                target: target.id,
                change,
                approval: None,
                resolves_report: report,
                resolution_note,
                log_action: log_action.to_owned(),
                reason: params.string("text").unwrap_or_default(),
            },
            strike.as_ref(),
        )
        .await?;
    // A remote account's posts are removed here only (its instance decides about the
    // originals): each is marked deleted as a remote Delete would.
    for status in remote_deletions {
        match state.store.status(status).await {
            Ok(record) if record.facts.author.id == target.id => {
                match state.store.mark_status_deleted(status).await {
                    Ok(()) | Err(StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(_) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Json(json!({})))
}

async fn simple_account_change(
    state: &ApiState,
    auth: &Authenticated,
    id: &str,
    change: Option<(AccountState, bool)>,
    approval: Option<bool>,
    log_action: &str,
) -> ApiResult<Json<Value>> {
    moderator(auth, "admin:write:accounts")?;
    let target = state.store.account_by_id(parse_id(id)?).await?;
    may_act_on(auth, &target)?;
    if change == Some((AccountState::Suspended, false))
        && state
            .store
            .moderation_state(target.id)
            .await?
            .purged_at
            .is_some()
    {
        return Err(invalid(
            "this account was purged 30 days after its suspension; it cannot be restored",
        ));
    }
    if approval.is_some() {
        let current = state.store.moderation_state(target.id).await?;
        if target.domain.is_some() || current.approved {
            return Err(invalid("this account is not waiting for approval"));
        }
    }
    state
        .store
        .moderate_account(&AccountModeration {
            moderator: auth.account.id,
            target: target.id,
            change,
            approval,
            resolves_report: None,
            resolution_note: None,
            log_action: log_action.to_owned(),
            reason: String::new(),
        })
        .await?;
    Ok(Json(admin_account_json(state, target.id).await?))
}

/// `POST /api/v1/admin/accounts/:id/approve`: lets in a sign-up that waits for approval.
pub async fn approve(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    simple_account_change(&state, &auth, &id, None, Some(true), "approve").await
}

/// `POST /api/v1/admin/accounts/:id/reject`: refuses a sign-up (the account stays
/// suspended so the address cannot sign up again unreviewed).
pub async fn reject(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    simple_account_change(&state, &auth, &id, None, Some(false), "reject").await
}

/// `POST /api/v1/admin/accounts/:id/enable`.
pub async fn enable(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let change = Some((AccountState::Disabled, false));
    simple_account_change(&state, &auth, &id, change, None, "enable").await
}

/// `POST /api/v1/admin/accounts/:id/unsilence`.
pub async fn unsilence(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let change = Some((AccountState::Silenced, false));
    simple_account_change(&state, &auth, &id, change, None, "unsilence").await
}

/// `POST /api/v1/admin/accounts/:id/unsuspend`.
pub async fn unsuspend(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let change = Some((AccountState::Suspended, false));
    simple_account_change(&state, &auth, &id, change, None, "unsuspend").await
}

/// `POST /api/v1/admin/accounts/:id/unsensitive`.
pub async fn unsensitive(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let change = Some((AccountState::Sensitized, false));
    simple_account_change(&state, &auth, &id, change, None, "unsensitive").await
}

// ---------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------

async fn optional_admin_account(state: &ApiState, id: Option<Id>) -> ApiResult<Value> {
    match id {
        None => Ok(Value::Null),
        Some(id) => match admin_account_json(state, id).await {
            Ok(v) => Ok(v),
            Err(ApiError::NotFound) => Ok(Value::Null),
            Err(e) => Err(e),
        },
    }
}

/// Mastodon's Admin::Report entity. A report received from another instance has no
/// reporter (`account: null`: the sender keeps its reporter anonymous) and names its
/// `origin_domain`. The reported statuses are those the moderator may see through the read
/// gate.
async fn admin_report_json(
    state: &ApiState,
    auth: &Authenticated,
    report: &ReportRecord,
) -> ApiResult<Value> {
    let statuses = visible_statuses(state, &auth.viewer(), &report.status_ids).await?;
    Ok(json!({
        "id": report.id.to_string(),
        "action_taken": report.action_taken_at.is_some(),
        "action_taken_at": report.action_taken_at.map(datetime),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": datetime(report.created_at),
        "updated_at": datetime(report.updated_at),
        "account": optional_admin_account(state, report.reporter).await?,
        "target_account": admin_account_json(state, report.target).await?,
        "assigned_account": optional_admin_account(state, report.assigned).await?,
        "action_taken_by_account": optional_admin_account(state, report.action_taken_by).await?,
        "statuses": statuses,
        "rules": report.rule_ids.iter().map(|r| json!({"id": r, "text": ""})).collect::<Vec<_>>(),
        "priority": report.priority,
        "origin_domain": report.origin_domain.as_ref().map(Domain::as_str),
        "forwarded_comment": if report.forwarded { report.forward_comment.clone() } else { None },
        "comment_phi_reason": report.comment_phi_reason,
        "resolution_note": report.resolution_note,
        "remote_resolution": crate::routes::reports::remote_resolution_json(report),
    }))
}

/// `GET /api/v1/admin/reports`: `resolved` (default: open ones only; with `unresolved` too,
/// all), `account_id` (the reporter), `target_account_id`, and the usual page parameters;
/// Cohort's `order=priority` puts the most urgent first (`self_harm`, then
/// `patient_privacy`...), as one page.
pub async fn reports(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<(HeaderMap, Json<Value>)> {
    moderator(&auth, "admin:read:reports")?;
    // Mastodon 4.6: `resolved` and `unresolved` both true lists every report.
    let resolved = params.bool("resolved")?.unwrap_or(false);
    let unresolved = params.bool("unresolved")?.unwrap_or(false);
    let filter = ReportFilter {
        resolved: if resolved && unresolved {
            None
        } else {
            Some(resolved)
        },
        reporter: optional_id(&params, "account_id")?,
        target: optional_id(&params, "target_account_id")?,
        max_id: cursor(&params, "max_id")?,
        since_id: cursor(&params, "since_id")?.or(cursor(&params, "min_id")?),
        limit: params.int("limit")?.unwrap_or(100).clamp(1, 200),
        by_priority: match params.string("order").as_deref() {
            None | Some("" | "newest") => false,
            Some("priority") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "order {other:?} is not newest or priority"
                )));
            }
        },
    };
    let mut items = Vec::new();
    for report in state.store.reports(&filter).await? {
        items.push(admin_report_json(&state, &auth, &report).await?);
    }
    // Pages follow ids; a queue sorted by priority is one page (no Link header).
    let headers = if filter.by_priority {
        HeaderMap::new()
    } else {
        link_header(&state, "/api/v1/admin/reports", "", &items)
    };
    Ok((headers, Json(Value::Array(items))))
}

/// `GET /api/v1/admin/reports/:id`.
pub async fn report(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:reports")?;
    let report = state.store.report(parse_id(&id)?).await?;
    Ok(Json(admin_report_json(&state, &auth, &report).await?))
}

async fn report_write(
    state: &ApiState,
    auth: &Authenticated,
    id: &str,
    write: ReportWrite,
    params: &Params,
) -> ApiResult<Json<Value>> {
    moderator(auth, "admin:write:reports")?;
    let id = parse_id(id)?;
    match write {
        ReportWrite::Assign(who) => state.store.assign_report(id, auth.account.id, who).await?,
        ReportWrite::Resolve(true) => {
            // Known before the note is screened, so a missing report is a 404 either way.
            state.store.report(id).await?;
            let note = outcome(state, auth, params, AccountAction::None).await?;
            state
                .store
                .set_report_resolved(id, auth.account.id, true, Some(&note))
                .await?;
        }
        ReportWrite::Resolve(false) => {
            state
                .store
                .set_report_resolved(id, auth.account.id, false, None)
                .await?;
        }
    }
    let report = state.store.report(id).await?;
    Ok(Json(admin_report_json(state, auth, &report).await?))
}

enum ReportWrite {
    Assign(Option<Id>),
    Resolve(bool),
}

/// `POST /api/v1/admin/reports/:id/assign_to_self`.
pub async fn assign_to_self(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    let me = auth.account.id;
    report_write(&state, &auth, &id, ReportWrite::Assign(Some(me)), &params).await
}

/// `POST /api/v1/admin/reports/:id/unassign`.
pub async fn unassign(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    report_write(&state, &auth, &id, ReportWrite::Assign(None), &params).await
}

/// `POST /api/v1/admin/cohort/reports/:id/forward` (Cohort's): a moderator forwards a
/// report its reporter did not forward, to the reported remote account's instance, as a
/// `Flag` from the instance actor. The comment passes the PHI guard first (redacted where it
/// names a patient). `422` for a local account, a report received from another instance, or
/// one forwarded already.
pub async fn forward(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:reports")?;
    let report = state.store.report(parse_id(&id)?).await?;
    if report.origin_domain.is_some() {
        return Err(invalid("this report came from another instance"));
    }
    if report.forwarded {
        return Err(invalid("this report was forwarded already"));
    }
    let target = state.store.account_by_id(report.target).await?;
    if target.domain.is_none() {
        return Err(invalid("the reported account is on this instance"));
    }
    let (text, reason) =
        crate::routes::reports::screened_for_forwarding(&state, &report.comment, &auth).await?;
    match state
        .store
        .forward_report(report.id, auth.account.id, &text, reason.as_deref())
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(invalid("this report was forwarded already"));
        }
        Err(e) => return Err(e.into()),
    }
    let report = state.store.report(report.id).await?;
    Ok(Json(admin_report_json(&state, &auth, &report).await?))
}

/// `POST /api/v1/admin/reports/:id/resolve`, with Cohort's optional `resolution_note` (the
/// outcome told to the reporter, or sent back to the instance the report came from).
pub async fn resolve(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    report_write(&state, &auth, &id, ReportWrite::Resolve(true), &params).await
}

/// `POST /api/v1/admin/reports/:id/reopen`.
pub async fn reopen(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    report_write(&state, &auth, &id, ReportWrite::Resolve(false), &params).await
}

// ---------------------------------------------------------------------------------------
// Domain blocks and allows
// ---------------------------------------------------------------------------------------

/// Mastodon's Admin::DomainBlock. Cohort keys domain policies by domain, so the domain is
/// also the `id`.
fn domain_block_json(b: &DomainBlockRecord) -> Value {
    json!({
        "id": b.domain.as_str(),
        "domain": b.domain.as_str(),
        "digest": sha256_hex(b.domain.as_str()),
        "created_at": datetime(b.created_at),
        "severity": b.severity,
        "reject_media": b.reject_media,
        "reject_reports": b.reject_reports,
        "private_comment": b.private_comment,
        "public_comment": b.public_comment,
        "obfuscate": b.obfuscate,
    })
}

fn domain_allow_json(b: &DomainBlockRecord) -> Value {
    json!({
        "id": b.domain.as_str(),
        "domain": b.domain.as_str(),
        "created_at": datetime(b.created_at),
    })
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_domain(raw: &str) -> ApiResult<Domain> {
    Domain::parse(raw.trim()).map_err(|e| invalid(format!("domain: {e}")))
}

/// A domain named in a path: unknown or malformed is a 404.
fn path_domain(raw: &str) -> ApiResult<Domain> {
    Domain::parse(raw).map_err(|_| ApiError::NotFound)
}

/// The block's fields from the request, over `base` (the current block when updating).
fn block_write(params: &Params, base: Option<&DomainBlockRecord>) -> ApiResult<DomainBlockWrite> {
    let severity = match params.string("severity").filter(|s| !s.is_empty()) {
        Some(s) => s.parse::<Severity>().map_err(invalid)?.as_str().to_owned(),
        None => base.map_or_else(|| "silence".to_owned(), |b| b.severity.clone()),
    };
    let text = |key: &str, old: Option<&String>| -> ApiResult<String> {
        let value = params
            .string(key)
            .or_else(|| old.cloned())
            .unwrap_or_default();
        if value.chars().count() > 1000 {
            return Err(invalid(format!(
                "{key} is too long (at most 1000 characters)"
            )));
        }
        Ok(value)
    };
    Ok(DomainBlockWrite {
        reject_media: params
            .bool("reject_media")?
            .unwrap_or(base.is_some_and(|b| b.reject_media)),
        reject_reports: params
            .bool("reject_reports")?
            .unwrap_or(base.is_some_and(|b| b.reject_reports)),
        obfuscate: params
            .bool("obfuscate")?
            .unwrap_or(base.is_some_and(|b| b.obfuscate)),
        private_comment: text("private_comment", base.map(|b| &b.private_comment))?,
        public_comment: text("public_comment", base.map(|b| &b.public_comment))?,
        severity,
    })
}

/// `GET /api/v1/admin/domain_blocks`.
pub async fn domain_blocks(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:domain_blocks")?;
    let blocks = state.store.domain_policies("block").await?;
    Ok(Json(Value::Array(
        blocks.iter().map(domain_block_json).collect(),
    )))
}

/// `GET /api/v1/admin/domain_blocks/:id`.
pub async fn domain_block(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:domain_blocks")?;
    let block = state
        .store
        .domain_policy(&path_domain(&id)?, "block")
        .await?;
    Ok(Json(domain_block_json(&block)))
}

/// `POST /api/v1/admin/domain_blocks`: `domain`, `severity` (silence, suspend, noop),
/// `reject_media`, `reject_reports`, `private_comment`, `public_comment`, `obfuscate`.
/// A domain already blocked is `422` (update it with `PUT`).
pub async fn create_domain_block(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_blocks")?;
    let raw = params
        .string("domain")
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| invalid("domain is missing"))?;
    let domain = parse_domain(&raw)?;
    if domain == state.settings.domain {
        return Err(invalid("this instance cannot block itself"));
    }
    match state.store.domain_policy(&domain, "block").await {
        Ok(_) => return Err(invalid("this domain is already blocked")),
        Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let write = block_write(&params, None)?;
    state
        .store
        .put_domain_block(auth.account.id, &domain, &write, "block_domain")
        .await?;
    let block = state.store.domain_policy(&domain, "block").await?;
    Ok(Json(domain_block_json(&block)))
}

/// `PUT /api/v1/admin/domain_blocks/:id`: changes the given fields.
pub async fn update_domain_block(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_blocks")?;
    let domain = path_domain(&id)?;
    let current = state.store.domain_policy(&domain, "block").await?;
    let write = block_write(&params, Some(&current))?;
    state
        .store
        .put_domain_block(auth.account.id, &domain, &write, "update_domain_block")
        .await?;
    let block = state.store.domain_policy(&domain, "block").await?;
    Ok(Json(domain_block_json(&block)))
}

/// `DELETE /api/v1/admin/domain_blocks/:id`.
pub async fn delete_domain_block(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_blocks")?;
    let domain = path_domain(&id)?;
    state
        .store
        .remove_domain_policy(auth.account.id, &domain, "block")
        .await?;
    Ok(Json(json!({})))
}

/// `GET /api/v1/admin/domain_allows`.
pub async fn domain_allows(
    State(state): State<ApiState>,
    auth: Authenticated,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:domain_allows")?;
    let allows = state.store.domain_policies("allow").await?;
    Ok(Json(Value::Array(
        allows.iter().map(domain_allow_json).collect(),
    )))
}

/// `GET /api/v1/admin/domain_allows/:id`.
pub async fn domain_allow(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read:domain_allows")?;
    let allow = state
        .store
        .domain_policy(&path_domain(&id)?, "allow")
        .await?;
    Ok(Json(domain_allow_json(&allow)))
}

/// `POST /api/v1/admin/domain_allows`: `domain`. Allows matter in allowlist mode
/// (docs/CONFIGURATION.md); a blocked domain cannot be allowed (`422`).
pub async fn create_domain_allow(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_allows")?;
    let raw = params
        .string("domain")
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| invalid("domain is missing"))?;
    let domain = parse_domain(&raw)?;
    match state.store.put_domain_allow(auth.account.id, &domain).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(invalid("this domain is blocked; remove the block first"));
        }
        Err(e) => return Err(e.into()),
    }
    let allow = state.store.domain_policy(&domain, "allow").await?;
    Ok(Json(domain_allow_json(&allow)))
}

/// `DELETE /api/v1/admin/domain_allows/:id`.
pub async fn delete_domain_allow(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:write:domain_allows")?;
    let domain = path_domain(&id)?;
    state
        .store
        .remove_domain_policy(auth.account.id, &domain, "allow")
        .await?;
    Ok(Json(json!({})))
}

// ---------------------------------------------------------------------------------------
// Mod log
// ---------------------------------------------------------------------------------------

/// `GET /api/v1/admin/cohort/mod_log?limit=`: the newest moderator actions (Cohort's; scope
/// `admin:read`).
pub async fn mod_log(
    State(state): State<ApiState>,
    auth: Authenticated,
    params: Params,
) -> ApiResult<Json<Value>> {
    moderator(&auth, "admin:read")?;
    let limit = params.int("limit")?.unwrap_or(40).clamp(1, 200);
    let entries = state.store.mod_log(limit).await?;
    Ok(Json(Value::Array(
        entries
            .iter()
            .map(|e| {
                json!({
                    "id": e.id.to_string(),
                    "moderator_id": e.moderator.map(|m| m.to_string()),
                    "action": e.action,
                    "target_kind": e.target_kind,
                    "target_id": e.target_id,
                    "reason": e.reason,
                    "created_at": datetime(e.created_at),
                })
            })
            .collect(),
    )))
}
