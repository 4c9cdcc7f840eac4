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
from OTHER's dumps (e.g. the product before a change) to these. Each line: the objective (mean over
horizons of log geometric mean + log median of the ratios, lower is better)
on all series, fold A and fold B, then the corpus's and the dev series'
geometric means and medians, and the dev series' mean (the dev bar's
statistic).

    python3 scripts/members_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json [--drop a,b] [--steps 2] [--against OTHER/bt] [--weekly-test Z]

Needs numpy. About four minutes a step.
"""
import sys

import numpy as np

import corpus_cv as cc

_load = cc.json.load
LEFT_OUT = []
WEEKLY_Z = [None]


def has_cycle(y, lag=168):
    """season::has_cycle: the autocorrelation at `lag` over WEEKLY_Z
    Bartlett standard errors (none under two periods)."""
    n = len(y)
    if n < 2 * lag or np.all(y == y[0]):
        return False
    x = y - y.mean()
    f = np.fft.rfft(x, 2 * n)
    r = np.fft.irfft(f * np.conj(f))[: lag + 1]
    r = r / r[0]
    se = np.sqrt((1 + 2 * np.sum(r[1:lag] ** 2)) / n)
    return bool(abs(r[lag]) / se > WEEKLY_Z[0])


def load_without(f, *a, **k):
    """json.load for corpus_cv, with the members in LEFT_OUT taken out of a
    member dump (names, flags and forecasts alike)."""
    d = _load(f, *a, **k)
    if isinstance(d, dict) and "points" in d and LEFT_OUT:
        keep = [i for i, n in enumerate(d["members"]) if n not in LEFT_OUT]
        for key in ("members", "tracks_level", "first_hours", "on_merit"):
            if key in d:
                d[key] = [d[key][i] for i in keep]
        d["points"] = [[o, [p[i] for i in keep]] for o, p in d["points"]]
    if isinstance(d, dict) and "points" in d and WEEKLY_Z[0] is not None and "seasonal168" in d["members"]:
        j, y = d["members"].index("seasonal168"), np.array(d["y"], float)
        for o, p in d["points"]:
            if p[j] is not None and not has_cycle(y[:o]):
                p[j] = None
    return d


cc.json.load = load_without


def ratios(argv, left_out):
    """The product's rule on the dumps without `left_out`: (names, ratios,
    the members that remain)."""
    LEFT_OUT[:] = left_out
    series = cc.dumps(argv[1], cc.baselines(argv[2:])[0])
    pooled = [s.pooled("ape", cc.PRODUCT[1]) for s in series]
    r = np.array([s.ratios(p, *cc.PRODUCT[2:]) for s, p in zip(series, pooled)])
    return [s.name for s in series], r, series[0].members


def main():
    argv, base, steps, against = [], [], 1, None
    it = iter(sys.argv)
    for a in it:
        if a == "--drop":
            base = next(it).split(",")
        elif a == "--steps":
            steps = int(next(it))
        elif a == "--against":
            against = next(it)
        elif a == "--weekly-test":
            WEEKLY_Z[0] = float(next(it))
        else:
            argv.append(a)
    if len(argv) < 4:
        sys.exit(__doc__)
    corpus = set(cc.baselines(argv[2:3])[0])
    names, kept, members = ratios(argv, base)
    fold = cc.folds(names)
    sets = {k: [i for i, n in enumerate(names) if fold[n] == k] for k in "AB"}
    ic = [i for i, n in enumerate(names) if n in corpus]
    dev = [i for i, n in enumerate(names) if n not in corpus]
    src = [cc.source(n) for n in names]

    def report(label, r):
        print(f"{label}: objective {cc.objective(r):.4f} (fold A {cc.objective(r[sets['A']]):.4f}, fold B {cc.objective(r[sets['B']]):.4f})")
        cc.show("corpus", r[ic])
        cc.show("dev", r[dev])
        print("  dev mean " + " ".join(f"{v:.3f}" for v in r[dev].mean(0)), flush=True)

    left = list(base)
    report(f"without {','.join(left) or 'none'} (start)", kept)
    if against:
        names_o, other, _ = ratios([argv[0], against, *argv[2:]], base)
        assert names_o == names, "the two folders hold different series"
        report(f"{against}", other)
        for s in sorted(set(src)):
            ix = [i for i, x in enumerate(src) if x == s]
            print(f"  {s:22s} {len(ix):3d} series: objective {cc.objective(kept[ix]) - cc.objective(other[ix]):+.4f} from {against}")
    for step in range(steps):
        # Naive serves the first hours of a cold start: never left out.
        trials = {m: ratios(argv, left + [m])[1] for m in members if m != "naive" and m not in left}
        for m, r in trials.items():
            report(f"step {step + 1}: also without {m}", r)
        choice = {k: min(trials, key=lambda m: cc.objective(trials[m][ix])) for k, ix in sets.items()}
        for tune, test in (("A", "B"), ("B", "A")):
            m, ix = choice[tune], sets[test]
            print(f"step {step + 1}: fold {tune} leaves out {m}; on fold {test} {cc.objective(trials[m][ix]):.4f} against {cc.objective(kept[ix]):.4f} without it")
        best = min(trials, key=lambda m: cc.objective(trials[m]))
        for s in sorted(set(src)):
            ix = [i for i, x in enumerate(src) if x == s]
            print(f"  without {best}, {s:22s} {len(ix):3d} series: objective {cc.objective(trials[best][ix]) - cc.objective(kept[ix]):+.4f}")
        # One source left out at a time: the choice among keeping every
        # member and each trial, made on the other sources' series.
        options = {"none": kept, **trials}
        held, picks = np.zeros_like(kept), {}
        for s in sorted(set(src)):
            out = [i for i, x in enumerate(src) if x == s]
            rest = [i for i, x in enumerate(src) if x != s]
            picks[s] = min(options, key=lambda m: cc.objective(options[m][rest]))
            held[out] = options[picks[s]][out]
        print(f"step {step + 1}: one source left out at a time, held-out objective {cc.objective(held):.4f} against {cc.objective(kept):.4f} leaving none out; left out: {picks}")
        left.append(best)
        kept = trials[best]


if __name__ == "__main__":
    main()
