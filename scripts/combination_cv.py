#!/usr/bin/env python3
"""Changes to the ensemble's choice and to what it does after it
(docs/experiments.md, 2026-12-04), recombined offline from the member dumps
of one out-of-fold run (scripts/global_cv.sh) as scripts/corpus_cv.py does;
only the rule after a burst was kept (BURST_HOURS, the level median):

- **Shrinkage** (issue 18 names it: "stacking with shrinkage toward equal
  weights"): each horizon's member weights become (1 - l) x the chosen
  weights + l x a prior: equal weights over the members that forecast the
  horizon (at 1-3 h over the members that may serve them), or the other
  fold's mean weight of each member at that horizon (a prior learned
  across series, never from the series itself). l is fixed, or c / (c +
  the validation origins the choice read), so a thin validation leans on
  the prior.
- **A burst at the origin**: where the last 1 to K hours (and not the
  hour before them) are far from both robust seasonal expectations
  (src/forecast/robust.rs: a run still in progress, which the cleaning
  keeps), the forecast without the rule ("no burst rule") at every scored
  horizon (or from 6 h on) is moved a share A of the way to the level
  median's (or the daily median's, or their mean). The sMAPE lines show
  the same forecasts scored by sMAPE (geometric mean over series of the
  ratio to the sMAPE without the rule), which punishes a forecast below
  the target as much as one above. The product's rule is the line with K
  = BURST_HOURS, all the way to the level median from 6 h on; the script
  checks that it gives the product's figures. "at 1 h after a burst"
  (eighteenth session) also moves the first hour a share of the way.
- **Members on merit only after K validation origins** (eighteenth
  session): at 1-3 h the members that join the trackers on merit (naive,
  the medians, seasonal naive of a day) compete only where the choice
  read at least K validation origins at that horizon.
- **The 1-h choice's top K within N of the best** (eighteenth session):
  at 1 h only, the others as the product (TOP_K 5, NEAR_BEST 1.25).
- **The level median only from N hours of history** (eighteenth
  session): no level median forecast at origins with less history.

    python3 scripts/combination_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json [--why LABEL]

`--why LABEL` prints, for the variant so labelled, how many series gain
and lose, the objective without the two that gain most, and the series
whose sum of log ratios moved most, with the test origins the rule
touched. Needs
numpy. About a minute.
"""
import itertools
import sys

import numpy as np

from corpus_cv import BURST_HOURS, PRODUCT, SCORED, baselines, cross_checks, dumps, fold_sets, objective, take_option, variant_report

def smape(s, fc):
    return np.nanmean(2 * np.abs(s.y - fc) / (np.abs(s.y) + np.abs(fc)), 0)


