#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Check that every metric a Grafana dashboard queries is one geofwd exposes.

Usage: dashboard_metrics.py DASHBOARD.json METRICS.txt

METRICS.txt is the text of geofwd's /metrics.  Every expression of every
panel (rows included) and of the template variables is searched for metric
names (geofw_...); each must be a family that /metrics declares with
# TYPE, or a sample of a histogram/summary family (_bucket, _sum, _count).
Prints one line per unknown name (with the panel) and exits 1 if there is
any; exits 2 when the dashboard has no query at all or is not valid JSON.
"""
import json
import re
import sys

NAME = re.compile(r'(?<![A-Za-z0-9_:"])(geofw_[a-zA-Z0-9_:]*)')
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def exprs(dash):
    """(where, expression) for every query of the dashboard."""
    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    yield "panel '%s'" % p.get("title", "?"), t["expr"]
            yield from walk(p.get("panels", []))
    yield from walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") == "query" and q:
            yield "variable '%s'" % v.get("name", "?"), q


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print("%s: %s" % (sys.argv[1], e))
        return 2
    families = {}
    with open(sys.argv[2]) as f:
        for line in f:
            m = re.match(r"# TYPE (\S+) (\S+)", line)
            if m:
                families[m.group(1)] = m.group(2)
    if not families:
        print("%s: no # TYPE line: not a /metrics text" % sys.argv[2])
        return 2
    known = set(families)
    for name, kind in families.items():
        if kind in ("histogram", "summary"):
            known |= {name + s for s in ("_bucket", "_sum", "_count")}
    n = bad = 0
    for where, e in exprs(dash):
        n += 1
        # Label values ("...") are not metric names.
        for name in NAME.findall(STRING.sub('""', e)):
            if name not in known:
                print("%s queries %s, which /metrics does not expose" % (where, name))
                bad += 1
    if n == 0:
        print("%s: no query in the dashboard" % sys.argv[1])
        return 2
    print("# %d queries, %d metric families exposed, %d unknown names" % (n, len(families), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
