"""Verified clinicians from a real Mastodon client (Mastodon.py), as issue 10 asks: after an
admin verifies an account through Cohort's admin API, Mastodon.py sees the `roles` badge and
the profile field with `verified_at`; after revocation it sees neither."""

import requests
from mastodon import Mastodon

from conftest import BASE_URL, OOB, browser_authorize

ADMIN_SCOPES = ["read", "write", "follow", "admin:read", "admin:write"]


def admin_client():
    client_id, client_secret = Mastodon.create_app(
        "Cohort clinician tests", scopes=ADMIN_SCOPES, redirect_uris=[OOB], api_base_url=BASE_URL
    )
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=BASE_URL)
    url = api.auth_request_url(redirect_uris=OOB, scopes=ADMIN_SCOPES, allow_http=True)
    grant = browser_authorize(url, "admin")
    api.log_in(code=grant["code"], redirect_uri=OOB, scopes=ADMIN_SCOPES, allow_http=True)
    return api


def test_mastodon_py_sees_the_verified_clinician_badge_and_its_revocation(clients):
    admin = admin_client()
    clinician = clients.sign_up("clin")
    reader = clients.sign_up("reader")
    path = f"{BASE_URL}/api/v1/admin/cohort/clinicians/{clinician.me['id']}/verification"
    headers = {"Authorization": f"Bearer {admin.access_token}"}
    response = requests.post(
        path,
        headers=headers,
        data={
            "profession": "Registered nurse",
            "institution": "Cohort Test Hospital",
            "license_number": "RN-000111-SECRET",
            "jurisdiction": "US-NY",
            "expires_at": "2099-01-31",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert "RN-000111-SECRET" not in response.text

    seen = reader.account(clinician.me["id"])
    assert [r["name"] for r in seen["roles"]] == ["Verified clinician"]
    field = seen["fields"][0]
    assert field["name"] == "Verified clinician"
    assert field["value"] == "Registered nurse, Cohort Test Hospital"
    assert field["verified_at"] is not None
    assert seen["locked"] is True
    assert "RN-000111-SECRET" not in str(seen)

    # A member (no admin role) cannot verify anyone.
    refused = requests.post(
        path, headers={"Authorization": f"Bearer {reader.access_token}"},
        data={"profession": "x"}, timeout=30,
    )
    assert refused.status_code == 403, refused.text

    revoked = requests.delete(path, headers=headers, timeout=30)
    assert revoked.status_code == 200, revoked.text
    seen = reader.account(clinician.me["id"])
    assert seen["roles"] == []
    assert all(f["name"] != "Verified clinician" for f in seen["fields"])
