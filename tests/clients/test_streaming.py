"""Mastodon.py's streaming (server-sent events: `stream_user`, `stream_public`) against a
running Cohort server: the exact events a follower, a non-follower and a blocked account
receive when posts of each visibility are made, and a deletion.

Nothing is asserted by waiting for something not to happen: each account also follows
`erin`, whose posts every stream carries; erin posts a marker last, and since a stream's
events arrive in order, what arrived before the marker is everything about earlier posts.
Before the scenario, erin posts until every stream has shown one post, so that each
connection is known to be open."""

import threading
import time

from mastodon import StreamListener

PATIENCE = 30  # seconds: a safety net for a broken server, not a timing assertion


class Recorder(StreamListener):
    """Every event of one stream, in order."""

    def __init__(self):
        super().__init__()
        self.events = []
        self.lock = threading.Lock()

    def on_update(self, status):
        with self.lock:
            self.events.append(("update", str(status["id"])))

    def on_notification(self, notification):
        status = notification.get("status") or {}
        with self.lock:
            self.events.append(("notification", notification["type"], str(status.get("id"))))

    def on_delete(self, status_id):
        with self.lock:
            self.events.append(("delete", str(status_id)))

    def on_status_update(self, status):
        with self.lock:
            self.events.append(("status.update", str(status["id"])))

    def snapshot(self):
        with self.lock:
            return list(self.events)


def wait_until(condition, what):
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def after(events, start_marker, end_marker):
    """The events strictly after the update of start_marker, up to end_marker's update."""
    begin = events.index(("update", start_marker)) + 1
    end = events.index(("update", end_marker))
    return events[begin:end]


def test_followers_non_followers_and_blocked_accounts_receive_exactly_what_they_may_see(clients):
    alice = clients.sign_up("alice")
    erin = clients.sign_up("erin")
    viewers = {name: clients.sign_up(name) for name in ("bob", "carol", "dave")}
    viewers["bob"].account_follow(alice.me["id"])
    for api in viewers.values():
        api.account_follow(erin.me["id"])
    alice.account_block(viewers["dave"].me["id"])

    recorders, handles = {}, []
    for name, api in viewers.items():
        for stream in ("user", "public"):
            recorder = Recorder()
            recorders[(name, stream)] = recorder
            method = api.stream_user if stream == "user" else api.stream_public
            handles.append(method(recorder, run_async=True, reconnect_async=False))
    try:
        # Every stream open: erin posts until each has shown one of her posts.
        readiness, last_post = [], [0.0]

        def all_ready():
            if readiness and all(
                any(e[0] == "update" and e[1] in readiness for e in r.snapshot()) for r in recorders.values()
            ):
                return True
            if time.monotonic() - last_post[0] > 1.0:
                readiness.append(str(erin.status_post(f"ready {len(readiness)}")["id"]))
                last_post[0] = time.monotonic()
            return False

        wait_until(all_ready, "every stream to open")
        start = str(erin.status_post("start")["id"])

        public = str(alice.status_post("public", visibility="public")["id"])
        unlisted = str(alice.status_post("unlisted", visibility="unlisted")["id"])
        private = str(alice.status_post("followers", visibility="private")["id"])
        direct = str(alice.status_post(f"@{viewers['bob'].username} direct", visibility="direct")["id"])
        end = str(erin.status_post("end")["id"])
        wait_until(lambda: all(("update", end) in r.snapshot() for r in recorders.values()), "the end marker")

        def seen(name, stream):
            return after(recorders[(name, stream)].snapshot(), start, end)

        assert seen("bob", "user") == [
            ("update", public),
            ("update", unlisted),
            ("update", private),
            ("update", direct),
            ("notification", "mention", direct),
        ]
        assert seen("bob", "public") == [("update", public)]
        assert seen("carol", "user") == []
        assert seen("carol", "public") == [("update", public)]
        assert seen("dave", "user") == []
        assert seen("dave", "public") == [], "a blocked account receives nothing of the author's"

        alice.status_delete(public)
        again = str(erin.status_post("end two")["id"])
        wait_until(lambda: all(("update", again) in r.snapshot() for r in recorders.values()), "the second marker")
        assert after(recorders[("bob", "user")].snapshot(), end, again) == [("delete", public)]
        assert after(recorders[("bob", "public")].snapshot(), end, again) == [("delete", public)]
        assert after(recorders[("carol", "public")].snapshot(), end, again) == [("delete", public)]
        assert after(recorders[("carol", "user")].snapshot(), end, again) == []
        assert after(recorders[("dave", "public")].snapshot(), end, again) == []
    finally:
        for handle in handles:
            handle.close()


def test_the_streaming_health_check_answers_ok(clients):
    import requests

    from conftest import BASE_URL

    answer = requests.get(f"{BASE_URL}/api/v1/streaming/health", timeout=10)
    assert answer.status_code == 200
    assert answer.text == "OK"
