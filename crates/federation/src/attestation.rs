//! Clinician attestations between instances (issue 10).
//!
//! A verified local clinician's actor carries the claim as a `PropertyValue` attachment
//! ("Verified clinician": profession, institution) and a `clinicianAttestation` link to
//! `/users/NAME/attestation`, a small document served by the clinician's own instance and
//! signed by its instance actor: a detached RSA PKCS#1 v1.5 SHA-256 signature over the
//! canonical bytes of the claims (a JSON array of strings in a fixed order, so neither side
//! needs a JSON canonicalisation scheme), with the instance actor's `keyId`.
//!
//! A receiving instance shows "verified by DOMAIN" only after [`FederationState::check_attestation`]
//! has fetched the document from the actor's own origin, checked its subject, issuer and
//! expiry, and verified the signature with that domain's instance actor key. A revocation
//! reaches it as an actor `Update` without the link (rechecked at once); an expiry needs no
//! message, since the badge is computed from `expires_at` at every read. The licence number is
//! never part of an attestation.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cohort_model::{Domain, Id};
use cohort_store::{
    ClinicianVerification, LocalActorProfile, RemoteAttestation, Store, StoreError, now_ms,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::delivery::Signer;
use crate::http::fetch::FetchError;
use crate::http::signature::verify_rsa_sha256;
use crate::http::{FederationState, Refusal, domain_of, instance_key_id};
use crate::inbox::activity::Object;
use crate::render::{self, AS_CONTEXT};
use crate::urls::LocalUrls;

/// The `type` of an attestation document.
pub const ATTESTATION_TYPE: &str = "ClinicianAttestation";
/// The first element of the signed array: names the format and its version.
const CANONICAL_TAG: &str = "cohort-clinician-attestation/1";
/// Cohort's JSON-LD namespace for the terms ActivityStreams lacks.
pub const COHORT_NAMESPACE: &str = "https://cohort.example/ns#";
/// A checked attestation seen again within this time is not refetched (an actor `Update`
/// always rechecks).
const RECHECK_AFTER_MS: i64 = 60 * 60 * 1000;
/// Tolerated clock difference for `issued` in the future.
const CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;

/// The signed claims of an attestation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationClaims {
    /// The document's id (its URL).
    pub id: String,
    /// The clinician's actor id.
    pub subject: String,
    /// The instance actor that signs.
    pub issuer: String,
    /// Profession.
    pub profession: String,
    /// Specialty (empty when none).
    pub specialty: String,
    /// Institution.
    pub institution: String,
    /// Jurisdiction of the licence.
    pub jurisdiction: String,
    /// When verified, RFC 3339.
    pub issued: String,
    /// When it lapses, RFC 3339.
    pub expires: String,
}

/// Why an attestation is not accepted. None of these shows a badge.
#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    /// The store failed (transient).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The document could not be fetched.
    #[error("cannot fetch the attestation: {0}")]
    Fetch(#[from] FetchError),
    /// The link or the document is on another origin than the actor.
    #[error("the attestation is not served by the actor's own instance")]
    ForeignOrigin,
    /// This instance does not trust that domain's verifications.
    #[error("verifications by {0} are not trusted here")]
    Untrusted(Domain),
    /// The document is not an attestation.
    #[error("not an attestation: {0}")]
    Malformed(String),
    /// It attests someone else, or is issued by another instance's actor.
    #[error("the attestation names another subject or issuer")]
    WrongSubject,
    /// The signature does not verify with the instance actor's key.
    #[error("the attestation's signature does not verify")]
    BadSignature,
    /// It has expired (or its times are unusable).
    #[error("the attestation has expired")]
    Expired,
}

