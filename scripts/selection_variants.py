#!/usr/bin/env python3
"""Selection-rule variants measured against the product's rule and not kept
(docs/experiments.md, 2026-12-02, fifth session), each recombined offline
from the same member dumps as scripts/corpus_cv.py:

- seasonal naive admitted at the first hours on its own margin (its
  candidates' validation error at most M of the best tracker candidate's;
  since the seventh session the product's, M = 1.0, chosen here on each
  fold and scored on the other);
- each validation APE capped at C before it is averaged over origins;
- the recency-weighted Q-quantile over validation origins of each
  candidate's window error instead of its weighted mean (and a half-and-half
  blend of median and mean);
- the kept candidates weighed by their validation error to the -P instead
  of equally (sixth session), within 1.25x of the best or all of the top 5;
- the "shared:" lines (seventh session): ways of scoring candidates on
  shared validation origins, with seasonal naive kept out of 1-3 h as it
  was then (own origins; every member that forecasts now; the members that
  may serve, the product; the ratio to naive's error on the same origins;
  members with few origins left out; a geometric mean over origins).

Every line scores the candidates on their common validation origins, as
the product does since 2026-12-02 (seventh session); RULE=sixth in the
environment scores with the rule before then (each candidate on its own
origins, seasonal naive never at 1-3 h), as the figures logged before
then were measured.

Each line: the objective (mean over horizons of log geometric mean + log
median of the ratios, all series, then fold A, fold B; lower is better) and
the corpus and dev geometric means and medians.

    python3 scripts/selection_variants.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. About a minute.
"""
import sys

import numpy as np

from corpus_cv import PRODUCT, SCORED, SIXTH, folds, objective, variant_report
from recombine import window


def pooled_quantile(s, recency, q, blend):
    """As Series.pooled (APE), but the weighted q-quantile over validation
    origins of each window-mean error, blended with the mean by `blend`."""
    out = np.full((len(s.origins), len(s.cands), len(SCORED)), np.nan)
    for oi, vi, x, sl, seg, wv in s.windows("ape", recency):
        ok = ~np.isnan(seg) & s.common(oi, vi, x, sl)[:, None, None]
        k = ok.sum(2)
        with np.errstate(invalid="ignore", divide="ignore"):
            per = np.where(k > 0, np.where(ok, seg, 0).sum(2) / k, np.nan)  # (val, cands)
        w = np.where(np.isnan(per), 0, wv[:, None])
        order = np.argsort(np.where(np.isnan(per), np.inf, per), axis=0)
        ps, ws = np.take_along_axis(per, order, 0), np.take_along_axis(w, order, 0)
        cw = np.cumsum(ws, 0)
        tot = cw[-1]
        at = np.take_along_axis(ps, (cw >= q * tot[None, :]).argmax(0)[None, :], 0)[0]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(tot > 0, np.nansum(per * w, 0) / tot, np.nan)
            out[oi, :, x] = np.where(tot > 0, blend * mean + (1 - blend) * at, np.nan)
    return out


