#!/usr/bin/env python3
"""Members far from the others left out of the hour (docs/experiments.md,
2026-12-04, twenty-first session), recombined offline from the member
dumps of one out-of-fold run (scripts/global_cv.sh) as scripts/corpus_cv.py
does.

The product's choice gives each member a weight at each horizon. At each
test origin and hour, a member whose forecast lies further than q x |the
weighted median of the weighted members| from that median is left out of
the hour's mean and median (all of them stay if none is near:
`Series.forecast(..., far=q)`, the product's FAR_FROM_MEDIAN at q = 1);
q = inf is the product before. Also the log-symmetric form, "factor r":
members below the median / r or above the median x r left out. Each line
gives the objective on all series and on each fold and the corpus's and
the dev series' figures; then, per variant, the change of each horizon's
part of the objective (log geometric mean + log median) against the
product before, on all series and on each fold, the geometric mean over
series of the sMAPE against before's (below 1: better by sMAPE too, which
punishes a forecast below the target as much as one above), and the share
of test origins whose forecast changed; last, the choice on each fold
scored on the other and with one source left out.

    python3 scripts/far_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. About a minute.
"""
import sys

import numpy as np

from combination_cv import smape
from corpus_cv import PRODUCT, cross_checks, fold_sets, summary, variant_report


def factor_forecast(s, w, r):
    """The combined forecast with the members below the weighted median / r
    or above it x r left out of the hour (all of them if none is near)."""
    return s.forecast(w, near=lambda f, c: (f >= c / r) & (f <= c * r))


def per_horizon(r):
    g, md = summary(r)
    return np.log(g) + np.log(md)


def per_horizon_table(series, by, fcs, base, sets, width, changed=False):
    """Per variant of `by` (ratios) and `fcs` (forecasts per series) other
    than the first, the change of each horizon's part of the objective
    against variant `base` on all series and on each fold (`sets`), the
    geometric mean over series of the sMAPE against base's, and, with
    `changed`, the share of test origins whose forecast changed."""
    fmt = lambda v, p="+.4f": " ".join(f"{x:{p}}" for x in v)
    for label in list(by)[1:]:
        r = by[label]
        sm = np.array([smape(s, f) / smape(s, b) for s, f, b in zip(series, fcs[label], fcs[base])])
        line = (
            f"  {label:{width}s} all {fmt(per_horizon(r) - per_horizon(by[base]))}"
            + "".join(f"  {k} {fmt(per_horizon(r[sets[k]]) - per_horizon(by[base][sets[k]]))}" for k in "AB")
            + f"  sMAPE {fmt(np.exp(np.nanmean(np.log(sm), 0)), '.3f')}"
        )
        if changed:
            moved = [np.nanmean(np.abs(f - b) > 1e-9 * np.abs(b), 0) for f, b in zip(fcs[label], fcs[base])]
            line += f"  changed {fmt(np.mean(moved, 0), '.3f')}"
        print(line)


def main():
    series, report = variant_report(sys.argv, __doc__)
    names = [s.name for s in series]
    sets = fold_sets(names)
    chosen = [s.weights(s.pooled("ape", PRODUCT[1]), *PRODUCT[2:]) for s in series]
    variants = {"before (none left out)": lambda s, w: s.forecast(w, far=np.inf)}
    for q in [0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]:
        variants[f"far {q}" + (" (product)" if q == 1.0 else "")] = lambda s, w, q=q: s.forecast(w, far=q)
    for r in [1.5, 2.0, 4.0, 10.0]:
        variants[f"factor {r}"] = lambda s, w, r=r: factor_forecast(s, w, r)
    fcs, by = {}, {}
    for label, fn in variants.items():
        fcs[label] = [fn(s, w) for s, w in zip(series, chosen)]
        by[label] = np.array([s.mape_ratio(f) for s, f in zip(series, fcs[label])])
        report(label, by[label])
    print("per horizon (1/6/12/24/48 h) against before: log geo + log median on all, fold A, fold B; sMAPE; origins changed")
    per_horizon_table(series, by, fcs, "before (none left out)", sets, 20, changed=True)
    cross_checks(names, by, "far 1.0 (product)")


if __name__ == "__main__":
    main()