impl AttestationClaims {
    /// The bytes signed: a JSON array of strings in a fixed order.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let fields = [
            CANONICAL_TAG,
            &self.id,
            &self.subject,
            &self.issuer,
            &self.profession,
            &self.specialty,
            &self.institution,
            &self.jurisdiction,
            &self.issued,
            &self.expires,
        ];
        serde_json::to_vec(&fields).unwrap_or_default()
    }

    /// The claims of a local verification.
    pub fn of_verification(
        urls: &LocalUrls,
        actor_uri: &str,
        verification: &ClinicianVerification,
    ) -> AttestationClaims {
        AttestationClaims {
            id: attestation_url(actor_uri),
            subject: actor_uri.to_owned(),
            issuer: urls.instance_actor(),
            profession: verification.profession.clone(),
            specialty: verification.specialty.clone().unwrap_or_default(),
            institution: verification.institution.clone(),
            jurisdiction: verification.jurisdiction.clone(),
            issued: render::timestamp(verification.verified_at),
            expires: render::timestamp(verification.expires_at),
        }
    }

    /// The document served, with its detached signature.
    pub fn to_document(&self, key_id: &str, signature: &[u8]) -> Value {
        json!({
            "@context": [AS_CONTEXT, {"cohort": COHORT_NAMESPACE}],
            "id": self.id,
            "type": ATTESTATION_TYPE,
            "subject": self.subject,
            "issuer": self.issuer,
            "profession": self.profession,
            "specialty": self.specialty,
            "institution": self.institution,
            "jurisdiction": self.jurisdiction,
            "issued": self.issued,
            "expires": self.expires,
            "signature": {
                "type": "RsaSignature2017Detached",
                "keyId": key_id,
                "signatureValue": BASE64.encode(signature),
            }
        })
    }

    /// Reads the claims and the signature (`keyId`, bytes) of a document.
    pub fn from_document(
        document: &Value,
    ) -> Result<(AttestationClaims, String, Vec<u8>), AttestationError> {
        let text = |key: &str| -> Result<String, AttestationError> {
            document
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| AttestationError::Malformed(format!("no {key}")))
        };
        if document.get("type").and_then(Value::as_str) != Some(ATTESTATION_TYPE) {
            return Err(AttestationError::Malformed("wrong type".into()));
        }
        let claims = AttestationClaims {
            id: text("id")?,
            subject: text("subject")?,
            issuer: text("issuer")?,
            profession: text("profession")?,
            specialty: document
                .get("specialty")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            institution: text("institution")?,
            jurisdiction: text("jurisdiction")?,
            issued: text("issued")?,
            expires: text("expires")?,
        };
        let signature = document
            .get("signature")
            .ok_or_else(|| AttestationError::Malformed("no signature".into()))?;
        let key_id = signature
            .get("keyId")
            .and_then(Value::as_str)
            .ok_or_else(|| AttestationError::Malformed("no keyId".into()))?
            .to_owned();
        let bytes = signature
            .get("signatureValue")
            .and_then(Value::as_str)
            .and_then(|s| BASE64.decode(s).ok())
            .ok_or_else(|| AttestationError::Malformed("no signatureValue".into()))?;
        Ok((claims, key_id, bytes))
    }
}

/// Where a local actor's attestation is served.
pub fn attestation_url(actor_uri: &str) -> String {
    format!("{actor_uri}/attestation")
}

