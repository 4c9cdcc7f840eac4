#!/usr/bin/env python3
"""How much the band's validation residuals understate the error because
the weights were chosen on the same origins (a measurement, not the
product; docs/experiments.md, 2026-12-02, seventh session).

The product's band (`banded` in src/forecast/ensemble.rs) takes the
combined forecast's residuals at the validation origins with the weights
chosen now, on those origins: in-sample for the choice. Here each
validation origin's forecast is combined instead with the weights the
ensemble chose at that origin itself ("honest"), and the pooled p10-p90
coverage of the test targets is counted both ways at each scored
horizon, at the product's quantiles (`band_q`), per set, next to the
backtest's own pooled coverage80 (the recombined "product" line differs
from it because the weights at a scored horizon stand for its
neighbours, as in band_cv.py).

    python3 scripts/band_honest.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

OUT/bt: the dumps of scripts/global_cv.sh. Needs numpy; about a minute.
"""
import glob
import json
import os
import sys

from band_cv import PRODUCT_Q48, band_window, combine, inside, residuals
from corpus_cv import PRODUCT, SCORED, VALIDATION, Series, baselines
from recombine import validation_origins

# BAND_Q in src/forecast/ensemble.rs (1-24 h); PRODUCT_Q48 is BAND_Q_48.
PRODUCT_Q = 0.06


def band_q(h):
    """`band_q` of src/forecast/ensemble.rs."""
    far = min(max(h - 24, 0) / 24.0, 1.0)
    return PRODUCT_Q + (PRODUCT_Q48 - PRODUCT_Q) * far


def counts(path, best):
    """Per scored horizon: [inside, targets] for the product's residuals,
    for each origin's own weights, and the backtest's own coverage80."""
    s = Series(path, best)
    start = json.load(open(path))["start_hour"]
    # Every grid origin whose validation origins were all dumped, as a test origin.
    every = [o for o in s.grid if all(v in s.at for v in validation_origins(start, o, VALIDATION))]
    sa = Series(path, best, origins=every)
    w_at = dict(zip(every, sa.weights(sa.pooled("ape", 0.9), *PRODUCT[2:])))
    w = s.weights(s.pooled("ape", 0.9), *PRODUCT[2:])
    reported = json.load(open(path.replace(".members.json", ".json")))["models"]["ensemble"]
    out = {}
    for x, h in enumerate(SCORED):
        win = band_window(h)
        cnt = {"product": [0, 0], "honest": [0, 0]}
        for oi, o in enumerate(s.origins):
            t = o + h - 1
            if t >= len(s.raw_y) or not s.observed[t]:
                continue
            point = combine(w[oi, x], s.points[s.at[o], :, h - 1])
            if point is None:
                continue
            for kind in cnt:
                res = []
                for vi in s.val[oi]:
                    v = s.grid[vi]
                    if kind == "product" or v in w_at:
                        ww = w[oi, x] if kind == "product" else w_at[v][x]
                        res += residuals(s, vi, ww, win)
                cnt[kind][0] += int(inside(max(point, 0.0), res, band_q(h), s.raw_y[t]))
                cnt[kind][1] += 1
        r = reported.get(str(h), {})
        n = r.get("n", 0)
        cnt["backtest"] = [(r.get("coverage80") or 0) * n, n]
        out[h] = cnt
    return s.name, out


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    best, group = baselines(sys.argv[2:])
    corpus = {n for n, g in group.items() if g == os.path.basename(sys.argv[2])}
    by = dict(counts(p, best) for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.members.json"))))
    for label, names in (("corpus", [n for n in by if n in corpus]), ("dev", [n for n in by if n not in corpus])):
        for kind in ("backtest", "product", "honest"):
            pooled = [sum(by[n][h][kind][0] for n in names) / max(sum(by[n][h][kind][1] for n in names), 1) for h in SCORED]
            print(f"{label:6s} {kind:8s} " + " ".join(f"{h} h {c:.3f}" for h, c in zip(SCORED, pooled)))


if __name__ == "__main__":
    main()
