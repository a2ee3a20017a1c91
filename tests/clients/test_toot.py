"""The toot CLI, run as a subprocess against a running Cohort server (started by run.sh).

toot keeps its apps and tokens in $XDG_CONFIG_HOME/toot/config.json; every run here uses a
temporary HOME and XDG_CONFIG_HOME so nothing leaks to or from the machine's own config."""

import json
import os
import re
import subprocess
import sys

import pytest
from mastodon import Mastodon, MastodonNotFoundError

from conftest import BASE_URL, PASSWORD, browser_authorize, unique

TOOT = os.environ.get("CLIENTS_TOOT") or os.path.join(os.path.dirname(sys.executable), "toot")
DOMAIN = BASE_URL.split("://", 1)[-1]


class Toot:
    def __init__(self, home):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TOOT_")}
        self.env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), NO_COLOR="1",
                        COLUMNS="200", TERM="dumb")
        self.config = home / "config" / "toot" / "config.json"

    def run(self, *args, input=None, ok=True):
        done = subprocess.run([TOOT, *args], input=input, capture_output=True, text=True,
                              env=self.env, timeout=120)
        if ok:
            assert done.returncode == 0, (
                f"toot {' '.join(args)} -> {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}")
        return done

    def json(self, *args):
        return json.loads(self.run(*args, "--json").stdout)

    def login(self, username):
        """`toot login`: prints the authorization URL, asks whether to open a browser (no) and
        reads the code from stdin. The form is submitted with requests, like a browser would."""
        process = subprocess.Popen([TOOT, "login", "--instance", BASE_URL], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=self.env)
        try:
            seen = []
            url = None
            for line in process.stdout:
                seen.append(line)
                if line.strip().startswith("http") and "/oauth/authorize" in line:
                    url = line.strip()
                    break
            assert url, f"toot login printed no authorization URL: {''.join(seen)}{process.stderr.read()}"
            grant = browser_authorize(url, username)
            out, err = process.communicate(f"n\n{grant['code']}\n", timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, f"toot login -> {process.returncode}\n{''.join(seen)}{out}\n{err}"
        assert "Successfully logged in" in out, out
        return url


@pytest.fixture(scope="module")
def account(clients):
    """A fresh account, also signed in with Mastodon.py (to check what toot did)."""
    return clients.sign_up("tooter")


@pytest.fixture(scope="module")
def toot(tmp_path_factory, account):
    t = Toot(tmp_path_factory.mktemp("toot-home"))
    t.authorization_url = t.login(account.username)
    return t


def test_toot_login_through_the_browser_flow(toot, account):
    assert "redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob" in toot.authorization_url
    config = json.loads(toot.config.read_text())
    user = f"{account.username}@{DOMAIN}"
    assert config["active_user"] == user, config
    assert config["users"][user]["access_token"]
    assert DOMAIN in config["apps"]
    out = toot.run("auth").stdout
    assert user in out and "ACTIVE" in out, out


def test_toot_login_cli_uses_the_password_grant_which_is_off_by_default(tmp_path, account):
    # `toot login_cli` posts grant_type=password; Cohort offers that grant only when
    # COHORT_OAUTH_PASSWORD_GRANT is set (Mastodon 4.4 removed it), so it must fail cleanly.
    t = Toot(tmp_path)
    done = t.run("login_cli", "--instance", BASE_URL, "--email", f"{account.username}@example.org",
                 "--password", PASSWORD, ok=False)
    assert done.returncode != 0
    assert "Login failed" in done.stderr, done.stderr
    config = json.loads(t.config.read_text())
    assert config["users"] == {}


def test_toot_whoami(toot, account):
    out = toot.run("whoami").stdout
    assert f"@{account.username}" in out, out
    me = toot.json("whoami")
    assert me["id"] == account.me["id"]
    assert me["username"] == account.username


def test_toot_post_timeline_and_delete(toot, account):
    text = unique("posted from toot ")
    out = toot.run("post", text).stdout
    match = re.search(r"Toot posted: (\S+)", out)
    assert match, out
    url = match.group(1)
    assert url.startswith(BASE_URL + "/"), url

    [status] = [s for s in account.account_statuses(account.me["id"], limit=5) if text in s["content"]]
    assert status["url"] == url
    assert status["visibility"] == "public"

    home = toot.run("timeline", "--once").stdout
    assert text in home, home
    public = toot.run("timeline", "--public", "--once").stdout
    assert text in public, public
    home_v2 = toot.json("timelines", "home", "--no-pager", "--no-clear", "--limit", "5")
    assert status["id"] in [s["id"] for s in home_v2], home_v2

    shown = toot.json("status", status["id"])
    assert shown["id"] == status["id"]

    out = toot.run("delete", status["id"]).stdout
    assert "Status deleted" in out, out
    with pytest.raises(MastodonNotFoundError):
        account.status(status["id"])
    assert text not in toot.run("timeline", "--once").stdout


def test_toot_post_with_visibility_and_reply(toot, account, clients):
    stranger = clients.sign_up("stranger")
    private = toot.json("post", unique("followers only from toot "), "--visibility", "private")
    assert private["visibility"] == "private"
    with pytest.raises(MastodonNotFoundError):
        stranger.status(private["id"])
    anonymous = Mastodon(api_base_url=BASE_URL)
    with pytest.raises(MastodonNotFoundError):
        anonymous.status(private["id"])

    root = toot.json("post", unique("a thread from toot "))
    reply = toot.json("post", unique("and a reply "), "--reply-to", root["id"])
    assert reply["in_reply_to_id"] == root["id"]
    thread = toot.run("thread", root["id"]).stdout
    assert reply["content"].split(">")[1].split("<")[0] in thread, thread


def test_toot_favourite(toot, account, clients):
    author = clients.sign_up("favme")
    status = author.status_post("a post to favourite with toot")
    toot.run("favourite", status["id"])
    assert account.status(status["id"])["favourited"] is True
    toot.run("unfavourite", status["id"])
    assert account.status(status["id"])["favourited"] is False


def test_toot_reblog(toot, account, clients):
    author = clients.sign_up("boostme")
    status = author.status_post("a post to boost with toot")
    toot.run("reblog", status["id"])
    assert account.status(status["id"])["reblogged"] is True
    toot.run("unreblog", status["id"])
    assert account.status(status["id"])["reblogged"] is False


def test_toot_notifications(toot, account, clients):
    other = clients.sign_up("pinger")
    other.status_post(f"@{account.username} ping from a test")
    out = toot.run("notifications").stdout
    assert "ping from a test" in out, out
    mentions = toot.json("notifications", "--mentions")
    assert [n["type"] for n in mentions] == ["mention"]


def toot_session(toot):
    """toot's own App and User from the config `toot login` wrote, for what toot offers only
    in its TUI (the conversations timeline), called through toot's own API module."""
    from toot import App, User
    config = json.loads(toot.config.read_text())
    user = config["users"][config["active_user"]]
    app = config["apps"][user["instance"]]
    return (App(app["instance"], app["base_url"], app["client_id"], app["client_secret"]),
            User(user["instance"], user["username"], user["access_token"]))


def test_toot_search(toot, account, clients):
    author = clients.sign_up("searchable")
    author.account_update_credentials(indexable=True)
    word = unique("tootsearch")
    status = author.status_post(f"a word to find: {word} #{word}")
    found = toot.json("search", word)
    assert [s["id"] for s in found["statuses"]] == [status["id"]], found
    assert [h["name"] for h in found["hashtags"]] == [word], found
    out = toot.run("search", author.username).stdout
    assert f"@{author.username}" in out, out


def test_toot_votes_in_a_poll(toot, account, clients):
    author = clients.sign_up("tootpoll")
    status = author.status_post("Morning or evening sessions?",
                                poll=author.make_poll(["Morning", "Evening"], expires_in=3600))
    poll_id = status["poll"]["id"]
    out = toot.run("polls", "vote", poll_id, "1").stdout
    assert "Evening" in out and "Your vote" in out, out
    assert author.poll(poll_id)["options"][1]["votes_count"] == 1
    again = toot.run("polls", "vote", poll_id, "0", ok=False)
    assert again.returncode != 0
    assert "You have already voted on this poll" in again.stderr, again.stderr


def test_toot_reads_a_conversation(toot, account, clients):
    from toot import api
    other = clients.sign_up("tootdm")
    status = other.status_post(f"@{account.username} see you at the clinic", visibility="direct")
    app, user = toot_session(toot)
    [batch] = list(api.conversation_timeline_generator(app, user, limit=5))[:1]
    assert [s["id"] for s in batch] == [status["id"]], batch
    toot.run("post", f"@{other.username} see you there", "--visibility", "direct",
             "--reply-to", status["id"])
    [conversation] = account.conversations()
    assert conversation["last_status"]["in_reply_to_id"] == status["id"]
