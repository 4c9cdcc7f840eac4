#!/usr/bin/env python3
"""A rejected experiment (docs/experiments.md, 2026-12-03): the point
forecast scaled down by a factor chosen on the series' own validation
origins to minimize their absolute percentage error (the protocol's
metric), against the product's rule.

    python3 scripts/shrink_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

OUT/bt as for scripts/corpus_cv.py. Each factor a of 0, 0.05, ..., 1 is
scored on the validation hours known before the test origin, with the
test origin's weights (recency-weighted as the selection is); a < 1 is
taken only where it cuts that error below THRESHOLD times the unscaled
one. Prints the corpus and dev figures per threshold, then which series
and horizons were scaled, how often, and the median factor; then, for
comparison, the product's rule with other error measures in its
selection (APE capped at 0.5, 1 or 2; absolute error; sMAPE), which
tame the near-zero hours in a fairer way.
"""
import collections
import sys

import numpy as np

import corpus_cv as C

FACTORS = np.round(np.arange(0.0, 1.0001, 0.05), 2)
THRESHOLDS = [1.0, 0.9, 0.5]


def main():
    series, report = C.variant_report(sys.argv, __doc__)
    rule = C.PRODUCT
    scaled = collections.defaultdict(list)
    for th in THRESHOLDS:
        ratios = []
        for s in series:
            w = s.weights(s.pooled("ape", rule[1]), *rule[2:])
            out = np.full((len(s.origins), len(C.SCORED)), np.nan)
            for oi, vi, x, sl, _, wv in s.windows("ape", rule[1]):
                p = s.points[vi][:, :, sl]
                ww = w[oi, x][None, :, None]
                with np.errstate(invalid="ignore", divide="ignore"):
                    comb = np.maximum(np.nansum(p * ww, 1) / (~np.isnan(p) * ww).sum(1), 0)
                t = np.array([s.grid[v] for v in vi])[:, None] + np.arange(sl.start, sl.stop)[None, :]
                inside = t < len(s.raw_y)
                tc = np.where(inside, t, 0)
                known = inside & (t < s.origins[oi]) & s.observed[tc]
                yv = np.where(known, s.raw_y[tc], np.nan)
                ok = known & ~np.isnan(comb) & (yv != 0)
                a = 1.0
                if ok.any():
                    wt = np.broadcast_to(wv[:, None], ok.shape)[ok]
                    err = [np.sum(wt * np.abs(yv[ok] - f * comb[ok]) / np.abs(yv[ok])) / wt.sum() for f in FACTORS]
                    if min(err) < th * err[-1]:
                        a = FACTORS[int(np.argmin(err))]
                if a < 1 and th == THRESHOLDS[-1]:
                    scaled[(s.name, C.SCORED[x])].append(a)
                now = s.now[oi, :, x]
                fc = max((w[oi, x] * np.nan_to_num(now)).sum() / (w[oi, x] * ~np.isnan(now)).sum(), 0) * a
                y = s.y[oi, x]
                out[oi, x] = abs(y - fc) / abs(y)
            ratios.append(np.nanmean(out, 0) * 100 / s.best)
        report(f"scaled where it cuts the validation error below {th}x", np.array(ratios))
    by = collections.defaultdict(list)
    for (name, h), a in sorted(scaled.items()):
        by[name].append(f"{h} h: {len(a)} origins, median {np.median(a):.2f}")
    print(f"\nscaled at threshold {THRESHOLDS[-1]}:")
    for name, v in by.items():
        print(f"  {name}: " + "; ".join(v))
    print("\nthe selection's error measure (no scaling):")
    for s in series:
        ape = s.err["ape"]
        for cap in (0.5, 1.0, 2.0):
            s.err[f"ape capped at {cap}"] = np.minimum(ape, cap)
        t = np.array(s.grid)[:, None] + np.arange(C.H)[None, :]
        inside = t < len(s.raw_y)
        tc = np.where(inside, t, 0)
        s.err["absolute error"] = ape * np.abs(np.where(inside & s.observed[tc], s.raw_y[tc], np.nan))[:, None, :]
    for metric in ["ape", "ape capped at 0.5", "ape capped at 1.0", "ape capped at 2.0", "absolute error", "smape"]:
        report(metric, np.array([s.ratios(s.pooled(metric, rule[1]), *rule[2:]) for s in series]))


if __name__ == "__main__":
    main()
