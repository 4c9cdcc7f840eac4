#!/usr/bin/env python3
"""What bounds the dev series' 1-h and 6-h cells (docs/experiments.md,
2026-12-05, twenty-sixth session), from the member dumps of one
out-of-fold run (scripts/global_cv.sh), scored as scripts/corpus_cv.py
scores the product (MAPE / the hindsight-best baseline's, per series and
horizon):

- a few members alone and fixed means of them, on the dev series (mean
  and geometric mean, the dev bar's statistics) and on the corpus
  (geometric mean), next to the product's ensemble;
- with hindsight, each dev series' best member, pair or triple of
  members (their plain mean) at each horizon: what a choice per series
  could reach if it knew the answers.

    python3 scripts/dev_bound.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. About a minute.
"""
import itertools
import sys

import numpy as np

from corpus_cv import PRODUCT, baselines, corpus_names, dumps

FIXED = [["ets"], ["theta"], ["ets", "theta"], ["ets", "theta", "mstl"]]


def geo(r):
    return np.exp(np.nanmean(np.log(r), 0))


def row(values):
    return " ".join(f"{v:.3f}" for v in values)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    best, group = baselines(sys.argv[2:])
    corpus = corpus_names(group, sys.argv[2])
    series = dumps(sys.argv[1], best)
    dev = [i for i, s in enumerate(series) if s.name not in corpus]
    cor = [i for i, s in enumerate(series) if s.name in corpus]
    mean_of = lambda s, names: np.nanmean(s.now[:, [s.members.index(m) for m in names], :], 1)
    by = {"ensemble": np.array([s.mape_ratio(s.forecast(s.weights(s.pooled("ape", PRODUCT[1]), *PRODUCT[2:]))) for s in series])}
    for names in FIXED:
        by[" + ".join(names)] = np.array([s.mape_ratio(mean_of(s, names)) for s in series])
    print("1/6/12/24/48 h: dev mean | dev geometric mean | corpus geometric mean")
    for label, r in by.items():
        print(f"  {label:22s} {row(np.nanmean(r[dev], 0))} | {row(geo(r[dev]))} | {row(geo(r[cor]))}")
    print("hindsight: each dev series' best member, pair or triple at each horizon (1 / 6 h, and which)")
    bound = []
    for i in dev:
        s = series[i]
        m = len(s.members)
        cands = [c for k in (1, 2, 3) for c in itertools.combinations(range(m), k)]
        r = np.array([s.mape_ratio(np.mean(s.now[:, list(c), :], 1)) for c in cands])
        r = np.where(np.isnan(r), np.inf, r)
        pick = r.argmin(0)
        bound.append(r.min(0))
        which = lambda x: "+".join(s.members[j] for j in cands[pick[x]])
        print(f"  {s.name:28s} {r.min(0)[0]:.3f} ({which(0)})  {r.min(0)[1]:.3f} ({which(1)})")
    bound = np.array(bound)
    print(f"  dev mean {row(bound.mean(0))}  geometric mean {row(geo(bound))}")


if __name__ == "__main__":
    main()
