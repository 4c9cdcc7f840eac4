#!/usr/bin/env python3
"""The weighted median in the combined forecast (docs/experiments.md,
2026-12-04, nineteenth session), recombined offline from the member dumps
of one out-of-fold run (scripts/global_cv.sh) as scripts/corpus_cv.py does.

The product's choice gives each member a weight at each horizon; the
combined forecast was their weighted mean. Here it is (1 - s) x the
weighted mean + s x the weighted median of the same members under the
same weights, for shares s of 0.25 to 1 at every scored horizon from
1, 6, 12 or 24 h on (the weighted mean before). Each line gives the
objective on all series and on each fold, the objective with one source
left out at a time (the variant against the weighted mean alone), the
geometric mean over series of the sMAPE against the weighted mean's
(below 1: better by sMAPE too, which punishes a forecast below the target
as much as one above), and the median change of the mean signed error
(forecast - target) / target. Then, for each share at every horizon, the
change of each horizon's part of the objective (log geometric mean + log
median) on all series, on each fold, and the worst and best with one
source left out. Last, with the product's combination (half the
median from 12 h), how many candidates the choice averages again
(TOP_K 5, 8 or 12 within NEAR_BEST 1.25, 1.5 or 2 of the best): a
median might have drawn on more.

    python3 scripts/median_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. About half a minute.
"""
import sys

import numpy as np

from combination_cv import smape
from corpus_cv import PRODUCT, SCORED, cross_checks, fold_sets, objective, one_source_out, source, summary, variant_report


def main():
    series, report = variant_report(sys.argv, __doc__)
    names = [s.name for s in series]
    sets = fold_sets(names)
    rule = PRODUCT[2:]
    chosen = [s.weights(s.pooled("ape", PRODUCT[1]), *rule) for s in series]
    none = np.zeros(len(SCORED))
    mean = [s.forecast(w, median_share=none) for s, w in zip(series, chosen)]
    by = {"weighted mean": np.array([s.mape_ratio(f) for s, f in zip(series, mean)])}
    report("weighted mean (before)", by["weighted mean"])
    product = np.array([s.mape_ratio(s.forecast(w)) for s, w in zip(series, chosen)])
    report("product (half from 12 h)", product)

    def bias(s, fc):
        return np.nanmean((fc - s.y) / np.abs(s.y), 0)

    shares = [0.25, 0.5, 0.75, 1.0]
    for start in [1, 6, 12, 24]:
        for share in shares:
            at = np.array([share if h >= start else 0.0 for h in SCORED])
            fcs = [s.forecast(w, median_share=at) for s, w in zip(series, chosen)]
            label = f"median {share} from {start} h"
            r = by[label] = np.array([s.mape_ratio(f) for s, f in zip(series, fcs)])
            held, _ = one_source_out(names, {"weighted mean": by["weighted mean"], label: r})
            sm = np.array([smape(s, f) / smape(s, m) for s, f, m in zip(series, fcs, mean)])
            bi = np.array([bias(s, f) - bias(s, m) for s, f, m in zip(series, fcs, mean)])
            print(
                f"{label:24s} objective {objective(r):.4f} (A {objective(r[sets['A']]):.4f}, B {objective(r[sets['B']]):.4f}),"
                f" one source left out {objective(held):.4f}; sMAPE "
                + " ".join(f"{v:.3f}" for v in np.exp(np.nanmean(np.log(sm), 0)))
                + "; signed error "
                + " ".join(f"{v:+.3f}" for v in np.nanmedian(bi, 0))
            )
    print(f"weighted mean alone: objective {objective(by['weighted mean']):.4f} (A {objective(by['weighted mean'][sets['A']]):.4f}, B {objective(by['weighted mean'][sets['B']]):.4f})")

    def per_horizon(r):
        g, md = summary(r)
        return np.log(g) + np.log(md)

    base = by["weighted mean"]
    src = [source(n) for n in names]
    fmt = lambda v: " ".join(f"{x:+.4f}" for x in v)
    print("per horizon (1/6/12/24/48 h), the change of log geo + log median against the weighted mean:")
    for share in shares:
        r = by[f"median {share} from 1 h"]
        print(f"  share {share}: all {fmt(per_horizon(r) - per_horizon(base))}")
        for k in "AB":
            i = sets[k]
            print(f"    fold {k}: {fmt(per_horizon(r[i]) - per_horizon(base[i]))}")
        out = []
        for s0 in sorted(set(src)):
            i = [j for j, x in enumerate(src) if x != s0]
            out.append(per_horizon(r[i]) - per_horizon(base[i]))
        print(f"    one source left out, worst {fmt(np.max(out, 0))}, best {fmt(np.min(out, 0))}")

    pooled = [s.pooled("ape", PRODUCT[1]) for s in series]
    many = {}
    for k in [5, 8, 12]:
        for near in [1.25, 1.5, 2.0]:
            label = f"top {k} within {near}"
            many[label] = np.array([s.mape_ratio(s.forecast(s.weights(p, k, *rule[1:4], near))) for s, p in zip(series, pooled)])
            print(f"{label:24s} objective {objective(many[label]):.4f} (A {objective(many[label][sets['A']]):.4f}, B {objective(many[label][sets['B']]):.4f})")
    cross_checks(names, many, f"top {rule[0]} within {rule[4]}")


if __name__ == "__main__":
    main()
