#!/usr/bin/env python3
"""How the global LSTM enters the ensemble, chosen across series
(docs/forecasting.md, "Global LSTM"; docs/experiments.md, 2026-12-02,
sixth session). From the out-of-fold member dumps of
scripts/global_cv.sh, each variant is recombined offline as
scripts/corpus_cv.py does, under the product's selection rule:

- as a level tracker: it competes at 1-3 h with the trackers (and at
  4-48 h where it forecasts, as every member does);
- not at 1-3 h: only at 4-6 h;
- at 1-3 h on merit, as naive: where its candidates' validation error is at
  most M of the best tracker candidate's;
- left out (the ensemble before it).

Each line: the objective (mean over horizons of log geometric mean + log
median of the ratios, all 54 series, then fold A, fold B; lower is
better) and the corpus and dev geometric means and medians.

    python3 scripts/global_lstm_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

Needs numpy. About a minute.
"""
import sys

import numpy as np

from corpus_cv import SEASONAL_MERIT, PRODUCT, variant_report

MEMBER = "global_lstm"


def main():
    series, report = variant_report(sys.argv, __doc__)
    rule = PRODUCT[2:]
    pooled = [s.pooled("ape", 0.9) for s in series]
    j = {s.name: s.members.index(MEMBER) for s in series}

    def flags(first):
        for s in series:
            s.first, s.merit = s.first.copy(), s.merit.copy()
            s.first[j[s.name]], s.merit[j[s.name]] = first, False

    flags(True)
    report("level tracker", np.array([s.ratios(p, *rule) for s, p in zip(series, pooled)]))
    flags(False)
    report("not at 1-3 h", np.array([s.ratios(p, *rule) for s, p in zip(series, pooled)]))
    for m in [0.5, 0.65, 0.8, 1.0]:
        r = np.array([s.ratios(p, *rule, also=SEASONAL_MERIT + [(MEMBER, m)]) for s, p in zip(series, pooled)])
        label = " (the product: naive's margin, FIRST_HOURS_MARGIN)" if m == PRODUCT[5] else ""
        report(f"at 1-3 h on merit at {m}{label}", r)
    for s in series:
        s.now[:, j[s.name], :] = np.nan
    report("left out", np.array([s.ratios(p, *rule) for s, p in zip(series, pooled)]))


if __name__ == "__main__":
    main()