fn parse_ms(rfc3339: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(rfc3339, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// Checks claims against what the receiving side knows: the actor the document was linked
/// from, the domain it came from, the signer's key, and the time. Pure, so every refusal has
/// a unit test.
pub fn check_claims(
    claims: &AttestationClaims,
    key_id: &str,
    signature: &[u8],
    actor_id: &str,
    signer_public_key_pem: &str,
    now: i64,
) -> Result<(i64, i64), AttestationError> {
    let origin = domain_of(actor_id).ok_or(AttestationError::WrongSubject)?;
    if domain_of(&claims.id).as_ref() != Some(&origin)
        || domain_of(key_id).as_ref() != Some(&origin)
    {
        return Err(AttestationError::ForeignOrigin);
    }
    if claims.subject != actor_id || domain_of(&claims.issuer).as_ref() != Some(&origin) {
        return Err(AttestationError::WrongSubject);
    }
    verify_rsa_sha256(signer_public_key_pem, &claims.canonical_bytes(), signature)
        .map_err(|_| AttestationError::BadSignature)?;
    let issued = parse_ms(&claims.issued).ok_or(AttestationError::Expired)?;
    let expires = parse_ms(&claims.expires).ok_or(AttestationError::Expired)?;
    if expires <= now || issued > now + CLOCK_SKEW_MS {
        return Err(AttestationError::Expired);
    }
    Ok((issued, expires))
}

/// Adds a valid verification's claim to a local actor document: the `PropertyValue` shown
/// by Mastodon as a profile field, and the attestation link. Placed before any other
/// attachment; does nothing without a valid verification.
pub(crate) async fn add_clinician_claim(
    store: &Store,
    profile: &LocalActorProfile,
    body: &mut Value,
) -> Result<(), StoreError> {
    let Some(verification) = store.clinician_verification(profile.id).await? else {
        return Ok(());
    };
    if !verification.is_valid_at(now_ms()) {
        return Ok(());
    }
    let Value::Object(map) = body else {
        return Ok(());
    };
    let claim = json!({
        "type": "PropertyValue",
        "name": "Verified clinician",
        "value": format!("{}, {}", verification.profession, verification.institution),
    });
    match map.get_mut("attachment") {
        Some(Value::Array(list)) => list.insert(0, claim),
        _ => {
            map.insert("attachment".into(), json!([claim]));
        }
    }
    map.insert(
        "clinicianAttestation".into(),
        json!(attestation_url(&profile.actor_uri)),
    );
    Ok(())
}

/// `GET /users/{name}/attestation`: the signed attestation of the account's current
/// verification (also once expired: it says so itself, and receivers refuse it), 404 when
/// there is none.
pub(crate) async fn serve(
    State(state): State<FederationState>,
    Path(name): Path<String>,
) -> Result<Response, Refusal> {
    let not_found = || Refusal::new(StatusCode::NOT_FOUND, "no attestation");
    let Some(profile) = state.store().local_actor_profile(&name).await? else {
        return Err(not_found());
    };
    if profile.suspended {
        return Err(not_found());
    }
    let Some(verification) = state.store().clinician_verification(profile.id).await? else {
        return Err(not_found());
    };
    let claims =
        AttestationClaims::of_verification(state.urls(), &profile.actor_uri, &verification);
    let Some((_, private_pem)) = state.store().instance_actor_keys().await? else {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no instance key",
        ));
    };
    let key_id = instance_key_id(state.urls());
    let signature = Signer::from_pem(&key_id, &private_pem)
        .and_then(|signer| signer.sign(&claims.canonical_bytes()))
        .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/activity+json; charset=utf-8"),
        )],
        axum::Json(claims.to_document(&key_id, &signature)),
    )
        .into_response())
}