def main():
    why, argv = take_option(sys.argv, "--why")
    series, report = variant_report(argv, __doc__)
    names = [s.name for s in series]
    sets = fold_sets(names)
    rule = PRODUCT[2:]
    # Each candidate's validation error, once per series: every variant
    # below starts from it.
    pooled = [s.pooled("ape", PRODUCT[1]) for s in series]
    chosen, reads = [], []
    for s, p in zip(series, pooled):
        chosen.append(s.weights(p, *rule))
        n = np.zeros((len(s.origins), len(SCORED)))
        for oi, vi, x, *_ in s.windows("ape", PRODUCT[1]):
            n[oi, x] = len(vi)
        reads.append(n)
    base = [s.forecast(w) for s, w in zip(series, chosen)]
    by = {"product": np.array([s.mape_ratio(f) for s, f in zip(series, base)])}
    report("product", by["product"])
    # The product without its rule after a burst (before 2026-12-04).
    before = [s.forecast(s.weights(p, *rule, burst_hours=0)) for s, p in zip(series, pooled)]
    by["no burst rule"] = np.array([s.mape_ratio(f) for s, f in zip(series, before)])
    report("no burst rule", by["no burst rule"])
    touched = {}

    # Shrinkage toward equal weights or the other fold's mean weights.
    every = sorted({m for s in series for m in s.members})
    prior = {}
    for k, idx in sets.items():
        p = np.zeros((len(SCORED), len(every)))
        for i in idx:
            mean = np.nanmean(chosen[i], 0)
            for j, m in enumerate(series[i].members):
                p[:, every.index(m)] += np.nan_to_num(mean[:, j])
        prior[k] = p / len(idx)
    short = np.array([h <= 3 for h in SCORED])
    for kind, (fixed, c) in itertools.product(["equal", "prior"], [(0.1, None), (0.2, None), (None, 1), (None, 4)]):
        r = []
        for i, s in enumerate(series):
            has = np.transpose(~np.isnan(s.now), (0, 2, 1)).astype(float)
            if kind == "equal":
                pool = s.first | s.merit | np.isin(s.members, ["seasonal24", "daily_median"])
                p = has * np.where(short[None, :, None], pool[None, None, :], 1.0)
            else:
                other = prior["B" if i in sets["A"] else "A"]
                p = has * other[:, [every.index(m) for m in s.members]][None]
            tot = p.sum(2, keepdims=True)
            p = np.where(tot > 0, p / np.where(tot > 0, tot, 1), 0.0)
            lam = fixed if c is None else np.where(reads[i] > 0, c / (c + reads[i]), 0.0)[..., None]
            r.append(s.mape_ratio(s.forecast((1 - lam) * np.nan_to_num(chosen[i]) + lam * p)))
        label = f"shrink toward {kind}, " + (f"l {fixed}" if c is None else f"l = {c} / ({c} + origins read)")
        by[label] = np.array(r)
        report(label, by[label])

    # Members on merit at 1-3 h (naive, the medians, seasonal naive of a
    # day) only where the choice read at least K validation origins: with
    # few, their win over the trackers may be luck (eighteenth session).
    for k_min in [4, 8, 12, 16, 20, 24, 28]:
        r = []
        for s, p, n in zip(series, pooled, reads):
            p = p.copy()
            first = s.first & ~np.isin(s.members, ["naive"])
            trackers_only = np.array([all(first[j] for j in c) for c in s.cands])
            for x in np.flatnonzero(short):
                p[np.ix_(n[:, x] < k_min, ~trackers_only, [x])] = np.nan
            r.append(s.ratios(p, *rule))
        label = f"on merit at 1-3 h only after {k_min} validation origins"
        by[label] = np.array(r)
        report(label, by[label])

    # How many candidates the 1-h choice averages (TOP_K, NEAR_BEST), the
    # other horizons as the product (eighteenth session).
    for k, near in [(1, 1.25), (2, 1.25), (3, 1.25), (8, 1.25), (5, 1.1), (5, 1.5)]:
        r = []
        for s, p, w in zip(series, pooled, chosen):
            w1 = s.weights(p, k, *rule[1:4], near)
            w = w.copy()
            w[:, 0, :] = w1[:, 0, :]
            r.append(s.mape_ratio(s.forecast(w)))
        label = f"1 h: top {k} within {near} of the best"
        by[label] = np.array(r)
        report(label, by[label])

    # A burst at the origin: the forecast without the rule moved toward the
    # medians (the product's rule is one of these).
    base_smape = np.array([smape(s, f) for s, f in zip(series, before)])
    for target, share, k_max, hours in itertools.product(
        ["level_median", "daily_median", "both"], [0.5, 1.0], [1, 2, 3], ["all", "6+"]
    ):
        r, sm, hit = [], [], []
        for s, f in zip(series, before):
            f, k = f.copy(), s.runs
            if "daily_median" in s.members:
                lm, dm = (s.now[:, s.members.index(m), :] for m in ("level_median", "daily_median"))
                to = {"level_median": lm, "daily_median": dm, "both": (lm + dm) / 2}[target]
                at = (k >= 1) & (k <= k_max)
                for x in range(len(SCORED)) if hours == "all" else range(1, len(SCORED)):
                    ok = at & ~np.isnan(to[:, x])
                    f[ok, x] = (1 - share) * f[ok, x] + share * to[ok, x]
                hit.append([o for o, a in zip(s.origins, at) if a])
            else:
                hit.append([])
            r.append(s.mape_ratio(f))
            sm.append(smape(s, f))
        label = f"burst of 1-{k_max} h: {share:.0%} to {target}, {hours} horizons"
        by[label] = np.array(r)
        touched[label] = hit
        report(label, by[label])
        g = np.exp(np.mean(np.log(np.array(sm) / base_smape), 0))
        print("  sMAPE against no burst rule's " + " ".join(f"{v:.4f}" for v in g))
    # The first hours after a burst: the product (the rule from 6 h on)
    # moved a share of the way to the level median at 1 h too.
    for share in [0.25, 0.5]:
        r, sm = [], []
        for s, f in zip(series, base):
            f = f.copy()
            if "level_median" in s.members:
                to = s.now[:, s.members.index("level_median"), 0]
                at = (s.runs >= 1) & (s.runs <= BURST_HOURS) & ~np.isnan(to)
                f[at, 0] = (1 - share) * f[at, 0] + share * to[at]
            r.append(s.mape_ratio(f))
            sm.append(smape(s, f))
        label = f"product, and at 1 h after a burst {share:.0%} to level_median"
        by[label] = np.array(r)
        report(label, by[label])
        g = np.exp(np.mean(np.log(np.array(sm) / base_smape), 0))
        print("  sMAPE against no burst rule's " + " ".join(f"{v:.4f}" for v in g))
    kept = f"burst of 1-{BURST_HOURS} h: 100% to level_median, 6+ horizons"
    gap = np.max(np.abs(by[kept] - by["product"]))
    print(f"the product against '{kept}': largest difference {gap:.1e}")
    hit = touched[kept]
    print(
        f"test origins with a burst of 1-{BURST_HOURS} h: {sum(map(len, hit))} of "
        f"{sum(len(s.origins) for s in series)}, in {sum(1 for h in hit if h)} series"
    )
    # The level median only from N hours of history (eighteenth session):
    # over a shorter history its "last week" is the whole of it.
    best = baselines(argv[2:])[0]
    for need in [72, 120, 168]:
        def without_early(d, need=need):
            if "level_median" in d["members"]:
                j = d["members"].index("level_median")
                for o, pts in d["points"]:
                    if o < need:
                        pts[j] = None
            return d
        later = dumps(argv[1], best, adapt=without_early)
        label = f"level median only from {need} h of history"
        by[label] = np.array([s.ratios(s.pooled("ape", PRODUCT[1]), *rule) for s in later])
        report(label, by[label])
    cross_checks(names, by, "product")
    if why:
        ref = "no burst rule" if why.startswith("burst") else "product"
        d = (np.log(by[why]) - np.log(by[ref])).sum(1)
        print(f"  {(d < -1e-9).sum()} series gain, {(d > 1e-9).sum()} lose")
        top = set(np.argsort(d)[:2])
        rest = [i for i in range(len(names)) if i not in top]
        print(f"  without the two that gain most: objective {objective(by[ref][rest]):.4f} to {objective(by[why][rest]):.4f}")
        for i in list(np.argsort(d)[:8]) + list(np.argsort(d)[-4:]):
            moved = " ".join(f"{a:.3f}->{b:.3f}" for a, b in zip(by[ref][i], by[why][i]))
            print(f"  {names[i]:32s} {d[i]:+.3f}  {moved}  origins {touched.get(why, [[]] * len(names))[i]}")


if __name__ == "__main__":
    main()
