"""Communities from a real Mastodon client (Mastodon.py), as issue 8 asks: a community is an
account with `group: true`; following it joins, mentioning it posts to it, and its thread
shows in the community, in the Group's statuses (as the Group's boost) and at home.

Creating a community needs Cohort's own API (Mastodon has none), called with the admin's
token; everything after that goes through Mastodon.py's ordinary methods."""

import requests

from conftest import BASE_URL, unique


def create_community(admin, **fields):
    response = requests.post(
        f"{BASE_URL}/api/v1/communities",
        headers={"Authorization": f"Bearer {admin.access_token}"},
        data=fields,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_follow_a_community_post_to_it_by_mention_and_see_the_thread(clients):
    admin = clients.sign_in("admin")
    name = unique("c")
    community = create_community(admin, name=name, title="Peer support")
    member = clients.sign_up("member")
    outsider = clients.sign_up("outsider")

    group = member.account_lookup(name)
    assert group["group"] is True
    assert group["id"] == community["account"]["id"]
    relationship = member.account_follow(group["id"])
    assert relationship["following"] is True

    thread = member.status_post(f"@{name} how do you prepare for a scan?")
    threads = requests.get(f"{BASE_URL}/api/v1/communities/{name}/statuses", timeout=30).json()
    assert [s["id"] for s in threads] == [thread["id"]]
    # The Group announces the thread: Mastodon apps see it as the Group's boost.
    boosts = member.account_statuses(group["id"])
    assert [s["reblog"]["id"] for s in boosts if s["reblog"]] == [thread["id"]]
    assert thread["id"] in [s["reblog"]["id"] if s["reblog"] else s["id"] for s in member.timeline_home()]
    # A reply stays in the thread.
    reply = admin.status_post("Bring headphones.", in_reply_to_id=thread["id"])
    assert reply["id"] in [s["id"] for s in member.status_context(thread["id"])["descendants"]]

    # Someone who has not joined cannot post to it.
    try:
        outsider.status_post(f"@{name} let me in")
    except Exception as error:  # Mastodon.py raises MastodonAPIError with the status
        assert "403" in str(error) or "not a member" in str(error)
    else:
        raise AssertionError("a non-member's post to the community was accepted")

    # Unfollowing the Group is leaving it.
    assert member.account_unfollow(group["id"])["following"] is False
    again = requests.get(f"{BASE_URL}/api/v1/communities/{name}", timeout=30).json()
    assert again["members_count"] == 1
