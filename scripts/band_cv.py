#!/usr/bin/env python3
"""Choose the band's 48-h residual quantile (`BAND_Q_48` in
src/forecast/ensemble.rs) by cross-validation across series.

Input: the folder of `scripts/global_cv.sh` (OUT/bt: backtest JSON and
member dumps) and the baselines files (they name the corpus series). For
every series and test origin, the product's selection rule
(`corpus_cv.PRODUCT`) gives the member weights at 48 h; the ensemble's
relative residuals at the validation origins, pooled over 45-48 h as
`banded` pools them, give the p10-p90 band for each candidate quantile,
and its pooled coverage of the 48-h targets is counted. (The weights at
48 h stand in for those of 45-47 h; the first line printed compares the
band at the product's quantile with the backtest's own 48-h coverage80:
51 of the 54 series to the third decimal on the dumps of bcda3ce.) The series are
dealt into the folds of corpus_cv.py; the quantile whose pooled coverage
on one fold is nearest 0.80 is reported on the other, then on all.

    python3 scripts/band_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. About 5 minutes on one core.
"""
import glob
import json
import os
import sys

import numpy as np

from corpus_cv import PRODUCT, Series, baselines, folds
from recombine import H

SCORED_48 = 4  # index of 48 h in corpus_cv.SCORED
QUANTILES = [0.06, 0.055, 0.05, 0.045, 0.04, 0.035]
# The product's 48-h quantile (BAND_Q_48 in src/forecast/ensemble.rs): the
# recombined band at it is checked against the backtest's own coverage80
# (dumps made by the build that has it).
PRODUCT_Q48 = 0.05


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


def covered(series, h=48):
    """Per candidate quantile: [targets inside the band, targets]."""
    y, obs, at, p = series.raw_y, series.observed, series.at, series.points
    w = series.weights(series.pooled("ape", 0.9), *PRODUCT[2:])
    win = band_window(h)
    out = {q: [0, 0] for q in QUANTILES}
    for oi, o in enumerate(series.origins):
        t = o + h - 1
        if t >= len(y) or not obs[t]:
            continue
        ww = w[oi, SCORED_48]
        point = combine(ww, p[at[o], :, h - 1])
        if point is None:
            continue
        res = [r for vi in series.val[oi] for r in residuals(series, vi, ww, win)]
        for q in QUANTILES:
            out[q][0] += int(inside(max(point, 0.0), res, q, y[t]))
            out[q][1] += 1
    return out


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    best, group = baselines(sys.argv[2:])
    corpus = {n for n, g in group.items() if g == os.path.basename(sys.argv[2])}
    counts, gaps = {}, []
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.members.json"))):
        s = Series(path, best)
        counts[s.name] = covered(s)
        reported = json.load(open(path.replace(".members.json", ".json")))["models"]["ensemble"]["48"]
        inside, n = counts[s.name][PRODUCT_Q48]
        if n and reported.get("coverage80") is not None:
            gaps.append(abs(inside / n - reported["coverage80"]))
    names = sorted(counts)
    fold = folds(names)
    sets = {
        "corpus": [n for n in names if n in corpus],
        "dev": [n for n in names if n not in corpus],
        "A": [n for n in names if fold[n] == "A"],
        "B": [n for n in names if fold[n] == "B"],
        "all": names,
    }

    def pooled(ns, q):
        return sum(counts[n][q][0] for n in ns) / max(sum(counts[n][q][1] for n in ns), 1)

    print(
        f"against the backtest's 48-h coverage80 at {PRODUCT_Q48}: {sum(g < 5e-4 for g in gaps)} of "
        f"{len(gaps)} series to the third decimal, largest difference {max(gaps, default=0):.3f}"
    )
    print("pooled 48-h coverage80 by residual quantile")
    for k, ns in sets.items():
        print(f"  {k:7s}" + "".join(f"  {q}: {pooled(ns, q):.3f}" for q in QUANTILES))
    for tune, test in (("A", "B"), ("B", "A"), ("all", None)):
        q = min(QUANTILES, key=lambda q: abs(pooled(sets[tune], q) - 0.80))
        on = f"; fold {test} {pooled(sets[test], q):.3f}" if test else ""
        print(f"nearest 0.80 on {tune}: {q}{on}; corpus {pooled(sets['corpus'], q):.3f}, dev {pooled(sets['dev'], q):.3f}")


if __name__ == "__main__":
    main()
