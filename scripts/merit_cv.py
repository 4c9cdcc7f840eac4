#!/usr/bin/env python3
"""A member on merit at the first hours (naive, seasonal naive of a day, the
global LSTM) admitted only where it also beats the best level tracker on
the typical validation origin: besides its recency-weighted mean window
error within its margin of the best tracker candidate's (the product's
rule), its weighted median over the validation origins at most q times
that candidate's. Prints each q's report and the series whose 1-h ratio
moves by over 3 %. Recombined offline from the member dumps of
scripts/global_cv.sh, as scripts/corpus_cv.py does.

    python3 scripts/merit_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. About a minute.
"""
import sys
import warnings

import numpy as np

from corpus_cv import PRODUCT, SCORED, cross_checks, variant_report
from selection_variants import pooled_quantile

warnings.simplefilter("ignore", RuntimeWarning)


def with_median_test(s, mean, med, q_share=1.0):
    """`mean` with the candidates on merit at 1-3 h made ineligible (inf)
    where their median window error exceeds `q_share` x the best tracker
    candidate's (by mean)."""
    out = mean.copy()
    first_only = np.array([all(s.first[j] for j in c) for c in s.cands])
    for x, h in enumerate(SCORED):
        if h > 3:
            continue
        m = np.where(first_only[None, :] & ~np.isnan(mean[:, :, x]), mean[:, :, x], np.inf)
        best = m.argmin(1)  # (origins,)
        bar = med[np.arange(len(best)), best, x]
        fail = ~first_only[None, :] & (med[:, :, x] > q_share * bar[:, None])
        out[:, :, x] = np.where(fail & np.isfinite(bar)[:, None], np.inf, mean[:, :, x])
    return out


def main():
    series, report = variant_report(sys.argv, __doc__)
    rule = PRODUCT[2:]
    mean = [s.pooled("ape", 0.9) for s in series]
    med = [pooled_quantile(s, 0.9, 0.5, 0.0) for s in series]
    by = {"product": np.array([s.ratios(p, *rule) for s, p in zip(series, mean)])}
    report("product", by["product"])
    for q in [1.0, 1.25, 1.5]:
        r = np.array([s.ratios(with_median_test(s, p, md, q), *rule) for s, p, md in zip(series, mean, med)])
        by[q] = r
        report(f"on merit only where the median error is at most {q} x the best tracker's", r)
        for s, a, b in zip(series, by["product"][:, 0], r[:, 0]):
            if abs(np.log(b / a)) > np.log(1.03):
                print(f"    1 h, {s.name}: {a:.2f} -> {b:.2f}")
    cross_checks([s.name for s in series], by, "product")

if __name__ == "__main__":
    main()
