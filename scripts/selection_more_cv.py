#!/usr/bin/env python3
"""Three more variants of the selection rule, measured on the member dumps
of a `scripts/global_cv.sh` run and not kept (docs/experiments.md,
2026-12-03, fourteenth session), each recombined offline as
scripts/corpus_cv.py does:

- `smape-merit`: a candidate on merit at 1-3 h (naive, seasonal naive of a
  day, the global LSTM) kept only where its validation sMAPE (bounded, so
  one origin after a burst cannot decide) is also at most q x the best
  tracker candidate's (q = 0.8, 1, 1.25); prints the series whose 1-h
  ratio moves by over 3 %;
- `candidates`: more candidates than members and pairs: every triple, or
  the mean of the statistical members, of the four fitted ones, and of
  those with the global trees;
- `per-horizon`: TOP_K (2-12) and NEAR_BEST (1.1-inf) chosen per scored
  horizon on one fold and scored on the other.

    python3 scripts/selection_more_cv.py smape-merit|candidates|per-horizon OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. A minute each (triples: a few).
"""
import itertools
import sys
import warnings

import numpy as np

from corpus_cv import H, PRODUCT, SCORED, cross_checks, fold_sets, variant_report

warnings.simplefilter("ignore", RuntimeWarning)
RULE = PRODUCT[2:]


def product(series):
    return np.array([s.ratios(s.pooled("ape", 0.9), *RULE) for s in series])


def smape_merit(series, report):
    names = [s.name for s in series]
    by = {"product": product(series)}
    report("product", by["product"])
    for q in [0.8, 1.0, 1.25]:
        rows = []
        for s in series:
            mean, sm = s.pooled("ape", 0.9), s.pooled("smape", 0.9)
            out = mean.copy()
            first_only = np.array([all(s.first[j] for j in c) for c in s.cands])
            for x, h in enumerate(SCORED):
                if h > 3:
                    continue
                bar = np.where(first_only[None, :] & ~np.isnan(sm[:, :, x]), sm[:, :, x], np.inf).min(1)
                fail = ~first_only[None, :] & (sm[:, :, x] > q * bar[:, None])
                out[:, :, x] = np.where(fail & np.isfinite(bar)[:, None], np.inf, mean[:, :, x])
            rows.append(s.ratios(out, *RULE))
        by[q] = np.array(rows)
        report(f"on merit only where the sMAPE is at most {q} x the best tracker's", by[q])
        for n, a, b in zip(names, by["product"][:, 0], by[q][:, 0]):
            if abs(np.log(b / a)) > np.log(1.03):
                print(f"    1 h, {n}: {a:.2f} -> {b:.2f}")
    cross_checks(names, by, "product")


def with_candidates(s, extra):
    """Series `s` with the candidates `extra` (tuples of members, more than
    two) scored beside the members and pairs."""
    m = len(s.members)
    t = np.array(s.grid)[:, None] + np.arange(H)[None, :]
    inside = t < len(s.raw_y)
    tc = np.where(inside, t, 0)
    target = np.where(inside & s.observed[tc], s.raw_y[tc], np.nan)[:, None, :]
    cands = list(s.cands) + [c for c in extra if len(c) > 2]
    c = np.stack([s.points[:, list(cd)].mean(1) for cd in cands], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s.err = {
            "ape": np.where(target != 0, np.abs(target - c) / np.abs(target), np.nan),
            "smape": 2 * np.abs(target - c) / (np.abs(target) + np.abs(c)),
        }
    s.cands = cands
    s.share = np.zeros((len(cands), m))
    for ci, cd in enumerate(cands):
        s.share[ci, list(cd)] = 1 / len(cd)


def candidates(series, report):
    names = [s.name for s in series]
    by = {"product": product(series)}
    report("product", by["product"])
    groups = {
        "means of member groups": lambda mem: [
            tuple(j for j, n in enumerate(mem) if n in group)
            for group in (
                ("mstl", "ets", "theta", "theta_daytype", "seasonal24", "seasonal168", "ets_level", "naive"),
                ("mstl", "ets", "theta", "theta_daytype"),
                ("mstl", "ets", "theta", "theta_daytype", "global_forest", "global_boost"),
            )
        ],
        "every triple": lambda mem: list(itertools.combinations(range(len(mem)), 3)),
    }
    for label, extra in groups.items():
        fresh, _ = variant_report(sys.argv[1:], __doc__)
        for s in fresh:
            with_candidates(s, extra(s.members))
        by[label] = product(fresh)
        report(label, by[label])
    cross_checks(names, by, "product")


def per_horizon(series, report):
    names = [s.name for s in series]
    pooled = [s.pooled("ape", 0.9) for s in series]
    runs = {}
    for k, near in itertools.product([2, 3, 5, 8, 12], [1.1, 1.25, 1.5, 2.0, np.inf]):
        rule = (k,) + RULE[1:4] + (near,)
        runs[(k, near)] = np.array([s.ratios(p, *rule) for s, p in zip(series, pooled)])
    prod = runs[(PRODUCT[2], PRODUCT[6])]
    sets = fold_sets(names)

    def score(r, idx, x):
        return np.log(np.exp(np.mean(np.log(r[idx, x])))) + np.log(np.median(r[idx, x]))

    for x, h in enumerate(SCORED):
        line = f"{h:2} h:"
        for tune, test in (("A", "B"), ("B", "A")):
            k = min(runs, key=lambda key: score(runs[key], sets[tune], x))
            line += f"  fold {tune} picks {k}: on {test} {score(runs[k], sets[test], x):+.4f} against the product's {score(prod, sets[test], x):+.4f};"
        print(line)


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("smape-merit", "candidates", "per-horizon"):
        sys.exit(__doc__)
    series, report = variant_report(sys.argv[1:], __doc__)
    {"smape-merit": smape_merit, "candidates": candidates, "per-horizon": per_horizon}[sys.argv[1]](series, report)


if __name__ == "__main__":
    main()