impl FederationState {
    /// Checks the attestation a remote actor document links to and records it, or forgets
    /// the one recorded when the link is gone or anything fails. Without `force`, an
    /// attestation checked within the hour from the same link is kept as it is.
    pub async fn check_attestation(
        &self,
        account: Id,
        actor: &Object,
        force: bool,
    ) -> Result<Option<RemoteAttestation>, AttestationError> {
        let result = self.check_attestation_inner(account, actor, force).await;
        match &result {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                if self.store().forget_remote_attestation(account).await? {
                    tracing::info!(%account, "a remote clinician attestation was withdrawn or failed its check");
                }
            }
        }
        if let Err(e) = &result {
            tracing::warn!(%account, error = %e, "clinician attestation refused");
        }
        result
    }

    async fn check_attestation_inner(
        &self,
        account: Id,
        actor: &Object,
        force: bool,
    ) -> Result<Option<RemoteAttestation>, AttestationError> {
        let Some(link) = actor.clinician_attestation.as_deref() else {
            return Ok(None);
        };
        let actor_id = actor.id.as_deref().ok_or(AttestationError::WrongSubject)?;
        let origin = domain_of(actor_id).ok_or(AttestationError::WrongSubject)?;
        if domain_of(link).as_ref() != Some(&origin) {
            return Err(AttestationError::ForeignOrigin);
        }
        if let Some(trusted) = &self.config().trusted_verifiers
            && !trusted.contains(&origin)
        {
            return Err(AttestationError::Untrusted(origin));
        }
        let now = now_ms();
        if !force
            && let Some(known) = self.store().remote_attestation(account).await?
            && known.attestation_uri == link
            && now - known.checked_at < RECHECK_AFTER_MS
            && known.expires_at > now
        {
            return Ok(Some(known));
        }
        let document = self.fetcher().fetch(link).await?;
        let (claims, key_id, signature) = AttestationClaims::from_document(&document)?;
        if claims.id != link {
            return Err(AttestationError::ForeignOrigin);
        }
        if domain_of(&key_id).as_ref() != Some(&origin) {
            return Err(AttestationError::ForeignOrigin);
        }
        let key = self
            .key_for(&key_id, false)
            .await
            .map_err(|_| AttestationError::BadSignature)?;
        if !key.is_instance || key.actor_uri != claims.issuer {
            return Err(AttestationError::WrongSubject);
        }
        let checked = match check_claims(
            &claims,
            &key_id,
            &signature,
            actor_id,
            &key.public_key_pem,
            now,
        ) {
            Err(AttestationError::BadSignature) => {
                // The instance key may have rotated: refetch it once.
                let key = self
                    .key_for(&key_id, true)
                    .await
                    .map_err(|_| AttestationError::BadSignature)?;
                check_claims(
                    &claims,
                    &key_id,
                    &signature,
                    actor_id,
                    &key.public_key_pem,
                    now,
                )
            }
            other => other,
        };
        let (issued_at, expires_at) = checked?;
        let attestation = RemoteAttestation {
            account,
            attestation_uri: link.to_owned(),
            attesting_domain: origin,
            profession: claims.profession,
            specialty: Some(claims.specialty).filter(|s| !s.is_empty()),
            institution: claims.institution,
            jurisdiction: claims.jurisdiction,
            issued_at,
            expires_at,
            checked_at: now,
        };
        self.store().save_remote_attestation(&attestation).await?;
        Ok(Some(attestation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTOR: &str = "https://beta.example/users/dana";

    fn claims(expires: &str) -> AttestationClaims {
        AttestationClaims {
            id: format!("{ACTOR}/attestation"),
            subject: ACTOR.into(),
            issuer: "https://beta.example/actor".into(),
            profession: "Physician".into(),
            specialty: "Cardiology".into(),
            institution: "Beta General".into(),
            jurisdiction: "US-CA".into(),
            issued: "2026-01-01T00:00:00Z".into(),
            expires: expires.into(),
        }
    }

    fn signed(claims: &AttestationClaims) -> (String, Vec<u8>) {
        let keys = crate::keys::generate_actor_keys().unwrap();
        let key_id = "https://beta.example/actor#main-key";
        let signer = Signer::from_pem(key_id, &keys.private_key_pem).unwrap();
        (
            keys.public_key_pem,
            signer.sign(&claims.canonical_bytes()).unwrap(),
        )
    }

    const KEY_ID: &str = "https://beta.example/actor#main-key";
    const NOW: i64 = 1_780_000_000_000; // 2026-05-28

    #[test]
    fn a_signed_attestation_round_trips_through_its_document_and_checks() {
        let c = claims("2027-01-01T00:00:00Z");
        let (public, signature) = signed(&c);
        let (read, key_id, bytes) =
            AttestationClaims::from_document(&c.to_document(KEY_ID, &signature)).unwrap();
        assert_eq!(read, c);
        assert!(check_claims(&read, &key_id, &bytes, ACTOR, &public, NOW).is_ok());
    }

    #[test]
    fn a_tampered_attestation_fails_its_signature() {
        let c = claims("2027-01-01T00:00:00Z");
        let (public, signature) = signed(&c);
        let mut forged = c.clone();
        forged.profession = "Surgeon".into();
        assert!(matches!(
            check_claims(&forged, KEY_ID, &signature, ACTOR, &public, NOW),
            Err(AttestationError::BadSignature)
        ));
    }

    #[test]
    fn an_expired_attestation_is_refused() {
        let c = claims("2026-02-01T00:00:00Z");
        let (public, signature) = signed(&c);
        assert!(matches!(
            check_claims(&c, KEY_ID, &signature, ACTOR, &public, NOW),
            Err(AttestationError::Expired)
        ));
    }

    #[test]
    fn an_attestation_for_another_subject_or_from_another_origin_is_refused() {
        let c = claims("2027-01-01T00:00:00Z");
        let (public, signature) = signed(&c);
        assert!(matches!(
            check_claims(
                &c,
                KEY_ID,
                &signature,
                "https://beta.example/users/eve",
                &public,
                NOW
            ),
            Err(AttestationError::WrongSubject)
        ));
        assert!(matches!(
            check_claims(
                &c,
                "https://evil.example/actor#main-key",
                &signature,
                ACTOR,
                &public,
                NOW
            ),
            Err(AttestationError::ForeignOrigin)
        ));
        assert!(matches!(
            check_claims(
                &c,
                KEY_ID,
                &signature,
                "https://evil.example/users/dana",
                &public,
                NOW
            ),
            Err(AttestationError::ForeignOrigin)
        ));
    }
}
