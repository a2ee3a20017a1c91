"""Drives the moderator dashboard in headless Chromium over the Chrome DevTools Protocol.

Run by run.sh, which starts the server and creates the accounts moderator, alice and bob
(password DASHBOARD_PASSWORD). Seeds a report through the client API (Bob reports Alice's
post), then, in the browser: signs in as the moderator, opens the report from the queue,
limits Alice with a strike and an outcome for Bob, and saves a screenshot of the resolved
report. Checks the outcome through the admin API. Exits non-zero on any failure.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode

import requests
import websocket

BASE = os.environ["DASHBOARD_BASE_URL"]
PASSWORD = os.environ["DASHBOARD_PASSWORD"]
CHROMIUM = os.environ["DASHBOARD_CHROMIUM"]
SCREENSHOT = os.environ["DASHBOARD_SCREENSHOT"]
PROFILE = os.environ.get("DASHBOARD_PROFILE") or tempfile.mkdtemp(prefix="cohort-chromium-")
OOB = "urn:ietf:wg:oauth:2.0:oob"
TIMEOUT = 30


def fail(message):
    print(f"tests/dashboard: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def token(username, scopes):
    """An access token through the OAuth sign-in form, as a browser would get one."""
    app = requests.post(
        f"{BASE}/api/v1/apps",
        data={"client_name": "dashboard test", "redirect_uris": OOB, "scopes": scopes},
        timeout=TIMEOUT,
    ).json()
    query = urlencode(
        {"client_id": app["client_id"], "redirect_uri": OOB, "response_type": "code", "scope": scopes}
    )
    form = requests.get(f"{BASE}/oauth/authorize?{query}", timeout=TIMEOUT).text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    fields.update({"username": username, "password": PASSWORD, "consent": "authorize"})
    page = requests.post(f"{BASE}/oauth/authorize", data=fields, timeout=TIMEOUT)
    code = re.search(r'<code id="code">([^<]+)</code>', page.text)
    if not code:
        fail(f"no authorization code for {username}: {page.text[:500]}")
    answer = requests.post(
        f"{BASE}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code.group(1),
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "redirect_uri": OOB,
        },
        timeout=TIMEOUT,
    ).json()
    return answer["access_token"]


def api(method, path, bearer, **data):
    response = requests.request(
        method, f"{BASE}{path}", headers={"Authorization": f"Bearer {bearer}"}, data=data, timeout=TIMEOUT
    )
    if response.status_code != 200:
        fail(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
    return response.json()


class Browser:
    """One headless Chromium page, driven over CDP."""

    def __init__(self):
        port_file = os.path.join(PROFILE, "DevToolsActivePort")
        os.makedirs(PROFILE, exist_ok=True)
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={PROFILE}",
                "--window-size=1200,1400",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while not os.path.exists(port_file):
            if time.time() > deadline or self.process.poll() is not None:
                fail("Chromium did not start")
            time.sleep(0.2)
        time.sleep(0.2)
        port = open(port_file).read().split()[0]
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT).json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=TIMEOUT)
        self.next_id = 0
        self.call("Page.enable")

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    fail(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            fail(f"page script failed: {expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, what):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            try:
                if self.evaluate(f"document.readyState === 'complete' && !!({expression})"):
                    return
            except SystemExit:
                pass
            time.sleep(0.2)
        fail(f"timed out waiting for {what}; page: {self.evaluate('location.href')}")

    def open(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for("document.body", url)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            self.process.wait(timeout=20)


def main():
    alice = token("alice", "read write")
    bob = token("bob", "read write")
    moderator = token("moderator", "read admin:read admin:write")
    post = api("POST", "/api/v1/statuses", alice, status="Stop your insulin, try my tea", visibility="public")
    alice_id = api("GET", "/api/v1/accounts/verify_credentials", alice)["id"]
    report = api(
        "POST",
        "/api/v1/reports",
        bob,
        account_id=alice_id,
        **{"status_ids[]": post["id"]},
        category="misinformation",
        comment="Dangerous advice to a diabetic caregiver",
    )
    report_id = report["id"]

    browser = Browser()
    try:
        browser.open(f"{BASE}/admin/reports")
        browser.wait_for("document.querySelector('#username')", "the sign-in form")
        browser.evaluate(
            "document.querySelector('#username').value = 'moderator';"
            f"document.querySelector('#password').value = {json.dumps(PASSWORD)};"
            "document.querySelector('#sign-in').click(); true"
        )
        browser.wait_for(f"document.querySelector('#report-{report_id}')", "the report in the queue")
        browser.evaluate(f"document.querySelector('#report-{report_id}').click(); true")
        browser.wait_for("document.querySelector('#action-form')", "the report's action form")
        shown = browser.evaluate("document.body.innerText")
        if "Stop your insulin" not in shown:
            fail(f"the reported post is not on the report page: {shown[:800]}")
        browser.evaluate(
            "document.querySelector('#type').value = 'silence';"
            "document.querySelector('#warning_text').value = 'Please do not advise stopping medication.';"
            "document.querySelector('#text').value = 'second warning this month';"
            "document.querySelector('#resolution_note').value = 'Thank you: the account is limited.';"
            "document.querySelector('#act').click(); true"
        )
        browser.wait_for(
            "document.querySelector('#report-state') && "
            "document.querySelector('#report-state').innerText === 'resolved'",
            "the resolved report",
        )
        browser.screenshot(SCREENSHOT)
    finally:
        browser.close()

    resolved = api("GET", f"/api/v1/admin/reports/{report_id}", moderator)
    if not resolved["action_taken"]:
        fail(f"the report is not resolved: {resolved}")
    account = api("GET", f"/api/v1/admin/accounts/{alice_id}", moderator)
    if not account["silenced"]:
        fail(f"Alice is not limited: {account}")
    strikes = api("GET", "/api/v1/cohort/strikes", alice)
    if not strikes or strikes[0]["action"] != "silence":
        fail(f"Alice has no strike for the limit: {strikes}")
    if strikes[0]["text"] != "Please do not advise stopping medication.":
        fail(f"the strike does not carry the moderator's words: {strikes[0]}")
    if not os.path.getsize(SCREENSHOT):
        fail("the screenshot is empty")
    print(f"tests/dashboard: report {report_id} resolved in the browser; Alice limited with a strike")


if __name__ == "__main__":
    main()
