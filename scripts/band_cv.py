#!/usr/bin/env python3
"""Choose the band's residual quantiles (`BAND_Q`, 1-24 h, and
`BAND_Q_48` in src/forecast/ensemble.rs) by cross-validation across series.

Input: the folder of `scripts/global_cv.sh` (OUT/bt: backtest JSON and
member dumps) and the baselines files (they name the corpus series). For
every series and test origin, the band is rebuilt as the product builds
it: the relative residuals of the forecasts the ensemble made at the
validation origins, each combined with the weights the product's
selection rule (`corpus_cv.PRODUCT`) chose at that origin, pooled over the
horizons `banded` pools; its pooled p10-p90 coverage of the test targets
is counted at 1, 6, 12 and 24 h for each candidate `BAND_Q` and at 48 h
for each candidate `BAND_Q_48`. (The weights at a scored horizon stand in
for its neighbours'; the first lines printed compare the band at the
product's quantiles with the backtest's own coverage80.) The series are
dealt into the folds of corpus_cv.py; the quantile whose pooled coverage
on one fold is nearest 0.80 is reported on the other, then on all.

--in-sample: the band before 2026-12-02 (eighth session), the residuals
of today's weights at every validation origin (the older dumps carry the
grid from the first test origin's earliest validation origin only).

    python3 scripts/band_cv.py [--in-sample] OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. About 5 minutes on one core.
"""
import glob
import json
import os
import sys

import numpy as np

from corpus_cv import PRODUCT, SCORED, VALIDATION, Series, baselines, corpus_names, folds
from recombine import H, validation_origins

# The quantile curves searched: `BAND_Q` at 1 h (flat to 24 h, the
# product's shape before 2026-12-02, eighth session, or falling linearly
# all the way) and `BAND_Q_48` at 48 h, each on a 0.005 grid.
GRID_Q = [round(0.04 + 0.005 * k, 3) for k in range(17)]
GRID_Q48 = [round(0.025 + 0.005 * k, 3) for k in range(12)]
SHAPES = ("flat to 24 h", "linear from 1 h")
# The product's quantiles and shape (BAND_Q, BAND_Q_48 and `band_q` in
# src/forecast/ensemble.rs): the recombined band at them is checked
# against the backtest's own coverage80 (dumps made by the build that has
# them).
PRODUCT_Q, PRODUCT_Q48, PRODUCT_SHAPE = 0.08, 0.045, "linear from 1 h"


def band_q(h, q, q48, shape):
    """The residual quantile at horizon h of a curve."""
    if shape == "flat to 24 h":
        return q + (q48 - q) * min(max(h - 24, 0) / 24.0, 1.0)
    return q + (q48 - q) * (h - 1) / 47.0


def quantile(s, q):
    if not s:
        return 0.0
    pos = q * (len(s) - 1)
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def combine(ww, pts):
    """The ensemble's point from member weights `ww` and member points
    `pts` (None where no weighted member forecasts)."""
    ok = ~np.isnan(pts)
    if (ww * ok).sum() == 0:
        return None
    return (ww * np.nan_to_num(pts))[ok].sum() / ww[ok].sum()


