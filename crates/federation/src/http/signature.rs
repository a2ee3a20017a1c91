//! Verifying draft-cavage HTTP Signatures (the form every fediverse server sends), for the
//! inbox and for signed GETs (authorized fetch). Written for axum: `activitypub_federation`
//! verifies signed GETs only for actix.
//!
//! What is checked, in order: the header parses; the covered headers include
//! `(request-target)` and `host`, plus `date` (or `(created)`), plus `digest` for a body;
//! `Date` is within the window (12 hours old at most, as Mastodon allows for queued
//! retries; at most 1 hour ahead, for clock skew); `(expires)` has not passed; and finally
//! the RSA PKCS#1 v1.5 SHA-256 signature over the signing string rebuilt from *this*
//! request. `Digest: SHA-256=` is checked against the body by [`digest_matches`].
//! RFC 9421 signatures (`Signature-Input`) are not verified here: the caller answers 401,
//! which makes double-knocking peers fall back to draft-cavage.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use axum::http::{HeaderMap, Method};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// How old a `Date` may be.
pub const MAX_AGE: Duration = Duration::from_secs(12 * 3600);
/// How far in the future a `Date` may be (clock skew).
pub const MAX_SKEW: Duration = Duration::from_secs(3600);

/// Why a request's signature was refused (all answered 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Signature` (or `Authorization: Signature`) header.
    #[error("missing signature")]
    Missing,
    /// Only an RFC 9421 signature, which this server does not verify.
    #[error("RFC 9421 signatures are not supported; sign with draft-cavage")]
    Rfc9421,
    /// The header does not parse.
    #[error("malformed signature header: {0}")]
    Malformed(String),
    /// A header the signature must cover is not covered, or a covered header is absent.
    #[error("signature does not cover {0}")]
    Uncovered(String),
    /// `Date` (or `(created)`) outside the window, or `(expires)` passed.
    #[error("signature date outside the accepted window")]
    Expired,
    /// The algorithm is not RSA-SHA256.
    #[error("unsupported algorithm {0}")]
    Algorithm(String),
    /// The `Digest` does not match the body.
    #[error("digest mismatch")]
    Digest,
    /// The key could not be read.
    #[error("unusable public key")]
    Key,
    /// The signature does not verify.
    #[error("signature does not verify")]
    Invalid,
}

/// A parsed `Signature` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedSignature {
    /// `keyId`, exactly as sent.
    pub key_id: String,
    /// `algorithm`, if sent.
    pub algorithm: Option<String>,
    /// Covered headers, lowercased, in order.
    pub headers: Vec<String>,
    /// The decoded signature.
    pub signature: Vec<u8>,
    /// `created`, if sent.
    pub created: Option<i64>,
    /// `expires`, if sent.
    pub expires: Option<i64>,
}

/// Parses `keyId="...",algorithm="...",headers="...",signature="..."` (quoted strings or
/// bare numbers, whitespace around commas tolerated).
pub fn parse_signature_header(value: &str) -> Result<ParsedSignature, SignatureError> {
    let value = value.trim();
    let value = value
        .strip_prefix("Signature ")
        .or_else(|| value.strip_prefix("signature "))
        .unwrap_or(value);
    let mut params: HashMap<String, String> = HashMap::new();
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| SignatureError::Malformed("parameter without '='".into()))?;
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (val, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| SignatureError::Malformed("unterminated quote".into()))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        if params.insert(name.clone(), val.to_owned()).is_some() {
            return Err(SignatureError::Malformed(format!("repeated {name}")));
        }
        rest = after.trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start();
        } else if !rest.is_empty() {
            return Err(SignatureError::Malformed("expected ','".into()));
        }
    }
    let key_id = params
        .remove("keyid")
        .ok_or_else(|| SignatureError::Malformed("no keyId".into()))?;
    let signature = params
        .remove("signature")
        .ok_or_else(|| SignatureError::Malformed("no signature".into()))?;
    let signature = BASE64
        .decode(signature.as_bytes())
        .map_err(|_| SignatureError::Malformed("signature is not base64".into()))?;
    let headers = params
        .remove("headers")
        .unwrap_or_else(|| "date".to_owned())
        .split_ascii_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let number = |v: Option<String>| -> Result<Option<i64>, SignatureError> {
        v.map(|n| {
            n.parse::<i64>()
                .map_err(|_| SignatureError::Malformed("created/expires not a number".into()))
        })
        .transpose()
    };
    Ok(ParsedSignature {
        key_id,
        algorithm: params.remove("algorithm"),
        headers,
        signature,
        created: number(params.remove("created"))?,
        expires: number(params.remove("expires"))?,
    })
}

/// The signature header of a request, if any.
pub fn signature_header(headers: &HeaderMap) -> Result<ParsedSignature, SignatureError> {
    if let Some(v) = headers.get("signature") {
        let text = v
            .to_str()
            .map_err(|_| SignatureError::Malformed("not ASCII".into()))?;
        if headers.contains_key("signature-input") {
            return Err(SignatureError::Rfc9421);
        }
        return parse_signature_header(text);
    }
    if let Some(v) = headers.get("authorization")
        && let Ok(text) = v.to_str()
        && text.len() > 10
        && text[..10].eq_ignore_ascii_case("signature ")
    {
        return parse_signature_header(&text[10..]);
    }
    if headers.contains_key("signature-input") {
        return Err(SignatureError::Rfc9421);
    }
    Err(SignatureError::Missing)
}

