#!/usr/bin/env python3
"""The daily median member (src/forecast/members.rs, `DailyMedian`: each
hour ahead forecast by the median of the same hour over the last K days,
scaled by the level of the last S hours, the median ratio of each to its
own median over the K days before it; S = 0: unscaled) added offline to
the member dumps of a `scripts/global_cv.sh` run made without it, and
recombined with the product's rule as scripts/corpus_cv.py does. Every
(K, S) of the grid, alone and with the unscaled member beside it, is
reported against the dumps' own members: the objective, the figures, how
many series gain and lose (mean log ratio over the horizons beyond
+-0.5 %), then each fold's choice scored on the other fold and the choice
with one source left out. The product's is K = 21, S = 24
(docs/forecasting.md, "The daily median").

    python3 scripts/daily_median_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json [--only K,S ... | --margins M ... | --shift K,F[,a] ...]

`--weights SERIES MEMBER` prints instead, from the dumps of a run with
the member, the product's weight of MEMBER at each test origin of SERIES
at 1, 6, 12 and 24 h, with the member's forecast, the target and the last 9
hours known; `--best` prints, per horizon, on how many series of the
baselines files each baseline is the hindsight-best.

`--only` scores just the variants named (e.g. `--only 21,24 10,0+10,24`;
`4,0,168`: the median of the same hour of the week over 4 weeks;
`4,0,168,1`: the same only where the history repeats weekly;
`4,168,168,1`: at the level of the last week, the product's
`weekly_median`). Run on the dumps of a run with the daily median and
without the weekly one (fourteenth session), `--only 4,168,168,1 ...`
adds the weekly median beside it (docs/forecasting.md, "The weekly
median").
`--margins M ...` scores, on the dumps of a run with the daily median,
the member joining the first hours (1-3 h) where its candidates'
validation error is at most M times the best level tracker's (0: not at
the first hours; the product's is 1.0, seasonal naive's margin:
docs/forecasting.md, "The daily median").
`--shift K,F[,a] ...` scores, on the dumps of a run with the daily
median, the member with a level that follows a shift (`daily_median`'s
`shift`; measured and not kept: docs/experiments.md, sixteenth session).
Needs numpy. About five minutes on 2 cores.
"""
import itertools
import json
import os
import sys
import warnings

import numpy as np

import corpus_cv
from corpus_cv import PRODUCT, SCORED, Series, baselines, corpus_names, cross_checks, dumps, fold_sets, reporter, show

warnings.simplefilter("ignore", RuntimeWarning)
H = 48
# The product's daily median: DAILY_MEDIAN_DAYS and DAILY_MEDIAN_LEVEL_HOURS
# in src/forecast/members.rs.
PRODUCT_DAYS, PRODUCT_LEVEL_HOURS = 21, 24


