#!/usr/bin/env python3
"""Every model of a folder of `nodecast backtest --json` reports (the
ensemble and each member) as a ratio of its MAPE to the hindsight-best
baseline's, per series and horizon: geometric mean, median and the pooled
coverage80 over the series, at 1/6/12/24/48 h.

    python3 scripts/member_ratios.py DIR BASELINES.json [BASELINES.json ...]

Used for the cold-start figures (scripts/global_cv.sh with HISTORY_HOURS).
"""
import glob
import json
import math
import sys

H = ["1", "6", "12", "24", "48"]
best = {}
for path in sys.argv[2:]:
    for v in json.load(open(path)):
        name = v["series"].replace(".csv", "")
        for h in H:
            vals = [m[h]["mape"] for m in v["models"].values() if h in m and m[h].get("mape")]
            if vals:
                best[(name, h)] = min(vals)
ratios, cover = {}, {}
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    if path.endswith(".members.json"):
        continue
    r = json.load(open(path))
    name = r["series"].replace(".csv", "")
    for model, scores in r["models"].items():
        for h in H:
            s = scores.get(h)
            if not s or s["mape"] is None or (name, h) not in best:
                continue
            ratios.setdefault(model, {}).setdefault(h, []).append(s["mape"] / best[(name, h)])
            if s.get("coverage80") is not None:
                c = cover.setdefault(model, {}).setdefault(h, [0.0, 0])
                c[0] += s["coverage80"] * s["n"]
                c[1] += s["n"]
for model in sorted(ratios):
    by_h = ratios[model]
    geo = [math.exp(sum(map(math.log, by_h[h])) / len(by_h[h])) if h in by_h else math.nan for h in H]
    med = [sorted(by_h[h])[len(by_h[h]) // 2] if h in by_h else math.nan for h in H]
    cov = [cover[model][h][0] / cover[model][h][1] if h in cover.get(model, {}) and cover[model][h][1] else math.nan for h in H]
    n = max(len(v) for v in by_h.values())
    print(f"{model:16} n={n:2} geo " + " ".join(f"{x:6.3f}" for x in geo)
          + "  median " + " ".join(f"{x:6.3f}" for x in med)
          + "  coverage " + " ".join(f"{x:5.3f}" for x in cov))
