"""Prints "passed failed xfailed skipped" from a pytest JUnit XML report (xunit2)."""

import sys
import xml.etree.ElementTree as ET

passed = failed = xfailed = skipped = 0
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    tags = {child.tag: child for child in case}
    if "failure" in tags or "error" in tags:
        failed += 1
    elif "skipped" in tags:
        if tags["skipped"].get("type") == "pytest.xfail":
            xfailed += 1
        else:
            skipped += 1
    else:
        passed += 1
print(passed, failed, xfailed, skipped)
