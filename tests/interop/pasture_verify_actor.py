"""fediverse-pasture's verify_actor against a running `cohort serve` (run by run.sh).

pasture serves six test actors (alice ... frank) from its own loopback port and, with each,
fetches a Cohort actor and POSTs a `Like` to its inbox:

| actor  | WebFinger | its actor document       | its POST to Cohort |
|--------|-----------|--------------------------|--------------------|
| alice  | yes       | public                   | unsigned           |
| bob    | yes       | public                   | signed             |
| claire | yes       | signed fetches only      | signed             |
| dean   | no        | public                   | unsigned           |
| emily  | no        | public                   | signed             |
| frank  | no        | signed fetches only      | signed             |

Cohort must reject the unsigned POSTs (alice, dean), accept the signed ones (its key fetch
of claire and frank has to be signed, since they answer 401 otherwise), serve its actor to
all of them, and its WebFinger must name the actor it serves.

Usage: python pasture_verify_actor.py ACCT_OR_ACTOR_URI PASTURE_PORT
Prints one line per check ("PASS name" / "FAIL name: why") and last
"interop-counts: PASSED FAILED"; exits 1 when a check failed.
"""

import asyncio
import json
import logging
import sys

from fediverse_pasture.data_provider import DataProvider
from fediverse_pasture.server import BlueprintForActors
from fediverse_pasture.server.verify_actor import ActorVerifier
from fediverse_pasture.types import Message
from quart import Quart

# What Cohort must answer for each pasture actor: (GET of Cohort's actor works, POST to
# Cohort's inbox accepted).
EXPECTED = {
    "alice": (True, False),
    "bob": (True, True),
    "claire": (True, True),
    "dean": (True, False),
    "emily": (True, True),
    "frank": (True, True),
}

WHY = {
    "alice": "unsigned POST from an actor with WebFinger must be rejected",
    "bob": "signed POST must be accepted",
    "claire": "signed POST from a signed-fetch-only actor must be accepted",
    "dean": "unsigned POST from an actor without WebFinger must be rejected",
    "emily": "signed POST from an actor without WebFinger must be accepted",
    "frank": "signed POST from a signed-fetch-only actor without WebFinger must be accepted",
}


async def main(remote: str, port: int) -> int:
    # pasture logs every request at DEBUG; the check lines are what matters here.
    logging.basicConfig(level=logging.WARNING)
    data = DataProvider.generate()
    actors = data.possible_actors + [data.one_actor]
    app = Quart("pasture")
    app.register_blueprint(BlueprintForActors(actors).blueprint)
    shutdown = asyncio.Event()
    server = asyncio.create_task(
        app.run_task(host="127.0.0.1", port=port, shutdown_trigger=shutdown.wait)
    )
    try:
        await wait_listening(port)
        message = Message()
        verifier = ActorVerifier(
            actor_list=actors,
            remote_uri=remote,
            domain=f"localhost:{port}",
            message=message,
            timeout=20,
        )
        result = await verifier.verify()
    finally:
        shutdown.set()
        await server

    passed = failed = 0
    for name, (want_get, want_post) in EXPECTED.items():
        got = result.get(name, {})
        got_get, got_post = got.get("get_actor"), got.get("post_inbox")
        label = f"pasture verify_actor {name}: {WHY[name]}"
        if (got_get, got_post) == (want_get, want_post):
            passed += 1
            print(f"PASS {label}")
        else:
            failed += 1
            print(
                f"FAIL {label}: get_actor={got_get} post_inbox={got_post},"
                f" expected get_actor={want_get} post_inbox={want_post}"
            )
    label = "pasture verify_actor webfinger: the acct: URI resolves to the actor served"
    if result.get("webfinger") is True:
        passed += 1
        print(f"PASS {label}")
    else:
        failed += 1
        print(f"FAIL {label}: {result.get('webfinger')}")
    if failed:
        print("# pasture's log of the run:")
        for line in json.dumps(message.response, indent=1).splitlines():
            print(f"#   {line}")
    print(f"interop-counts: {passed} {failed}")
    return 0 if failed == 0 else 1


async def wait_listening(port: int) -> None:
    """Waits until the pasture server accepts connections (at most 30 s)."""
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"pasture did not listen on {port}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]))))
