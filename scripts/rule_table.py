#!/usr/bin/env python3
"""Prints the rule -> test table of docs/semantics.md.

A test counts for a rule when the comment block just above it, or the start
of its name (e.g. W4ReportsTheErrnoOncePerCursor), or for the X rules its
end (e.g. ChownClearsSetuidAndSetgidOfAFileX1), cites the rule id.
Run from the repository root: scripts/rule_table.py > /tmp/table.md
"""
import collections
import glob
import re

rules = collections.defaultdict(set)
for path in sorted(glob.glob("tests/**/*_test.cc", recursive=True)):
    lines = open(path).read().split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"TEST(?:_F|_P)?\((\w+),\s*(\w+)\)", line)
        if not m:
            continue
        comment = []
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("//"):
            comment.append(lines[j])
            j -= 1
        ids = set(re.findall(r"\b([DESOWCMX][0-9](?:\.[0-9])?)\b", " ".join(comment)))
        ids |= set(re.findall(r"^([DESOWMX][0-9])(?=[A-Z])", m.group(2)))
        ids |= set(re.findall(r"(?<=[a-z])(X[0-9])$", m.group(2)))
        for rule in ids:
            rules[rule].add(f"{m.group(1)}.{m.group(2)}")


def order(rule):
    return ("MDESWOCX".index(rule[0]), float(rule[1:]))


print("| rule | tests | examples |")
print("|---|---|---|")
for rule in sorted(rules, key=order):
    tests = sorted(rules[rule])
    shown = "<br>".join(tests[:4]) + (f"<br>and {len(tests) - 4} more" if len(tests) > 4 else "")
    print(f"| {rule} | {len(tests)} | {shown} |")
