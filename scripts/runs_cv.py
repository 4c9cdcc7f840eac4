#!/usr/bin/env python3
"""Choose among whole out-of-fold runs of product variants
(`scripts/global_cv.sh` folders, one per build), as the offline scripts
choose among recombined rules: each run's objective (mean over horizons of
log geometric mean + log median of the ensemble's ratio to the
hindsight-best baseline, lower is better) on all series and on each fold,
the corpus's and the dev series' figures, then whether the choice
validates: the run chosen on each fold scored on the other, and with one
source left out at a time (chosen on the other sources' series, scored on
the source left out).

    python3 scripts/runs_cv.py BASELINES-CORPUS.json BASELINES-DEV.json LABEL=OUT/bt [LABEL=OUT/bt ...] [--worst H N]

`--worst H N` also prints, for each run, the N corpus series with the
largest log ratio at horizon H and how much of the corpus's sum of log
ratios (45 x log of its geometric mean) they and the rest hold.
`--near-zero` also prints, for each run, the objective and figures of the
corpus without the 11 series whose targets sit near zero (the corpus
README lists them: MAPE explodes there), and the geometric mean of the
ratio of sMAPE to the best baseline's sMAPE on the rest (sMAPE punishes a
forecast below the target as much as one above it, unlike MAPE).
`--series NAME` also prints, for each run, that series' ratios and each
member's alone, with its mean weight in the product's choice (recombined
from the run's member dump).

Needs numpy.
"""
import json
import os
import sys

import numpy as np

import corpus_cv as cc

H = ["1", "6", "12", "24", "48"]
# The corpus series with near-zero targets (../shared/data/corpus/README.md).
NEAR_ZERO = set(
    "azure-v1-vmcpu-1555181 azure-v1-vmcpu-827636 azure-v1-vmcpu-964235 nab-asg-cpu-grok "
    "nab-ec2-cpu-77c1ca nab-ec2-diskwrite-c0d644 nab-ec2-netin-5abac7 nab-twitter-volume-cvs "
    "nab-twitter-volume-pfe nab-twitter-volume-ups seoulbike-rentals-2018".split()
)


def run_ratios(folder, best, names):
    out = []
    for n in names:
        r = json.load(open(os.path.join(folder, n + ".json")))["models"]["ensemble"]
        out.append([r[h]["mape"] / best[n][h]["mape"] for h in H])
    return np.array(out)


def member_ratios(folder, best, name):
    """Each member's ratio to the best baseline on series `name` (from its
    backtest report), at the horizons it forecasts (None elsewhere)."""
    models = json.load(open(os.path.join(folder, name + ".json")))["models"]
    return [
        (k, [m[h]["mape"] / best[name][h]["mape"] if h in m and m[h].get("mape") else None for h in H])
        for k, m in sorted(models.items())
        if k != "ensemble"
    ]


def product_weights(folder, best, name):
    """Each member's mean weight over the test origins of series `name` at
    the scored horizons, the product's choice recombined from the run's
    member dump (as scripts/corpus_cv.py does)."""
    s = cc.Series(os.path.join(folder, name + ".members.json"), best)
    w = s.weights(s.pooled("ape", cc.PRODUCT[1]), *cc.PRODUCT[2:])
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(w, 0)
    return {m: mean[:, j] for j, m in enumerate(s.members)}


def baseline_models(baseline_paths):
    """Each series' baselines' scores, by series name."""
    return {r["series"].removesuffix(".csv"): r["models"] for path in baseline_paths for r in json.load(open(path))}


def smape_ratios(folder, models, names):
    """Per series and horizon: the ensemble's sMAPE over the best baseline's
    (`models`: as `baseline_models` gives them)."""
    out = []
    for n in names:
        r = json.load(open(os.path.join(folder, n + ".json")))["models"]["ensemble"]
        out.append([r[h]["smape"] / min(m[h]["smape"] for m in models[n].values() if h in m) for h in H])
    return np.array(out)


def main():
    near_zero = "--near-zero" in sys.argv
    if near_zero:
        sys.argv.remove("--near-zero")
    series = None
    if "--series" in sys.argv:
        i = sys.argv.index("--series")
        series = sys.argv[i + 1]
        del sys.argv[i : i + 2]
    worst = None
    if "--worst" in sys.argv:
        i = sys.argv.index("--worst")
        worst = (H.index(sys.argv[i + 1]), int(sys.argv[i + 2]))
        del sys.argv[i : i + 3]
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    best, group = cc.baselines(sys.argv[1:3])
    corpus = cc.corpus_names(group, sys.argv[1])
    runs = dict(a.split("=", 1) for a in sys.argv[3:])
    first = next(iter(runs.values()))
    names = sorted(f[: -len(".json")] for f in os.listdir(first) if f.endswith(".json") and not f.endswith(".members.json"))
    names = [n for n in names if n in best]
    report = cc.reporter(names, corpus)
    models = baseline_models(sys.argv[1:3]) if near_zero else None
    by_run = {label: run_ratios(folder, best, names) for label, folder in runs.items()}
    for label, r in by_run.items():
        report(label, r)
        if worst:
            h, n = worst
            logs = sorted(((np.log(r[i, h]), names[i]) for i, x in enumerate(names) if x in corpus), reverse=True)
            top = ", ".join(f"{name} {np.exp(v):.2f}x" for v, name in logs[:n])
            print(f"  {H[h]} h: the {n} worst hold {sum(v for v, _ in logs[:n]):+.2f}, the other {len(logs) - n} {sum(v for v, _ in logs[n:]):+.2f}: {top}")
        if near_zero:
            ix = [i for i, n in enumerate(names) if n in corpus and n not in NEAR_ZERO]
            cc.show(f"corpus without near-zero, objective {cc.objective(r[ix]):.4f}", r[ix])
            sm = smape_ratios(runs[label], models, [names[i] for i in ix])
            print("  the same series' sMAPE ratio, geometric mean " + " ".join(f"{v:.3f}" for v in np.exp(np.log(sm).mean(0))))
        if series:
            print(f"  {series}: " + " ".join(f"{v:.3f}" for v in r[names.index(series)]) + "   (then each member alone, and its mean weight in the product's choice)")
            weight = product_weights(runs[label], best, series)
            for member, m in member_ratios(runs[label], best, series):
                w = weight.get(member)
                print(
                    f"    {member:14} " + " ".join("  -  " if v is None else f"{v:.3f}" for v in m)
                    + "   weight " + ("-" if w is None else " ".join(f"{v:.2f}" for v in w))
                )
    sets = cc.fold_sets(names)
    for k, other in [("A", "B"), ("B", "A")]:
        pick = min(by_run, key=lambda lb: cc.objective(by_run[lb][sets[k]]))
        scored = {lb: round(cc.objective(by_run[lb][sets[other]]), 4) for lb in by_run}
        print(f"fold {k} chooses {pick}; on fold {other}: {scored}")
    held, picks = cc.one_source_out(names, by_run)
    print(f"one source left out: held-out objective {cc.objective(held):.4f}; chosen {picks}")


if __name__ == "__main__":
    main()