def same_hour(y, t, before, days, period=24):
    """The same hour on the `days` latest days (periods) before hour `before`."""
    k0 = -(-(t - before + 1) // period)
    return [y[t - period * k] for k in range(k0, k0 + days) if t - period * k >= 0]


def daily_median(y, o, days, scale_hours, period=24, shift=None):
    """The member's 48 hours after origin `o` (None under two days); with
    `period` 168, the median of the same hour of the week over `days`
    weeks (scaled by each hour's ratio to its own weekly median). `shift`
    = (K, F, additive): where the last K or more hours' ratios all lie
    beyond F times the level (additive: further than F - 1 of it) on the
    same side, the level is their median instead (not in the product)."""
    out = []
    for t in range(o, o + H):
        v = same_hour(y, t, o, days, period)
        if len(v) < 2:
            return None
        out.append(float(np.median(v)))
    if scale_hours == 0:
        return out
    r = []
    for u in range(max(0, o - scale_hours), o):
        v = same_hour(y, u, u, days, period)
        if len(v) >= 2:
            e = np.median(v)
            if e > 0:
                r.append(y[u] / e)
    s = float(np.median(r)) if r else 1.0
    if shift and s > 0:
        k, f, additive = shift
        far = (lambda x: abs(x - s) > (f - 1) * s) if additive else (lambda x: x > f * s or x < s / f)
        tail = []
        for x in reversed(r):
            if not far(x):
                break
            tail.append(x)
        if len(tail) >= k and (min(tail) > s or max(tail) < s):
            s = float(np.median(tail))
    return [x * s for x in out]


def shift_adapter(label):
    """The dumps' daily median (the product's days and level) replaced by one
    whose level follows a shift: label K,F[,a] (`daily_median`'s
    `shift`)."""
    k, f, *a = label.split(",")
    shift = (int(k), float(f), bool(a))

    def adapt(d):
        y = np.array(d["y"], float)
        j = d["members"].index("daily_median")
        for pt in d["points"]:
            if pt[1][j] is not None:
                pt[1][j] = daily_median(y, pt[0], PRODUCT_DAYS, PRODUCT_LEVEL_HOURS, shift=shift)
        return d

    return adapt


def has_cycle(y, lag):
    """src/forecast/season.rs, `has_cycle`: the autocorrelation at `lag`
    over 1.645 of Bartlett's standard errors (never under two periods)."""
    n = len(y)
    if n < 2 * lag:
        return False
    d = y - y.mean()
    var = (d * d).sum()
    if not var > 0:
        return False
    m = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(d, m)
    ac = np.fft.irfft(f * np.conj(f), m)[: lag + 1] / var
    se = np.sqrt((1 + 2 * (ac[1:lag] ** 2).sum()) / n)
    return abs(ac[lag]) / se > 1.645


def add_member(d, name, forecast, tracks=False, merit=False):
    """Adds to dump `d` a member forecasting `forecast(origin)` (48 hours
    or None) at every origin: by default no level tracker, and not at the
    first hours; `tracks`: a level tracker that serves them; `merit`: it
    joins them on merit, with naive's margin."""
    d["members"].append(name)
    d["tracks_level"].append(tracks)
    d["first_hours"].append(tracks)
    if "on_merit" in d:
        d["on_merit"].append(merit)
    if "after_a_burst" in d:
        d["after_a_burst"].append(False)
    for pt in d["points"]:
        pt[1].append(forecast(pt[0]))


def adder(variants):
    """A dump adapter adding one member per (days, scale hours[, period[,
    gated]]); gated: only where the history repeats every period, as
    seasonal naive of a week."""

    def adapt(d):
        y = np.array(d["y"], float)
        for days, scale, *rest in variants:
            period, gated = (rest + [24, 0][len(rest) :])[:2]
            forecast = lambda o: daily_median(y, o, days, scale, period) if not gated or has_cycle(y[:o], period) else None
            add_member(d, f"daily_median_{days}_{scale}_{period}_{gated}", forecast)
        return d

    return adapt


def parse(label):
    return [tuple(int(x) for x in part.split(",")) for part in label.split("+")]


def weights(folder, best, name, member):
    """The product's weight of `member` at each test origin of `name`."""
    s = Series(os.path.join(folder, f"{name}.members.json"), best)
    w = s.weights(s.pooled("ape", 0.9), *PRODUCT[2:])
    j = s.members.index(member)
    for oi, o in enumerate(s.origins):
        last = " ".join(f"{v:.1f}" for v in s.raw_y[max(0, o - 9) : o])
        cells = [f"{h} h: weight {w[oi, x, j]:.2f} forecast {s.now[oi, j, x]:.1f} target {s.y[oi, x]:.1f}" for x, h in enumerate(SCORED) if h in (1, 6, 12, 24)]
        print(f"origin {o} (last 9 h {last}): " + "; ".join(cells))


def best_counts(paths):
    """Per horizon, how many series each baseline is the hindsight-best on."""
    for h in SCORED:
        count = {}
        for path in paths:
            for r in json.load(open(path)):
                scores = [(m[str(h)]["mape"], k) for k, m in r["models"].items() if str(h) in m and m[str(h)].get("mape")]
                k = min(scores)[1]
                count[k] = count.get(k, 0) + 1
        print(f"{h:2} h: " + ", ".join(f"{k} {v}" for k, v in sorted(count.items(), key=lambda kv: -kv[1])))


def margin_adapter(label):
    """The daily median on the first hours on margin `label` (0: not
    there), set in corpus_cv's members on their own margin before the
    label's dumps are recombined."""
    margin = float(label)
    rest = [(n, m) for n, m in corpus_cv.SEASONAL_MERIT if n != "daily_median"]
    corpus_cv.SEASONAL_MERIT[:] = rest + ([("daily_median", margin)] if margin > 0 else [])
    return lambda d: d


def main():
    args = [a for a in sys.argv[1:] if a not in ("--only", "--weights", "--best", "--margins", "--shift")]
    if len(args) < 3:
        sys.exit(__doc__)
    if "--best" in sys.argv:
        return best_counts(args[1:3])
    if "--weights" in sys.argv:
        best, _ = baselines(args[1:3])
        return weights(args[0], best, *args[3:5])
    if "--shift" in sys.argv:
        return score_variants(args[0], args[1:3], args[3:], shift_adapter)
    if "--margins" in sys.argv:
        return score_variants(args[0], args[1:3], args[3:], margin_adapter)
    only = args[3:] if "--only" in sys.argv else None
    grid = only or [f"{k},{s}" for k, s in itertools.product([5, 7, 10, 14, 21, 28], [12, 24, 48])] + [
        f"{k},0+{k},24" for k in [7, 10, 14]
    ]
    score_variants(args[0], args[1:3], grid, lambda label: adder(parse(label)))


def score_variants(folder, baseline_paths, labels, adapter):
    """Recombines the dumps in `folder` with each label's member(s) added
    (`adapter(label)`: a dump adapter), and prints each against the
    product: the objective, the figures, how many series gain and lose,
    then the folds' choices and the choice with one source left out."""
    best, group = baselines(baseline_paths)
    corpus = corpus_names(group, baseline_paths[0])
    rule = PRODUCT[2:]
    base = dumps(folder, best)
    names = [s.name for s in base]
    report = reporter(names, corpus)
    by = {"product": np.array([s.ratios(s.pooled("ape", 0.9), *rule) for s in base])}
    report("product", by["product"])
    for label in labels:
        series = dumps(folder, best, adapt=adapter(label))
        by[label] = np.array([s.ratios(s.pooled("ape", 0.9), *rule) for s in series])
        report(label, by[label])
        moved = np.log(by[label] / by["product"]).mean(1)
        print(f"  series that gain {(moved < -0.005).sum()}, lose {(moved > 0.005).sum()}", flush=True)
    sets = fold_sets(names)
    for k in by:
        for f in "AB":
            show(f"{k} fold {f}", by[k][sets[f]])
    cross_checks(names, by, "product")

def labels_main(doc, defaults, make):
    """The command line of a script that adds a member to the dumps: OUT/bt,
    the two baselines files, then labels of comma-separated fields (the
    missing ones from `defaults`), each made a dump adapter by
    `make(*fields)`, scored by `score_variants`."""
    if len(sys.argv) < 5:
        sys.exit(doc)

    def adapter(label):
        parts = label.split(",")
        return make(*(parts + defaults[len(parts) :]))

    score_variants(sys.argv[1], sys.argv[2:4], sys.argv[4:], adapter)


if __name__ == "__main__":
    main()
