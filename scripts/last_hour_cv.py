#!/usr/bin/env python3
"""Members far from the last known hour left out of the first hours
(docs/experiments.md, 2026-12-05, twenty-fifth session; rejected),
recombined offline from the member dumps of one out-of-fold run
(scripts/global_cv.sh) as scripts/corpus_cv.py does.

After a level shift one or two hours before the origin (nab-rds-cpu-cc0c53
goes from 6 to 14.6 and stays), the members that follow the level (ETS,
Theta, naive) are right at once, while MSTL and the medians still forecast
the old level, and the choice, whose validation origins have not seen the
shift, keeps them. Variant: at the scored horizons up to K, a member whose
forecast lies further than q x the 90th percentile of the history's
|y[t+h] - y[t]| from the last known hour is left out (all of them stay if
none is near), before the product's own combination. "novel": only where
the last known hour lies outside the range of the history before the last
three hours (a new level, not a spike the series has had before).

    python3 scripts/last_hour_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Prints each variant's objective and figures (as scripts/far_cv.py), the
change of each horizon's part of the objective against the product, the
sMAPE ratio, the choice on each fold and with one source left out, and,
for the variant named by --why LABEL, the series whose forecast changed.
Needs numpy. About a minute.
"""
import sys

import numpy as np

from corpus_cv import PRODUCT, SCORED, cross_checks, fold_sets, take_option, variant_report
from far_cv import per_horizon_table


def last_and_scale(s):
    """Per test origin: the last known hour, the 90th percentile of the
    history's h-hour changes per scored horizon, and whether the last hour
    lies outside the range of the history before the last three hours."""
    y, obs = s.raw_y, s.observed
    last = np.full(len(s.origins), np.nan)
    scale = np.full((len(s.origins), len(SCORED)), np.nan)
    novel = np.zeros(len(s.origins), bool)
    for oi, o in enumerate(s.origins):
        known = np.flatnonzero(obs[:o])
        if not len(known):
            continue
        last[oi] = y[known[-1]]
        seg = np.where(obs[:o], y[:o], np.nan)
        for x, h in enumerate(SCORED):
            if len(seg) > h + 24:
                d = np.abs(seg[h:] - seg[:-h])
                d = d[~np.isnan(d)]
                if len(d):
                    scale[oi, x] = np.quantile(d, 0.9)
        before = seg[:-3][~np.isnan(seg[:-3])]
        novel[oi] = len(before) > 0 and (last[oi] > before.max() or last[oi] < before.min())
    return last, scale, novel


def near_last(s, inputs, w, q, k, only_novel):
    """The weights `w` with the members far from the last hour left out at
    the scored horizons up to k (unchanged where none is near); `inputs`:
    `last_and_scale(s)`."""
    last, scale, novel = inputs
    f = np.transpose(s.now, (0, 2, 1))
    with np.errstate(invalid="ignore"):
        far = (np.abs(f - last[:, None, None]) > q * scale[:, :, None]) & ~np.isnan(scale[:, :, None])
    far &= np.array([h <= k for h in SCORED])[None, :, None]
    if only_novel:
        far &= novel[:, None, None]
    kept = np.where(far, 0.0, np.nan_to_num(w))
    return np.where((kept * ~np.isnan(f)).sum(2, keepdims=True) > 0, kept, w)


def main():
    why, argv = take_option(sys.argv, "--why")
    series, report = variant_report(argv, __doc__)
    names = [s.name for s in series]
    sets = fold_sets(names)
    chosen = [s.weights(s.pooled("ape", PRODUCT[1]), *PRODUCT[2:]) for s in series]
    inputs = {s.name: last_and_scale(s) for s in series}
    variants = {"product": lambda s, w: s.forecast(w)}
    for novel in (False, True):
        for k in (1, 6):
            for q in (1, 2, 3, 5):
                label = f"{'novel ' if novel else ''}K{k} q{q}"
                variants[label] = lambda s, w, q=q, k=k, n=novel: s.forecast(near_last(s, inputs[s.name], w, q, k, n))
    fcs, by = {}, {}
    for label, fn in variants.items():
        fcs[label] = [fn(s, w) for s, w in zip(series, chosen)]
        by[label] = np.array([s.mape_ratio(f) for s, f in zip(series, fcs[label])])
        report(label, by[label])
    base = by["product"]
    print("per horizon (1/6/12/24/48 h) against the product: log geo + log median on all, fold A, fold B; sMAPE")
    per_horizon_table(series, by, fcs, "product", sets, 14)
    cross_checks(names, by, "product")
    if why:
        for s, a, b, ra, rb in zip(series, fcs["product"], fcs[why], base, by[why]):
            moved = np.any(np.abs(a - b) > 1e-9 * np.abs(a), 1)
            if moved.any():
                print(f"  {s.name:36s} {int(moved.sum())} of {len(s.origins)} test origins; 1 / 6 h {ra[0]:.3f} -> {rb[0]:.3f} / {ra[1]:.3f} -> {rb[1]:.3f} of the best")


if __name__ == "__main__":
    main()
