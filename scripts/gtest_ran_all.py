#!/usr/bin/env python3
"""Exit 0 only if a GoogleTest JSON report (--gtest_output=json:FILE) ran at least one test and
every test in it ran and passed: none skipped, none failed. Prints each test that did not.
scripts/gpu_check.sh uses it so that a GPU run whose CUDA cases skipped cannot pass."""
import json
import sys


def main(path):
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"gtest_ran_all: {path}: no GoogleTest report ({e}): the tests did not run to the end")
        return 1
    ran, bad = 0, []
    for suite in report.get("testsuites", []):
        for case in suite.get("testsuite", []):
            name = f"{suite['name']}.{case['name']}"
            if case.get("result") == "SKIPPED" or case.get("status") == "NOTRUN":
                why = " ".join(" ".join(s.get("message", "") for s in case.get("skipped", [])).split())
                bad.append(f"skipped: {name}: {why or 'no reason given'}")
            elif case.get("failures"):
                bad.append(f"failed: {name}")
            else:
                ran += 1
    for line in bad:
        print(f"gtest_ran_all: {line}")
    if ran == 0 and not bad:
        print(f"gtest_ran_all: {path}: the filter matched no test")
        return 1
    print(f"gtest_ran_all: {ran} ran and passed, {len(bad)} did not")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
