//! Verified clinicians (issue 10): the admin API that verifies and revokes a local
//! clinician (`/api/v1/admin/cohort/clinicians/:account_id/verification`).
//!
//! Only admins verify (the `admin` role plus an `admin:write` scope; moderators handle
//! reports but do not vouch for licences). The licence number is written once and never
//! rendered: the response says only whether one is on file. Verifying or revoking takes
//! effect at once here (the badge is computed at each read) and reaches other instances by an
//! actor `Update` the store enqueues in the same transaction.

use axum::Json;
use axum::extract::{Path, State};
use cohort_model::Role;
use cohort_store::{ClinicianVerification, NewVerification, StoreError};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use crate::auth::Authenticated;
use crate::entities::datetime;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::routes::shared::{account_json, parse_id};
use crate::state::ApiState;

/// Longest text accepted in a verification field.
const MAX_FIELD_CHARS: usize = 200;

/// 403 unless the token covers `scope` and the account is an admin.
fn admin(auth: &Authenticated, scope: &str) -> ApiResult<()> {
    auth.require(scope)?;
    if auth.account.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "Only administrators verify clinicians".into(),
        ));
    }
    Ok(())
}

fn invalid(why: impl std::fmt::Display) -> ApiError {
    ApiError::Unprocessable(format!("Validation failed: {why}"))
}

fn required(params: &Params, key: &str) -> ApiResult<String> {
    let value = params
        .string(key)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid(format!("{key} can't be blank")))?;
    if value.chars().count() > MAX_FIELD_CHARS {
        return Err(invalid(format!(
            "{key} is too long (maximum is {MAX_FIELD_CHARS} characters)"
        )));
    }
    Ok(value)
}

/// `expires_at`: RFC 3339 or a plain date (`2027-06-30`, the end of that day UTC).
fn parse_expiry(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let at = OffsetDateTime::parse(raw, &Rfc3339).ok().or_else(|| {
        let date = Date::parse(raw, format_description!("[year]-[month]-[day]")).ok()?;
        let end = Time::from_hms(23, 59, 59).ok()?;
        Some(PrimitiveDateTime::new(date, end).assume_utc())
    })?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The admin's view of a verification: everything but the licence number.
fn verification_json(v: &ClinicianVerification, now: i64) -> Value {
    json!({
        "account_id": v.account.to_string(),
        "profession": v.profession,
        "specialty": v.specialty,
        "institution": v.institution,
        "jurisdiction": v.jurisdiction,
        "license_number_on_file": !v.license_number.is_empty(),
        "verified_by": v.verified_by.map(|id| id.to_string()),
        "verified_at": datetime(v.verified_at),
        "expires_at": datetime(v.expires_at),
        "valid": v.is_valid_at(now),
    })
}

/// `POST /api/v1/admin/cohort/clinicians/:account_id/verification`: verifies (or
/// re-verifies) a local account as a clinician. Parameters: `profession`, `institution`,
/// `license_number`, `jurisdiction`, `expires_at` (required), `specialty`.
pub async fn verify(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    admin(&auth, "admin:write:accounts")?;
    let account = parse_id(&id)?;
    let record = state.store.account_by_id(account).await?;
    if record.domain.is_some() {
        return Err(invalid(
            "only local accounts are verified here; a remote clinician is verified by their own instance",
        ));
    }
    if record.is_group {
        return Err(invalid("a community cannot be a clinician"));
    }
    let profession = required(&params, "profession")?;
    let institution = required(&params, "institution")?;
    let license_number = required(&params, "license_number")?;
    let jurisdiction = required(&params, "jurisdiction")?;
    let specialty = match params.string("specialty").map(|s| s.trim().to_owned()) {
        Some(s) if s.chars().count() > MAX_FIELD_CHARS => {
            return Err(invalid(format!(
                "specialty is too long (maximum is {MAX_FIELD_CHARS} characters)"
            )));
        }
        Some(s) if !s.is_empty() => Some(s),
        _ => None,
    };
    let raw_expiry = required(&params, "expires_at")?;
    let expires_at = parse_expiry(&raw_expiry)
        .ok_or_else(|| invalid("expires_at must be a date (YYYY-MM-DD) or an RFC 3339 time"))?;
    let now = cohort_store::now_ms();
    if expires_at <= now {
        return Err(invalid("expires_at must be in the future"));
    }
    let verification = state
        .store
        .verify_clinician(&NewVerification {
            account,
            profession,
            specialty,
            institution,
            license_number,
            jurisdiction,
            verified_by: auth.account.id,
            expires_at,
        })
        .await?;
    let mut body = verification_json(&verification, now);
    body["account"] = account_json(&state, account).await?;
    Ok(Json(body))
}

/// `GET /api/v1/admin/cohort/clinicians/:account_id/verification`: the current
/// verification (also when expired, with `valid: false`); 404 when there is none.
pub async fn show(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    admin(&auth, "admin:read:accounts")?;
    let account = parse_id(&id)?;
    let verification = state
        .store
        .clinician_verification(account)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(verification_json(
        &verification,
        cohort_store::now_ms(),
    )))
}

/// `DELETE /api/v1/admin/cohort/clinicians/:account_id/verification`: revokes at once.
pub async fn revoke(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    admin(&auth, "admin:write:accounts")?;
    let account = parse_id(&id)?;
    match state
        .store
        .revoke_clinician_verification(account, auth.account.id)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    }
    Ok(Json(account_json(&state, account).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_accepts_a_date_or_an_rfc3339_time() {
        assert_eq!(parse_expiry("2030-01-01"), Some(1_893_542_399_000));
        assert_eq!(
            parse_expiry("2030-01-01T00:00:00Z"),
            Some(1_893_456_000_000)
        );
        assert_eq!(parse_expiry("next year"), None);
    }
}
