//! The impersonation guard (issue 10): an account that is not a verified clinician but whose
//! display name or bio claims a clinical title is reported to the moderators automatically,
//! once per claimed title, with the `clinician_impersonation` category. Its Account JSON
//! carries no badge (badges come only from verifications), so nothing else changes for it.

use std::sync::LazyLock;

use cohort_moderation::Category;
use cohort_screening::titles::TitleScreen;
use cohort_store::{AccountRecord, now_ms};

use crate::error::ApiResult;
use crate::state::ApiState;

static TITLES: LazyLock<Option<TitleScreen>> = LazyLock::new(|| match TitleScreen::new() {
    Ok(screen) => Some(screen),
    Err(e) => {
        tracing::error!(error = %e, "the clinical-title screen could not be built");
        None
    }
});

/// Files one automatic report per clinical title that `account` claims in `display_name`
/// or `note` without a valid verification, unless that title was reported before. Returns
/// the titles newly reported.
pub async fn flag_title_claims(
    state: &ApiState,
    account: &AccountRecord,
    display_name: &str,
    note: &str,
) -> ApiResult<Vec<String>> {
    let Some(screen) = TITLES.as_ref() else {
        return Ok(Vec::new());
    };
    let claims = screen.claims(display_name, note);
    if claims.is_empty()
        || account.is_group
        || state
            .store
            .is_verified_clinician(account.id, now_ms())
            .await?
    {
        return Ok(Vec::new());
    }
    let mut reported = Vec::new();
    for claim in claims {
        if state.store.title_flagged(account.id, &claim.title).await? {
            continue;
        }
        let report = state
            .store
            .create_report(&cohort_moderation::automatic_report(
                Category::ClinicianImpersonation,
                account.id,
                Vec::new(),
                format!(
                    "Automatic: the profile claims the clinical title \"{}\" but the account is not a verified clinician.",
                    claim.matched
                ),
            ))
            .await?;
        if state
            .store
            .record_title_flag(account.id, &claim.title, Some(report))
            .await?
        {
            reported.push(claim.title);
        }
    }
    Ok(reported)
}
