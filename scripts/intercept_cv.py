#!/usr/bin/env python3
"""Each member's forecast moved by its own error at the last known hour
(an intercept correction), measured offline as scripts/corpus_cv.py
measures the product's rule (docs/experiments.md, 2026-12-05,
twenty-sixth session).

A member that holds a level it learnt from older hours (a daily median,
MSTL's trend, a tree) misses the last known hour by some error e; its
forecast at lead h moves by e x phi^h (`add`), or is scaled by
(y / f)^(phi^h) (`mul`), at every origin, the validation origins
included, so the choice weighs the corrected members by their own record.
The error is that of the member's forecast made one hour before the
origin, for the last known hour: live that is the previous refresh's.

Needs member dumps that hold, next to each origin the product reads, the
hour before it (a backtest that dumps every hour, e.g. the branch
experiment/hourly-validation's run with --hourly-up-to 6); origins whose
hour before is missing are left uncorrected (counted in the output), or,
with DROP=1, hold no forecast in any variant, the product's rule
included, so that every variant reads the same origins.

    python3 scripts/intercept_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy.
"""
import glob
import os
import sys

import numpy as np

from corpus_cv import PRODUCT, Series, baselines, corpus_names, cross_checks, fold_sets, reporter
from far_cv import per_horizon_table
from recombine import STEP

# Members never corrected: naive is the last hour itself.
NEVER = {"naive"}
# DROP=1 in the environment: the origins without the hour before are left
# out of every variant, the product's rule included.
DROP = os.environ.get("DROP") == "1"


def corrected(d, phi, kind, which, missing, drop):
    """The dump `d` with each member's forecasts corrected by its error at
    the last known hour (members: `which`, "all" or "untracked", the ones
    that do not track the level), keeping only the origins the product
    reads (the 6-hour grid and the test origins)."""
    y, obs = d["y"], d["observed"]
    pts = {o: f for o, f in d["points"]}
    start = d["start_hour"]
    keep = [o for o in pts if (start + o) % STEP == 0 or o in d["origins"]]
    if drop:
        # Like with like: in every variant, the product's rule included, the
        # origins without the hour before hold no forecast (never read).
        for o in keep:
            if o not in d["origins"] and not (o - 1 in pts and obs[o - 1]):
                pts[o] = [None] * len(pts[o])
    fix = [
        n not in NEVER and (which == "all" or not t) for n, t in zip(d["members"], d["tracks_level"])
    ]
    decay = phi ** np.arange(1, 49)
    out = []
    for o in keep:
        f = pts[o]
        before = pts.get(o - 1)
        if phi > 0 and (before is None or not obs[o - 1]):
            missing[0] += 1
        if phi == 0 or before is None or not obs[o - 1]:
            out.append([o, f])
            continue
        last = y[o - 1]
        g = []
        for j, fj in enumerate(f):
            b = before[j]
            if fj is None or b is None or not fix[j] or not b:
                g.append(fj)
                continue
            fj = np.array(fj, float)
            n = len(fj)
            if kind == "add":
                fj = fj + (last - b[0]) * decay[:n]
            else:
                if b[0] <= 0 or last <= 0:
                    g.append(list(fj))
                    continue
                fj = fj * (last / b[0]) ** decay[:n]
            g.append(list(fj))
        out.append([o, g])
    d = dict(d)
    d["points"] = out
    return d


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    best, group = baselines(sys.argv[2:])
    corpus = corpus_names(group, sys.argv[2])
    paths = sorted(glob.glob(os.path.join(sys.argv[1], "*.members.json")))
    variants = [("product", 0.0, "add", "all")]
    for kind in ("add", "mul"):
        for which in ("untracked", "all"):
            for phi in (0.5, 0.8, 0.9, 0.95):
                variants.append((f"{kind} {which} {phi}", phi, kind, which))
    by, fcs, names = {}, {}, None
    for label, phi, kind, which in variants:
        missing = [0]
        series = [Series(p, best, adapt=lambda d: corrected(d, phi, kind, which, missing, DROP)) for p in paths]
        if names is None:
            names = [s.name for s in series]
            report = reporter(names, corpus)
            sets = fold_sets(names)
        chosen = [s.weights(s.pooled("ape", PRODUCT[1]), *PRODUCT[2:]) for s in series]
        fcs[label] = [s.forecast(w) for s, w in zip(series, chosen)]
        by[label] = np.array([s.mape_ratio(f) for s, f in zip(series, fcs[label])])
        if label == "product":
            ys = series
        gone = "read by no variant" if DROP else "left uncorrected"
        report(f"{label} ({missing[0]} origins without the hour before, {gone})", by[label])
    print("per horizon (1/6/12/24/48 h) against the product: log geo + log median on all, fold A, fold B; sMAPE")
    per_horizon_table(ys, by, fcs, "product", sets, 18)
    cross_checks(names, by, "product")


if __name__ == "__main__":
    main()
