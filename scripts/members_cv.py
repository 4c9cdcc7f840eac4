#!/usr/bin/env python3
"""Which members the ensemble chooses among (docs/experiments.md,
2026-12-03, eleventh session), recombined offline from the member dumps of
scripts/global_cv.sh as scripts/corpus_cv.py recombines the product:

- step one: each member left out of the dumps in turn (its forecasts gone,
  as if it were not registered), the product's rule on the rest;
- each fold's choice (the member whose leaving out scores best on it)
  scored on the other fold, and one source left out at a time (the choice
  among leaving none and each member out made on the other sources'
  series, scored on the source left out);
- step two: the same from the step's best, once more (`--steps 2`).

`--weekly-test Z` recombines the dumps of a build whose week's seasonal
naive forecasts everywhere as if it forecast only where the history
before each origin repeats weekly (autocorrelation at 168 hours over Z
Bartlett standard errors; the product: 1.645, on the cleaned history,
which the dumps do not hold, so a real run differs a little).

`--drop a,b` starts from dumps already without members a and b (e.g. a
candidate member's dumps, to score the product without it). `--against
OTHER/bt` also prints, source by source, how much the objective moved
from OTHER's dumps (e.g. the product before a change) to these, and each
series whose ratio moved by a tenth or more at some horizon.

Each line: the objective (mean over horizons of log geometric mean + log
median of the ratios, lower is better) on all series, fold A and fold B,
then the corpus's and the dev series' geometric means and medians, and
the dev series' mean (the dev bar's statistic).

    python3 scripts/members_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json [--drop a,b] [--steps 2] [--against OTHER/bt] [--weekly-test Z]

Needs numpy. About four minutes a step.
"""
import sys

import numpy as np

import corpus_cv as cc


def has_cycle(y, z, lag=168):
    """season::has_cycle: the autocorrelation at `lag` over `z` Bartlett
    standard errors (none under two periods)."""
    n = len(y)
    if n < 2 * lag or np.all(y == y[0]):
        return False
    x = y - y.mean()
    f = np.fft.rfft(x, 2 * n)
    r = np.fft.irfft(f * np.conj(f))[: lag + 1]
    r = r / r[0]
    se = np.sqrt((1 + 2 * np.sum(r[1:lag] ** 2)) / n)
    return bool(abs(r[lag]) / se > z)


def adapted(left_out, weekly_z):
    """The change to a member dump (corpus_cv.Series' `adapt`): the members
    in `left_out` taken out (names, flags and forecasts alike) and, with
    `weekly_z`, seasonal168's forecast masked at each origin whose history
    fails the weekly test."""

    def adapt(d):
        keep = [i for i, n in enumerate(d["members"]) if n not in left_out]
        for key in ("members", "tracks_level", "first_hours", "on_merit"):
            if key in d:
                d[key] = [d[key][i] for i in keep]
        d["points"] = [[o, [p[i] for i in keep]] for o, p in d["points"]]
        if weekly_z is not None and "seasonal168" in d["members"]:
            j, y = d["members"].index("seasonal168"), np.array(d["y"], float)
            for o, p in d["points"]:
                if p[j] is not None and not has_cycle(y[:o], weekly_z):
                    p[j] = None
        return d

    return adapt


def ratios(folder, best, left_out, weekly_z=None):
    """The product's rule on the dumps of `folder` without `left_out`:
    (names, ratios, the members that remain)."""
    series = cc.dumps(folder, best, adapted(left_out, weekly_z))
    pooled = [s.pooled("ape", cc.PRODUCT[1]) for s in series]
    r = np.array([s.ratios(p, *cc.PRODUCT[2:]) for s, p in zip(series, pooled)])
    return [s.name for s in series], r, series[0].members


def by_source(names, r, other, label):
    """How much the objective moved from `other` to `r`, source by source."""
    src = [cc.source(n) for n in names]
    for s in sorted(set(src)):
        ix = [i for i, x in enumerate(src) if x == s]
        print(f"  {label}, {s:22s} {len(ix):3d} series: objective {cc.objective(r[ix]) - cc.objective(other[ix]):+.4f}")


def main():
    argv, base, steps, against, weekly_z = [], [], 1, None, None
    it = iter(sys.argv)
    for a in it:
        if a == "--drop":
            base = next(it).split(",")
        elif a == "--steps":
            steps = int(next(it))
        elif a == "--against":
            against = next(it)
        elif a == "--weekly-test":
            weekly_z = float(next(it))
        else:
            argv.append(a)
    if len(argv) < 4:
        sys.exit(__doc__)
    best, group = cc.baselines(argv[2:])
    corpus = cc.corpus_names(group, argv[2])
    names, kept, members = ratios(argv[1], best, base, weekly_z)
    report = cc.reporter(names, corpus)
    sets = cc.fold_sets(names)

    left = list(base)
    report(f"without {','.join(left) or 'none'} (start)", kept)
    if against:
        names_o, other, _ = ratios(against, best, base)
        assert names_o == names, "the two folders hold different series"
        report(f"{against}", other)
        by_source(names, kept, other, f"from {against}")
        # The series whose ratio moved by a tenth or more at some horizon.
        for i in np.flatnonzero(np.any(np.abs(kept / other - 1) >= 0.1, 1)):
            print(f"  {names[i]:34s} " + " ".join(f"{a:.2f}->{b:.2f}" for a, b in zip(other[i], kept[i])))
    for step in range(steps):
        # Naive serves the first hours of a cold start: never left out.
        trials = {m: ratios(argv[1], best, left + [m], weekly_z)[1] for m in members if m != "naive" and m not in left}
        for m, r in trials.items():
            report(f"step {step + 1}: also without {m}", r)
        choice = {k: min(trials, key=lambda m: cc.objective(trials[m][ix])) for k, ix in sets.items()}
        for tune, test in (("A", "B"), ("B", "A")):
            m, ix = choice[tune], sets[test]
            print(f"step {step + 1}: fold {tune} leaves out {m}; on fold {test} {cc.objective(trials[m][ix]):.4f} against {cc.objective(kept[ix]):.4f} without it")
        best_m = min(trials, key=lambda m: cc.objective(trials[m]))
        by_source(names, trials[best_m], kept, f"without {best_m}")
        # One source left out at a time: the choice among leaving none and
        # each member out made on the other sources' series.
        held, picks = cc.one_source_out(names, {"none": kept, **trials})
        print(f"step {step + 1}: one source left out at a time, held-out objective {cc.objective(held):.4f} against {cc.objective(kept):.4f} leaving none out; left out: {picks}")
        left.append(best_m)
        kept = trials[best_m]


if __name__ == "__main__":
    main()
