#!/usr/bin/env python3
"""Pools `nodecast simulate --target-shortage T --json` outputs over series:
the realized shortage share (node-hours short over node-hours needed, pooled)
and the predictive policy against reactive and static peak.

    python3 scripts/pool_target.py OUT/*.json
"""
import json
import sys

short = needed = 0.0
cost = {"predictive": 0.0, "reactive": 0.0, "static_peak": 0.0}
lack = {"predictive": 0.0, "reactive": 0.0}
for path in sys.argv[1:]:
    r = json.load(open(path))
    t = r.get("target_shortage")
    if t is None:
        sys.exit(f"{path}: no target_shortage (run simulate with --target-shortage)")
    p = r["policies"]
    s = p["predictive"]["shortage_node_hours"]
    n = t["needed_node_hours"]
    short += s
    needed += n
    for k in cost:
        cost[k] += p[k]["cost_usd"]
    for k in lack:
        lack[k] += p[k]["shortage_node_hours"]
print(f"series {len(sys.argv) - 1}: realized shortage {100 * short / needed:.2f} % of node-hours needed; "
      f"shortage x{lack['predictive'] / lack['reactive']:.3f} reactive's; "
      f"cost x{cost['predictive'] / cost['reactive']:.3f} reactive's, x{cost['predictive'] / cost['static_peak']:.3f} static peak's")