def band_window(h):
    """The horizons `banded` pools for horizon h (1-based)."""
    half = min(max(h // 2, 1), 3)  # banded's window at 0-based h - 1
    return range(max(1, h - half), min(H, h + half) + 1)


def residuals(series, vi, ww, win):
    """Relative residuals of the combined forecast at validation origin
    `vi` (grid index) over the horizons `win`, with weights `ww`."""
    y, obs, p, v = series.raw_y, series.observed, series.points, series.grid[vi]
    out = []
    for k in win:
        pe = combine(ww, p[vi, :, k - 1])
        if obs[v + k - 1] and pe is not None and abs(pe) > 1e-12:
            out.append(y[v + k - 1] / pe - 1)
    return out


def inside(point, res, q, target):
    """Whether `target` lies in `banded`'s band around `point` from the
    residuals `res` at quantile q (widened towards +-30 % under 30)."""
    res = sorted(res)
    lo, hi = (quantile(res, q), quantile(res, 1 - q)) if res else (-0.3, 0.3)
    if len(res) < 30:
        k = 1 - len(res) / 30
        lo, hi = min(lo, 0) - 0.3 * k, max(hi, 0) + 0.3 * k
    lo, hi = min(lo, 0), max(hi, 0)
    return max(point * (1 + lo), 0) <= target <= max(point * (1 + hi), 0)


def weights_at_every_origin(path, best):
    """The test origins' series, and the weights (scored horizons,
    members) the product chose at every dumped grid origin whose own
    validation origins were all dumped."""
    s = Series(path, best)
    start = json.load(open(path))["start_hour"]
    every = [o for o in s.grid if all(v in s.at for v in validation_origins(start, o, VALIDATION))]
    sa = Series(path, best, origins=every)
    return s, dict(zip(every, sa.weights(sa.pooled("ape", 0.9), *PRODUCT[2:])))


def widest_inside(point, res, target):
    """The largest residual quantile q (of 0-0.5, to 1e-4) whose band
    around `point` still holds `target` (-1 if none does): the band
    narrows as q grows, so the target is inside at every q up to it."""
    if not inside(point, res, 0.0, target):
        return -1.0
    lo, hi = 0.0, 0.5
    if inside(point, res, hi, target):
        return hi
    while hi - lo > 1e-4:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if inside(point, res, mid, target) else (lo, mid)
    return lo


def covered(path, best, in_sample=False):
    """Per scored horizon: for each test target, the widest quantile whose
    band holds it ([`widest_inside`]); and the backtest's own [inside,
    targets] at each scored horizon."""
    s, w_at = weights_at_every_origin(path, best)
    w = s.weights(s.pooled("ape", 0.9), *PRODUCT[2:])
    reported = json.load(open(path.replace(".members.json", ".json")))["models"]["ensemble"]
    out, own = {}, {}
    for x, h in enumerate(SCORED):
        win = band_window(h)
        out[h] = []
        for oi, o in enumerate(s.origins):
            t = o + h - 1
            if t >= len(s.raw_y) or not s.observed[t]:
                continue
            point = combine(w[oi, x], s.points[s.at[o], :, h - 1])
            if point is None:
                continue
            res = []
            for vi in s.val[oi]:
                v = s.grid[vi]
                if in_sample or v in w_at:
                    res += residuals(s, vi, w[oi, x] if in_sample else w_at[v][x], win)
            out[h].append(widest_inside(max(point, 0.0), sorted(res), s.raw_y[t]))
        r = reported.get(str(h), {})
        own[h] = [(r.get("coverage80") or 0) * r.get("n", 0), r.get("n", 0)]
    return s.name, out, own


def main():
    args = [a for a in sys.argv[1:] if a != "--in-sample"]
    if len(args) < 3:
        sys.exit(__doc__)
    best, group = baselines(args[1:])
    corpus = corpus_names(group, args[1])
    widest, own = {}, {}
    for path in sorted(glob.glob(os.path.join(args[0], "*.members.json"))):
        name, widest[name], own[name] = covered(path, best, "--in-sample" in sys.argv)
    names = sorted(widest)
    fold = folds(names)
    sets = {
        "corpus": [n for n in names if n in corpus],
        "dev": [n for n in names if n not in corpus],
        "A": [n for n in names if fold[n] == "A"],
        "B": [n for n in names if fold[n] == "B"],
        "all": names,
    }
    for k in ("A", "B", "all"):
        sets[k + " corpus"] = [n for n in sets[k] if n in corpus]
        sets[k + " dev"] = [n for n in sets[k] if n not in corpus]
    by = {k: {h: np.array([q for n in ns for q in widest[n][h]]) for h in SCORED} for k, ns in sets.items()}

    def coverage(k, curve):
        return [float(np.mean(by[k][h] >= band_q(h, *curve) - 1e-12)) for h in SCORED]

    def worst(k, curve):
        return max(abs(c - 0.80) for c in coverage(k, curve))

    def line(curve):
        return "; ".join(f"{k} " + " ".join(f"{c:.3f}" for c in coverage(k, curve)) for k in ("corpus", "dev"))

    for k in ("corpus", "dev"):
        theirs = " ".join(f"{sum(own[n][h][0] for n in sets[k]) / max(sum(own[n][h][1] for n in sets[k]), 1):.3f}" for h in SCORED)
        print(f"{k}: the backtest's own coverage80 {theirs} (1/6/12/24/48 h)")
    product = (PRODUCT_Q, PRODUCT_Q48, PRODUCT_SHAPE)
    print(f"recombined at the product's {product}: {line(product)}")
    curves = [(q, q48, shape) for shape in SHAPES for q in GRID_Q for q48 in GRID_Q48]
    print("chosen on one fold (the curve whose coverage80 is nearest 0.80 at its worst scored horizon):")
    for tune, test in (("A", "B"), ("B", "A"), ("all", None)):
        for shape in SHAPES:
            c = min((c for c in curves if c[2] == shape), key=lambda c: (worst(tune, c), c))
            on = f"; fold {test} worst {worst(test, c):.3f} ({' '.join(f'{v:.3f}' for v in coverage(test, c))})" if test else ""
            print(f"  on {tune}, {shape}: {c[0]}/{c[1]}, worst {worst(tune, c):.3f}{on}; {line(c)}")

    def outside(k, curve):
        """The bar's way: how far the worst scored horizon falls outside
        0.75-0.85 (0 inside), on the fold's corpus and dev series apart."""
        return max(max(0.75 - c, c - 0.85, 0.0) for g in (" corpus", " dev") for c in coverage(k + g, curve))

    def spread(k, curve):
        return max(abs(c - 0.80) for g in (" corpus", " dev") for c in coverage(k + g, curve))

    print("chosen on one fold's corpus and dev series apart (the curve least outside 0.75-0.85, then nearest 0.80):")
    for tune, test in (("A", "B"), ("B", "A"), ("all", None)):
        for shape in SHAPES:
            c = min((c for c in curves if c[2] == shape), key=lambda c: (round(outside(tune, c), 6), spread(tune, c), c))
            on = f"; fold {test} outside {outside(test, c):.3f}" if test else ""
            print(f"  on {tune}, {shape}: {c[0]}/{c[1]}, outside {outside(tune, c):.3f}{on}; {line(c)}")


if __name__ == "__main__":
    main()
