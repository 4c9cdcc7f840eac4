#!/usr/bin/env python3
"""Validation origins where every member went wrong (the hours after a
burst or a step) weighed less in the choice: variants measured against the
product's rule and not kept (docs/experiments.md, 2026-12-03, thirteenth
session), recombined offline from the member dumps of scripts/global_cv.sh
as scripts/corpus_cv.py does.

Each validation origin's recency weight is divided by how hard that origin
was: the median (or the least) over the members of their window-mean APE
there, floored at a quantile (0.5, 0.75, 0.9) of that over the origins read
(so only origins harder than that keep less weight), or not floored (every
origin scaled: relative errors); at 1-3 h only or at every horizon. Prints
each variant's report, the variant each fold chooses scored on the other,
and the choice with one source left out at a time.

    python3 scripts/origin_scale_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. About a minute and a half.
"""
import sys
import warnings

import numpy as np

from corpus_cv import PRODUCT, SCORED, cross_checks, variant_report

warnings.simplefilter("ignore", RuntimeWarning)


def pooled_scaled(s, recency, ref, floor, short_only=False):
    """As Series.pooled (APE), each validation origin's weight divided by
    its scale (`ref`: the members' "median" or "min" window error there);
    `floor`: None (every origin scaled) or the quantile over the origins
    read below which an origin keeps its weight."""
    out = np.full((len(s.origins), len(s.cands), len(SCORED)), np.nan)
    m = len(s.members)
    for oi, vi, x, sl, seg, wv in s.windows("ape", recency):
        ok = ~np.isnan(seg) & s.common(oi, vi, x, sl)[:, None, None]
        w = wv.copy()
        if not short_only or SCORED[x] <= 3:
            n = ok.sum(2)
            with np.errstate(invalid="ignore", divide="ignore"):
                per = np.where(n > 0, np.where(ok, seg, 0).sum(2) / n, np.nan)[:, :m]  # (origins, members)
                live = ~np.isnan(s.now[oi, :, x])
                pm = np.where(live[None, :], per, np.nan)
                if ref == "median":
                    r = np.nanmedian(pm, 1)
                else:
                    r = np.nanmin(pm, 1)
            good = np.isfinite(r) & (r > 0)
            if good.any():
                r = np.where(good, r, np.nan)
                if floor is not None:
                    r = np.maximum(r, np.nanquantile(r, floor))
                w = np.where(good, w / np.where(good, r, 1), 0.0)
        wk = w[:, None, None]
        s_, k_ = (np.where(ok, seg, 0) * wk).sum((0, 2)), (ok * wk).sum((0, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[oi, :, x] = np.where(k_ > 0, s_ / k_, np.nan)
    return out


def main():
    series, report = variant_report(sys.argv, __doc__)
    rule = PRODUCT[2:]
    by = {("product",): np.array([s.ratios(s.pooled("ape", 0.9), *rule) for s in series])}
    report("product", by[("product",)])
    for ref in ["median", "min"]:
        for floor in [None, 0.5, 0.75, 0.9]:
            for short in [True, False]:
                r = np.array([s.ratios(pooled_scaled(s, 0.9, ref, floor, short), *rule) for s in series])
                by[(ref, floor, short)] = r
                report(f"scaled by the {ref}, floored at quantile {floor}{', 1-3 h only' if short else ''}", r)
    cross_checks([s.name for s in series], by, ("product",))

if __name__ == "__main__":
    main()
