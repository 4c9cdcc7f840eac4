#!/usr/bin/env python3
"""The level median member (src/forecast/members.rs, `LevelMedian`: the
median of the last K hours, flat) added offline to the member dumps of a
`scripts/global_cv.sh` run made without it, and recombined with the
product's rule as scripts/corpus_cv.py does. Each variant K[,GATE] (GATE:
forecast only where the history does *not* repeat every GATE hours,
`has_cycle`; 0: always) is reported against the dumps' own members: the
objective, the figures, how many series gain and lose, then each fold's
choice scored on the other fold and the choice with one source left out.
The product's is 168,0 (docs/forecasting.md, "The level median").

    python3 scripts/level_median_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json K[,GATE] ...

e.g. `6,0 12,0 24,0 48,0 96,0 168,0 336,0 504,0 672,0 168,24 168,168`.
Needs numpy. About a minute a variant on 2 cores.
"""
import sys
import warnings

import numpy as np

from corpus_cv import PRODUCT, baselines, corpus_names, cross_checks, dumps, fold_sets, reporter, show
from daily_median_cv import has_cycle

warnings.simplefilter("ignore", RuntimeWarning)
H = 48


def adder(variants):
    """A dump adapter adding one flat median member per (hours, gate)."""

    def adapt(d):
        y = np.array(d["y"], float)
        for k, gate in variants:
            d["members"].append(f"level_median_{k}_{gate}")
            d["tracks_level"].append(False)
            d["first_hours"].append(False)
            if "on_merit" in d:
                d["on_merit"].append(False)
            for pt in d["points"]:
                o = pt[0]
                w = y[max(0, o - k) : o]
                ok = len(w) > 0 and not (gate and has_cycle(y[:o], gate))
                pt[1].append([float(np.median(w))] * H if ok else None)
        return d

    return adapt


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    folder, corpus_path, dev_path, *labels = sys.argv[1:]
    best, group = baselines([corpus_path, dev_path])
    corpus = corpus_names(group, corpus_path)
    rule = PRODUCT[2:]
    base = dumps(folder, best)
    names = [s.name for s in base]
    report = reporter(names, corpus)
    by = {"product": np.array([s.ratios(s.pooled("ape", 0.9), *rule) for s in base])}
    report("product", by["product"])
    for label in labels:
        k, gate = (int(x) for x in (label.split(",") + ["0"])[:2])
        series = dumps(folder, best, adapt=adder([(k, gate)]))
        by[label] = np.array([s.ratios(s.pooled("ape", 0.9), *rule) for s in series])
        report(label, by[label])
        moved = np.log(by[label] / by["product"]).mean(1)
        print(f"  series that gain {(moved < -0.005).sum()}, lose {(moved > 0.005).sum()}", flush=True)
    sets = fold_sets(names)
    for k in by:
        for f in "AB":
            show(f"{k} fold {f}", by[k][sets[f]])
    cross_checks(names, by, "product")


if __name__ == "__main__":
    main()
