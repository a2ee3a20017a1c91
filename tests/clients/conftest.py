"""Shared fixtures of the real-client tests.

run.sh starts `cohort serve` and sets:
  CLIENTS_BASE_URL      http://localhost:PORT (the server's configured domain)
  CLIENTS_PASSWORD      the password of the accounts run.sh created (admin, alice, carol)
  CLIENTS_DATABASE_URL  the server's database (sqlite://... or postgres://...)
  CLIENTS_ENGINE        sqlite or postgres
  CLIENTS_TOOT          the toot executable
"""

import os
import subprocess
import uuid
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from mastodon import Mastodon

BASE_URL = os.environ.get("CLIENTS_BASE_URL", "")
PASSWORD = os.environ.get("CLIENTS_PASSWORD", "")
DATABASE_URL = os.environ.get("CLIENTS_DATABASE_URL", "")
OOB = "urn:ietf:wg:oauth:2.0:oob"
REDIRECT = "cohortclients://oauth-callback"
SCOPES = ["read", "write", "follow", "push"]


def pytest_collection_modifyitems(config, items):
    if not BASE_URL:
        skip = pytest.mark.skip(reason="CLIENTS_BASE_URL is not set: run tests/clients/run.sh")
        for item in items:
            item.add_marker(skip)


class _Page(HTMLParser):
    """The forms of a page (inputs and submit buttons) and the text of the id="code" element."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self.code = None
        self._in_code = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "method": (a.get("method") or "get").lower(),
                               "inputs": [], "buttons": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(a)
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append(a)
        if a.get("id") == "code":
            self._in_code = True
            self.code = ""

    def handle_endtag(self, tag):
        self._in_code = False

    def handle_data(self, data):
        if self._in_code:
            self.code += data


def browser_authorize(url, username, password=None):
    """Opens an authorization URL and submits its sign-in and consent form like a browser.

    Returns {"code": ..., "location": ... or None, "state": ... or None}: the code from the
    redirect's query (custom redirect URI) or from the page's id="code" element (oob)."""
    session = requests.Session()
    page = session.get(url, timeout=30)
    assert page.status_code == 200, f"GET {url} -> {page.status_code}: {page.text[:500]}"
    parsed = _Page()
    parsed.feed(page.text)
    forms = [f for f in parsed.forms if any(i.get("type") == "password" for i in f["inputs"])]
    assert forms, f"no sign-in form on {url}: {page.text[:1000]}"
    form = forms[0]
    data = {}
    for field in form["inputs"]:
        kind = (field.get("type") or "text").lower()
        name = field.get("name")
        if not name:
            continue
        if kind == "password":
            data[name] = password if password is not None else PASSWORD
        elif kind in ("text", "email") and name in ("username", "email", "user[email]"):
            data[name] = username
        elif kind in ("hidden", "text", "email"):
            data[name] = field.get("value") or ""
    for button in form["buttons"]:
        if button.get("name"):
            data[button["name"]] = button.get("value") or ""
            break
    assert form["method"] == "post", form
    action = urljoin(page.url, form["action"])
    answer = session.post(action, data=data, allow_redirects=False, timeout=30)
    if answer.status_code in (301, 302, 303, 307, 308):
        location = answer.headers["Location"]
        query = parse_qs(urlsplit(location).query)
        assert "code" in query, f"redirect without a code: {location}"
        return {"code": query["code"][0], "location": location, "state": query.get("state", [None])[0]}
    assert answer.status_code == 200, f"POST {action} -> {answer.status_code}: {answer.text[:1000]}"
    shown = _Page()
    shown.feed(answer.text)
    assert shown.code, f'no element with id="code" on the page: {answer.text[:1000]}'
    return {"code": shown.code.strip(), "location": None, "state": None}


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class Clients:
    """Builds signed-in Mastodon.py clients for one registered app."""

    def __init__(self, client_id, client_secret):
        self.client_id = client_id
        self.client_secret = client_secret

    def anonymous(self):
        return Mastodon(client_id=self.client_id, client_secret=self.client_secret, api_base_url=BASE_URL)

    def sign_in(self, username, redirect_uri=OOB, state=None):
        """The authorization-code flow through the HTML form; returns the signed-in client."""
        api = self.anonymous()
        url = api.auth_request_url(redirect_uris=redirect_uri, scopes=SCOPES, state=state, allow_http=True)
        grant = browser_authorize(url, username)
        api.log_in(code=grant["code"], redirect_uri=redirect_uri, scopes=SCOPES, allow_http=True)
        api.grant = grant
        return api

    def sign_up(self, prefix="user"):
        """A new account through POST /api/v1/accounts with an app token (registrations are open)."""
        api = self.anonymous()
        name = unique(prefix)
        api.create_account(name, PASSWORD, f"{name}@example.org", agreement=True, scopes=SCOPES)
        api.username = name
        api.me = api.account_verify_credentials()
        return api


@pytest.fixture(scope="session")
def clients():
    client_id, client_secret = Mastodon.create_app(
        "Cohort client tests", scopes=SCOPES, redirect_uris=[OOB, REDIRECT], api_base_url=BASE_URL
    )
    return Clients(client_id, client_secret)


def set_locked_in_database(account_id):
    """Marks an account locked directly in the server's database.

    Only for tests of follow requests while PATCH /api/v1/accounts/update_credentials does not
    exist (test_update_credentials_locks_the_account checks that endpoint on its own)."""
    if DATABASE_URL.startswith("sqlite://"):
        import sqlite3

        path = DATABASE_URL[len("sqlite://"):].split("?")[0]
        with sqlite3.connect(path, timeout=30) as db:
            db.execute("UPDATE accounts SET locked = 1 WHERE id = ?", (int(account_id),))
    else:
        subprocess.run(
            ["psql", DATABASE_URL, "-v", "ON_ERROR_STOP=1", "-q", "-c",
             f"UPDATE accounts SET locked = TRUE WHERE id = {int(account_id)}"],
            check=True,
        )
