"""Tallies the requests in a `cohort serve` log (COHORT_LOG with tower_http=debug) that did not
succeed: method, path (ids and generated names replaced by :id) and status, most frequent first."""

import collections
import re
import sys

LINE = re.compile(r"method=(\S+) path=(\S+?)\}.*finished processing request.*status=(\d+)")
tally = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    match = LINE.search(re.sub(r"\x1b\[[0-9;]*m", "", line))
    if not match:
        continue
    method, path, status = match.groups()
    if status.startswith(("2", "3")):
        continue
    path = re.sub(r"/\d+(?=/|$)", "/:id", path)
    tally[(method, path, status)] += 1
if tally:
    print("requests that failed (count, method, path, status):")
for (method, path, status), n in tally.most_common():
    print(f"  {n:4d}  {method:6s} {path}  -> {status}")