/// The keyId of a request's signature, without verifying anything (for the domain check
/// that precedes reading the body).
pub fn key_id_of(headers: &HeaderMap) -> Result<String, SignatureError> {
    signature_header(headers).map(|s| s.key_id)
}

/// Rebuilds the signing string for `sig` from this request.
pub fn signing_string(
    sig: &ParsedSignature,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(sig.headers.len());
    for name in &sig.headers {
        let line = match name.as_str() {
            "(request-target)" => format!(
                "(request-target): {} {}",
                method.as_str().to_ascii_lowercase(),
                path_and_query
            ),
            "(created)" => format!(
                "(created): {}",
                sig.created
                    .ok_or_else(|| SignatureError::Uncovered("(created)".into()))?
            ),
            "(expires)" => format!(
                "(expires): {}",
                sig.expires
                    .ok_or_else(|| SignatureError::Uncovered("(expires)".into()))?
            ),
            other => {
                let values: Vec<&str> = headers
                    .get_all(other)
                    .iter()
                    .map(|v| v.to_str().map(str::trim))
                    .collect::<Result<_, _>>()
                    .map_err(|_| SignatureError::Malformed(format!("{other} is not ASCII")))?;
                if values.is_empty() {
                    return Err(SignatureError::Uncovered(other.to_owned()));
                }
                format!("{other}: {}", values.join(", "))
            }
        };
        lines.push(line);
    }
    Ok(lines.join("\n"))
}

/// Checks what the signature must cover and its time window. `has_body` requires `digest`.
pub fn check_coverage_and_time(
    sig: &ParsedSignature,
    headers: &HeaderMap,
    has_body: bool,
    now: SystemTime,
) -> Result<(), SignatureError> {
    let covers = |h: &str| sig.headers.iter().any(|x| x == h);
    for required in ["(request-target)", "host"] {
        if !covers(required) {
            return Err(SignatureError::Uncovered(required.to_owned()));
        }
    }
    if has_body && !covers("digest") {
        return Err(SignatureError::Uncovered("digest".into()));
    }
    let now_s = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let in_window =
        |t: i64| t >= now_s - MAX_AGE.as_secs() as i64 && t <= now_s + MAX_SKEW.as_secs() as i64;
    let mut dated = false;
    if covers("date") {
        let date = headers
            .get("date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| SignatureError::Uncovered("date".into()))?;
        let when = httpdate::parse_http_date(date).map_err(|_| SignatureError::Expired)?;
        let when_s = when
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if !in_window(when_s) {
            return Err(SignatureError::Expired);
        }
        dated = true;
    }
    if covers("(created)") {
        let created = sig.created.ok_or(SignatureError::Expired)?;
        if !in_window(created) {
            return Err(SignatureError::Expired);
        }
        dated = true;
    }
    if !dated {
        return Err(SignatureError::Uncovered("date".into()));
    }
    if let Some(expires) = sig.expires
        && expires < now_s
    {
        return Err(SignatureError::Expired);
    }
    Ok(())
}

/// Whether the algorithm names RSA with SHA-256 (`rsa-sha256`, `hs2019`, or absent).
pub fn check_algorithm(sig: &ParsedSignature) -> Result<(), SignatureError> {
    match sig
        .algorithm
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("rsa-sha256") | Some("hs2019") => Ok(()),
        Some(other) => Err(SignatureError::Algorithm(other.to_owned())),
    }
}

/// DER of a PEM block.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, SignatureError> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    BASE64
        .decode(body.as_bytes())
        .map_err(|_| SignatureError::Key)
}

/// Verifies an RSA PKCS#1 v1.5 SHA-256 signature with an SPKI (or PKCS#1) PEM key of
/// 2048 bits or more.
pub fn verify_rsa_sha256(
    public_key_pem: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    verify_with(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        public_key_pem,
        message,
        signature,
    )
}

/// Like [`verify_rsa_sha256`], accepting 1024-bit keys: only for the draft's test vectors.
pub fn verify_rsa_sha256_legacy_1024(
    public_key_pem: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    verify_with(
        &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        public_key_pem,
        message,
        signature,
    )
}

fn verify_with(
    alg: &'static signature::RsaParameters,
    public_key_pem: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let der = pem_to_der(public_key_pem)?;
    UnparsedPublicKey::new(alg, der)
        .verify(message, signature)
        .map_err(|_| SignatureError::Invalid)
}

/// Whether `Digest` has a `SHA-256=` value equal to the body's digest (other algorithms
/// in the list are ignored; at least a SHA-256 one must be present and match).
pub fn digest_matches(headers: &HeaderMap, body: &[u8]) -> Result<(), SignatureError> {
    let digest = headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .ok_or(SignatureError::Digest)?;
    let ours = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
    let ours = BASE64.encode(ours.as_ref());
    let mut found = false;
    for part in digest.split(',') {
        let part = part.trim();
        if let Some((alg, value)) = part.split_once('=')
            && alg.eq_ignore_ascii_case("sha-256")
        {
            found = true;
            if value.trim() != ours {
                return Err(SignatureError::Digest);
            }
        }
    }
    if found {
        Ok(())
    } else {
        Err(SignatureError::Digest)
    }
}

/// The keyId without its `#fragment` (the document to fetch).
pub fn key_document_url(key_id: &str) -> &str {
    key_id.split_once('#').map_or(key_id, |(u, _)| u)
}