def pooled_by(s, recency, mask, geo_eps=None):
    """As Series.pooled (APE), with the validation origins of each test
    origin and horizon given by `mask(s, oi, vi, x, sl)` -> (origins kept,
    members left out or None); `geo_eps`: the geometric mean over origins of
    each window-mean error (plus eps) instead of the hour-weighted mean."""
    out = np.full((len(s.origins), len(s.cands), len(SCORED)), np.nan)
    for oi, vi, x, sl, seg, wv in s.windows("ape", recency):
        keep, out_members = mask(s, oi, vi, x, sl)
        ok = ~np.isnan(seg) & keep[:, None, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            if geo_eps is None:
                w = wv[:, None, None]
                k = (ok * w).sum((0, 2))
                v = np.where(k > 0, (np.where(ok, seg, 0) * w).sum((0, 2)) / k, np.nan)
            else:
                n = ok.sum(2)
                per = np.where(n > 0, np.where(ok, seg, 0).sum(2) / n, np.nan)  # (origins, candidates)
                w = np.where(np.isnan(per), 0, wv[:, None])
                lg = np.where(np.isnan(per), 0, np.log(np.maximum(per, 0) + geo_eps))
                tot = w.sum(0)
                v = np.where(tot > 0, np.exp((lg * w).sum(0) / tot) - geo_eps, np.nan)
        if out_members is not None:
            v[[any(out_members[j] for j in c) for c in s.cands]] = np.nan
        out[oi, :, x] = v
    return out


def own_origins(s, oi, vi, x, sl):
    """Each candidate on its own validation origins (the rule before)."""
    return np.ones(len(vi), bool), None


def every_member(min_origins):
    """Common origins of every member that forecasts the horizon now, at
    1-3 h too (the seventh session's first variant); members with fewer than
    `min_origins` validation forecasts near it (fewer than the best covered
    one, if that has fewer) are left out, with their candidates."""

    def mask(s, oi, vi, x, sl):
        present = ~np.all(np.isnan(s.points[vi][:, :, sl]), 2)
        cnt = present.sum(0)
        now = ~np.isnan(s.now[oi, :, x])
        most = cnt[now].max() if now.any() else 0
        use = now & (cnt >= max(min(min_origins, most), 1))
        return np.all(present[:, use], 1), now & ~use

    return mask


def pooled_to_naive(s, recency):
    """Each candidate on its own origins, rescaled by naive's error over all
    origins against naive's over the candidate's origins."""
    out = np.full((len(s.origins), len(s.cands), len(SCORED)), np.nan)
    e = s.err["ape"]
    ref = s.members.index("naive")
    for oi, vi in enumerate(s.val):
        if not vi:
            continue
        a = e[vi]
        w = (recency ** np.arange(len(vi)))[:, None, None]
        ok = ~np.isnan(a)
        an = a[:, ref : ref + 1, :]
        okn = ~np.isnan(an)
        both = ok & okn
        for x, h in enumerate(SCORED):
            r = window(h, max(h // 3, 2))
            sl = slice(r.start - 1, r.stop - 1)

            def total(m, v):
                return (np.where(m, v, 0) * w)[:, :, sl].sum((0, 2))

            with np.errstate(invalid="ignore", divide="ignore"):
                raw = np.where(total(ok, 1) > 0, total(ok, a) / total(ok, 1), np.nan)
                full = total(okn, an) / total(okn, 1)
                part = np.where(total(both, 1) > 0, total(both, an) / total(both, 1), np.nan)
                fac = np.where((part > 0) & (full > 0) & np.isfinite(part), full / part, 1.0)
            out[oi, :, x] = raw * fac
    return out


def shared_origins_variants(series, report):
    """The seventh session's variants of scoring on shared validation
    origins, with seasonal naive kept out of 1-3 h as it was then."""
    rule = PRODUCT[2:]

    def run(label, pooled):
        report(label, np.array([s.ratios(p, *rule, also=[]) for s, p in zip(series, pooled)]))

    run("shared: own origins (before)", [pooled_by(s, 0.9, own_origins) for s in series])
    run("shared: every member that forecasts now (first variant)", [pooled_by(s, 0.9, every_member(1)) for s in series])
    run("shared: the members that may serve (kept)", [s.pooled("ape", 0.9) for s in series])
    run("shared: ranked by the ratio to naive on the same origins", [pooled_to_naive(s, 0.9) for s in series])
    for k in [4, 6, 8]:
        run(f"shared: first variant, members with under {k} origins left out", [pooled_by(s, 0.9, every_member(k)) for s in series])
    for eps in [0.001, 0.01, 0.05]:
        kept = lambda s, oi, vi, x, sl: (s.common(oi, vi, x, sl), None)
        run(f"shared: geometric mean over origins, eps {eps}", [pooled_by(s, 0.9, kept, eps) for s in series])


def main():
    series, report = variant_report(sys.argv, __doc__)
    rule = PRODUCT[2:]
    mean_ape = [s.pooled("ape", 0.9) for s in series]
    report("product", np.array([s.ratios(p, *rule) for s, p in zip(series, mean_ape)]))
    # Seasonal naive's margin at 1-3 h (SEASONAL_FIRST_HOURS_MARGIN; 0:
    # never), chosen on each fold and scored on the other.
    by_margin = {}
    for m2 in [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.1, 1.25, 1.5]:
        also = [("seasonal24", m2)] if m2 > 0 else []
        by_margin[m2] = np.array([s.ratios(p, *rule, also=also) for s, p in zip(series, mean_ape)])
        report(f"seasonal24 on merit at {m2}", by_margin[m2])
    fold = folds([s.name for s in series])
    sets = {k: [i for i, s in enumerate(series) if fold[s.name] == k] for k in "AB"}
    for tune, test in (("A", "B"), ("B", "A")):
        m2 = min(by_margin, key=lambda k: objective(by_margin[k][sets[tune]]))
        print(
            f"seasonal24's margin chosen on fold {tune}: {m2}; on fold {test} objective "
            f"{objective(by_margin[m2][sets[test]]):.4f} against never {objective(by_margin[0.0][sets[test]]):.4f}"
        )
    for cap in [2.0, 1.0, 0.5, 0.3]:
        for s in series:
            s.err["capped"] = np.minimum(s.err["ape"], cap)
        r = np.array([s.ratios(s.pooled("capped", 0.9), *rule) for s in series])
        report(f"APE capped at {cap}", r)
    for power, near in [(1, PRODUCT[6]), (2, PRODUCT[6]), (1, np.inf), (2, np.inf), (4, np.inf)]:
        r = np.array([s.ratios(p, *rule[:4], near, power=power) for s, p in zip(series, mean_ape)])
        report(f"inverse validation error^{power}, within {near} of the best", r)
    for q, blend in [(0.5, 0.0), (0.5, 0.5), (0.75, 0.0), (0.9, 0.0)]:
        r = np.array([s.ratios(pooled_quantile(s, 0.9, q, blend), *rule) for s in series])
        report(f"quantile {q} over origins, {blend:.0%} mean", r)
    if not SIXTH:
        shared_origins_variants(series, report)


if __name__ == "__main__":
    main()
