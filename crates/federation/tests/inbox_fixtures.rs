#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Parser tests over the shared fixtures (payloads in the shapes Mastodon, Lemmy,
//! GoToSocial, Akkoma, Misskey, Fedify and PeerTube send) and signature tests with the
//! draft-cavage-12 appendix C vectors.

use std::path::PathBuf;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use cohort_federation::http::signature::{
    self, SignatureError, check_algorithm, digest_matches, parse_signature_header, signing_string,
    verify_rsa_sha256, verify_rsa_sha256_legacy_1024,
};
use cohort_federation::inbox::activity::{Object, Reference};
use cohort_federation::inbox::check_origin;
use cohort_model::Visibility;
use serde_json::Value;

fn fixtures_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: shared fixtures not found at {}", dir.display());
        None
    }
}

fn load(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn visibility_name(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "public",
        Visibility::Unlisted => "unlisted",
        Visibility::Followers => "followers",
        Visibility::Direct => "direct",
        Visibility::Community => "community",
        Visibility::Local => "local",
    }
}

#[test]
fn every_fixture_parses_with_its_expected_type_and_visibility() {
    let Some(dir) = fixtures_dir() else { return };
    let index = load(&dir.join("activitypub/INDEX.json"));
    let fixtures = index["fixtures"].as_array().unwrap();
    assert!(fixtures.len() > 150, "INDEX.json lists {}", fixtures.len());
    let mut failures = Vec::new();
    let mut visibilities_checked = 0;
    for entry in fixtures {
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let parsed = match Object::parse(&bytes) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{file}: does not parse: {e}"));
                continue;
            }
        };
        let expected_type = entry["type"].as_str().unwrap();
        if parsed.kind() != expected_type {
            failures.push(format!("{file}: type {} != {expected_type}", parsed.kind()));
        }
        let kind = entry["kind"].as_str().unwrap();
        let is_actor =
            kind.starts_with("actor") || entry["actor"].is_null() && parsed.inbox.is_some();
        if !is_actor
            && parsed.id.is_some()
            && parsed.actor.is_some()
            && let Err(e) = Object::parse_activity(&bytes)
        {
            failures.push(format!("{file}: not an activity: {e}"));
        }
        match entry["object_type"].as_str() {
            Some("(IRI)") if !matches!(parsed.first_object(), Some(Reference::Iri(_))) => {
                failures.push(format!("{file}: object is not an IRI"));
            }
            Some("(IRI)") => {}
            Some("(array)") if parsed.object.len() < 2 => {
                failures.push(format!("{file}: object is not an array"));
            }
            Some("(array)") => {}
            Some(t) => {
                let inner = parsed.first_object().and_then(Reference::object);
                if inner.map(Object::kind) != Some(t) {
                    failures.push(format!(
                        "{file}: object type {:?} != {t}",
                        inner.map(Object::kind)
                    ));
                }
            }
            None => {}
        }
        if let Some(actor) = entry["actor"].as_str()
            && parsed.actor_id() != Some(actor)
        {
            failures.push(format!("{file}: actor {:?} != {actor}", parsed.actor_id()));
        }
        if is_actor {
            if parsed.public_key.iter().all(|k| k.public_key_pem.is_none()) {
                failures.push(format!("{file}: actor without a usable publicKey"));
            }
            if parsed.inbox.is_none() {
                failures.push(format!("{file}: actor without inbox"));
            }
        }
        if let Some(expected) = entry["expected_visibility"].as_str() {
            visibilities_checked += 1;
            // Mastodon reads a Create's or Update's visibility from its object; an
            // Announce's from the Announce itself.
            let (addressed, author) = match (expected_type, parsed.first_object()) {
                ("Create" | "Update", Some(Reference::Object(o))) => (
                    o.as_ref(),
                    o.attributed_to_id().or(parsed.actor_id()).unwrap_or(""),
                ),
                _ => (
                    &parsed,
                    parsed
                        .actor_id()
                        .or(parsed.attributed_to_id())
                        .unwrap_or(""),
                ),
            };
            let got = visibility_name(addressed.visibility(author, None));
            // Akkoma's Announce puts Public only in `cc` (INDEX quirk "Public in cc, author in
            // to", basis: recall). Mastodon's rule, which this server applies, makes that an
            // unlisted boost; the index says public. The one documented disagreement.
            let expected = if file == "activitypub/akkoma/announce.json" {
                assert_eq!(got, "unlisted");
                "unlisted"
            } else {
                expected
            };
            if got != expected {
                failures.push(format!("{file}: visibility {got} != {expected}"));
            }
        }
    }
    assert!(visibilities_checked >= 70, "checked {visibilities_checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fixture_activities_pass_the_origin_checks_of_their_own_signer() {
    let Some(dir) = fixtures_dir() else { return };
    let index = load(&dir.join("activitypub/INDEX.json"));
    let mut failures = Vec::new();
    for entry in index["fixtures"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        let Some(actor) = entry["actor"].as_str() else {
            continue;
        };
        let parsed = Object::parse(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        if let Err(refusal) = check_origin(&parsed, actor, "cohort.example") {
            failures.push(format!("{file}: {}", refusal.reason));
        }
        // The same activity signed by someone else is refused.
        assert!(
            check_origin(
                &parsed,
                "https://evil.example/users/mallory",
                "cohort.example"
            )
            .is_err(),
            "{file}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mentions_and_scalar_addressing_are_read_from_every_server() {
    let Some(dir) = fixtures_dir() else { return };
    for file in [
        "activitypub/mastodon/create_note_direct.json",
        "activitypub/gotosocial/create_note_direct.json",
        "activitypub/fedify/create_note_direct.json",
        "activitypub/misskey/create_note_direct.json",
        "activitypub/akkoma/create_note_direct.json",
    ] {
        let parsed = Object::parse(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        let note = parsed.first_object().and_then(Reference::object).unwrap();
        let addressed: Vec<&str> = note
            .to_ids()
            .into_iter()
            .chain(note.cc_ids())
            .chain(note.mention_hrefs())
            .collect();
        assert!(
            addressed
                .iter()
                .any(|a| a.starts_with("https://cohort.example/users/")),
            "{file}: {addressed:?}"
        );
    }
}

// ---- Signatures: draft-cavage-12 appendix C ----

struct Vector {
    json: Value,
    headers: HeaderMap,
    method: Method,
    target: String,
    body: Vec<u8>,
    public_pem: String,
}

fn vector(name: &str) -> Option<Vector> {
    let dir = fixtures_dir()?;
    let json = load(&dir.join("signatures/draft-cavage-12").join(name));
    let request = &json["request"];
    let mut headers = HeaderMap::new();
    for (k, v) in request["headers"].as_object().unwrap() {
        headers.insert(
            HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
            HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
        );
    }
    Some(Vector {
        method: request["method"].as_str().unwrap().parse().unwrap(),
        target: request["target"].as_str().unwrap().to_owned(),
        body: request["body"].as_str().unwrap().as_bytes().to_vec(),
        public_pem: json["key"]["public_key_pem"].as_str().unwrap().to_owned(),
        headers,
        json,
    })
}

fn verify_vector(v: &Vector, header: &str) -> Result<(), SignatureError> {
    let sig = parse_signature_header(header)?;
    check_algorithm(&sig)?;
    let base = signing_string(&sig, &v.method, &v.target, &v.headers)?;
    verify_rsa_sha256_legacy_1024(&v.public_pem, base.as_bytes(), &sig.signature)
}

#[test]
fn cavage_c1_default_test_verifies_in_both_printed_forms() {
    let Some(v) = vector("C.1-default.json") else {
        return;
    };
    let header = v.json["expected_signature_headers"]["Signature"]
        .as_str()
        .unwrap();
    let sig = parse_signature_header(header).unwrap();
    assert_eq!(sig.headers, vec!["date"], "absent headers means date");
    let base = signing_string(&sig, &v.method, &v.target, &v.headers).unwrap();
    assert_eq!(base, v.json["signature_base"].as_str().unwrap());
    verify_vector(&v, header).unwrap();
    for alt in v.json["alternative_header_forms"].as_array().unwrap() {
        verify_vector(&v, alt.as_str().unwrap()).unwrap();
    }
    // The Authorization form too.
    let auth = v.json["expected_signature_headers"]["Authorization"]
        .as_str()
        .unwrap();
    verify_vector(&v, auth).unwrap();
}

#[test]
fn cavage_c2_basic_test_verifies_and_its_digest_matches() {
    let Some(v) = vector("C.2-basic.json") else {
        return;
    };
    let header = v.json["expected_signature_headers"]["Signature"]
        .as_str()
        .unwrap();
    let sig = parse_signature_header(header).unwrap();
    let base = signing_string(&sig, &v.method, &v.target, &v.headers).unwrap();
    assert_eq!(base, v.json["signature_base"].as_str().unwrap());
    verify_vector(&v, header).unwrap();
    digest_matches(&v.headers, &v.body).unwrap();
    assert_eq!(
        digest_matches(&v.headers, b"{\"hello\": \"mars\"}"),
        Err(SignatureError::Digest)
    );
    // A 1024-bit key is refused outside the legacy test path.
    assert_eq!(
        verify_rsa_sha256(&v.public_pem, base.as_bytes(), &sig.signature),
        Err(SignatureError::Invalid)
    );
    // Any change to a covered header breaks it.
    let mut tampered = v.headers.clone();
    tampered.insert(
        "date",
        HeaderValue::from_static("Sun, 05 Jan 2014 21:31:41 GMT"),
    );
    let base = signing_string(&sig, &v.method, &v.target, &tampered).unwrap();
    assert_eq!(
        verify_rsa_sha256_legacy_1024(&v.public_pem, base.as_bytes(), &sig.signature),
        Err(SignatureError::Invalid)
    );
    // So does another path.
    let base = signing_string(&sig, &v.method, "/foo?param=value&pet=cat", &v.headers).unwrap();
    assert!(verify_rsa_sha256_legacy_1024(&v.public_pem, base.as_bytes(), &sig.signature).is_err());
}

#[test]
fn cavage_c3_printed_header_parses_but_does_not_verify_as_printed() {
    let Some(v) = vector("C.3-all-headers.json") else {
        return;
    };
    let header = v.json["expected_signature_headers"]["Signature"]
        .as_str()
        .unwrap();
    let sig = parse_signature_header(header).unwrap();
    assert_eq!(sig.created, Some(1_402_170_695));
    assert_eq!(sig.expires, Some(1_402_170_699));
    assert_eq!(sig.headers.len(), 8);
    let per_list = signing_string(&sig, &v.method, &v.target, &v.headers).unwrap();
    assert_eq!(
        per_list,
        v.json["signature_base_per_header_list"].as_str().unwrap()
    );
    // The known defect: honouring the printed list, it does not verify...
    assert_eq!(verify_vector(&v, header), Err(SignatureError::Invalid));
    // ...while the signature itself is over the list without (created)/(expires).
    let base = v.json["signature_base"].as_str().unwrap();
    verify_rsa_sha256_legacy_1024(&v.public_pem, base.as_bytes(), &sig.signature).unwrap();
}

#[test]
fn rfc9421_signatures_are_refused_so_double_knocking_peers_fall_back() {
    let Some(dir) = fixtures_dir() else { return };
    for name in ["B.2.1-minimal-rsa-pss.json", "B.2.6-ed25519.json"] {
        let json = load(&dir.join("signatures/rfc9421").join(name));
        let mut headers = HeaderMap::new();
        for (k, v) in json["expected_signature_headers"].as_object().unwrap() {
            headers.insert(
                HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
                HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
            );
        }
        assert_eq!(
            signature::signature_header(&headers),
            Err(SignatureError::Rfc9421),
            "{name}"
        );
    }
}

#[test]
fn malformed_signature_headers_are_refused() {
    for bad in [
        "",
        "keyId=\"a\"",
        "signature=\"AAAA\"",
        "keyId=\"a\",signature=\"not base64!\"",
        "keyId=\"a\" signature=\"AAAA\"",
        "keyId=\"a,signature=\"AAAA\"",
        "keyId=\"a\",keyId=\"b\",signature=\"AAAA\"",
    ] {
        assert!(parse_signature_header(bad).is_err(), "{bad:?}");
    }
    let ok = parse_signature_header(
        "keyId=\"https://gts.example/users/dana/main-key\", algorithm=\"hs2019\", headers=\"(request-target) host date digest\", signature=\"AAAA\"",
    )
    .unwrap();
    assert_eq!(ok.key_id, "https://gts.example/users/dana/main-key");
    assert_eq!(
        signature::key_document_url("https://m.example/users/a#main-key"),
        "https://m.example/users/a"
    );
}

/// A Delete of an object on another host is refused, unless it is addressed to an actor
/// here: a community moderator's removal, sent to the community's Group on this instance
/// (the processor then accepts it from the community's moderators only).
#[test]
fn a_foreign_delete_passes_only_when_addressed_to_an_actor_here() {
    let mallory = "https://evil.example/users/mallory";
    let delete = |to: &str| {
        Object::parse(
            serde_json::json!({
                "id": "https://evil.example/activities/1",
                "type": "Delete",
                "actor": mallory,
                "to": [to],
                "object": "https://victim.example/users/v/statuses/1",
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    };
    assert!(
        check_origin(
            &delete("https://www.w3.org/ns/activitystreams#Public"),
            mallory,
            "cohort.example"
        )
        .is_err()
    );
    assert!(
        check_origin(
            &delete("https://cohort.example/users/diabetes"),
            mallory,
            "cohort.example"
        )
        .is_ok()
    );
}
