#!/usr/bin/env python3
"""Which validation origins each horizon's choice reads (docs/experiments.md,
2026-12-03, tenth session), recombined offline from the member dumps of
scripts/global_cv.sh as scripts/corpus_cv.py recombines the product:

- share: every horizon on the origins with all 48 hours known (the rule
  before), or an origin counts once this share of the horizon's selection
  window is known at the test origin (1: the whole window, the session's
  first step; 0: its first hour, the product), the unknown hours masked;
- recency: a recency of its own at 1-3 h (0.9 elsewhere, as the product);
- count: validation origins per horizon (the band's count moves with it);
- width: the selection window's half-width as a share of h, at least 2
  hours (h/3 from the tenth session; h, the product, since the
  seventeenth: from the first hour to 2h);
- half at 1-3 h: the window's half-width there (the product: 2 hours at
  1 h, so the 1-h choice reads the errors at 1-3 h; seventeenth session);
- half-width at 6 h: that horizon's alone, the others h (eighteenth
  session).

`share` is also checked by leaving one source out at a time (the value
chosen on the other sources' series, scored on the source left out);
`width` and the half-widths at 1-3 h and at 6 h by the choice on each fold scored on
the other, and with one source left out. `--without NAME` prints the product's corpus geometric means without
that series (e.g. nab-ec2-diskwrite-c0d644, whose near-zero targets
dominate 1 h). Each line: the objective (mean over horizons of log
geometric mean + log median of the ratios, lower is better) on all series,
fold A and fold B, then the corpus's and the dev series' figures.

    python3 scripts/reads_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json [--without NAME]

Needs numpy. About three minutes.
"""
import sys

import numpy as np

import corpus_cv as cc

PRODUCT_READS = dict(cc.Series.READS)


def ratios(series, **reads):
    """The product's rule, each horizon reading the validation origins
    `reads` says (corpus_cv.Series.READS; the product's where not given)."""
    cc.Series.READS = {**PRODUCT_READS, **reads}
    pooled = [s.pooled("ape", cc.PRODUCT[1]) for s in series]
    return np.array([s.ratios(p, *cc.PRODUCT[2:]) for s, p in zip(series, pooled)])


def one_source_out(series, by_value, label):
    held, picks = cc.one_source_out([s.name for s in series], by_value)
    print(f"{label}, one source left out: held-out objective {cc.objective(held):.4f}; chosen {picks}")


def main():
    argv = [a for a in sys.argv if a != "--without"]
    without = sys.argv[sys.argv.index("--without") + 1] if "--without" in sys.argv else None
    if without:
        argv.remove(without)
    if len(argv) < 4:
        sys.exit(__doc__)
    series, report = cc.variant_report(argv, __doc__)
    report("every horizon on the 48-h origins (before)", ratios(series, share=None))
    shares = {v: ratios(series, share=v) for v in [1.0, 0.75, 0.5, 0.25, 0.0]}
    for v, r in shares.items():
        report(f"share of the window known {v}" + (" (product)" if v == 0.0 else ""), r)
    one_source_out(series, shares, "share")
    for v in [0.95, 0.8, 0.7, 0.6]:
        report(f"recency at 1-3 h {v}", ratios(series, recency_short=v))
    widths = {v: ratios(series, width=v / 12) for v in [4, 6, 8, 10, 12, 16, 24, 48]}
    for v, r in widths.items():
        report(f"half-width {v}/12 h" + (" (product)" if v == 12 else ""), r)
    for v in [2, 3]:
        report(f"half-width h/{12 // v}", ratios(series, width=v / 12))
    cc.cross_checks([s.name for s in series], widths, 12)
    # The 6-h window alone (eighteenth session): the dev series lost at 6 h
    # when every horizon's window became h.
    at6 = {v: ratios(series, width=lambda h, v=v: v / 12 if h == 6 else 1.0) for v in [4, 6, 8, 12]}
    for v, r in at6.items():
        report(f"half-width at 6 h {v}/12 h" + (" (product)" if v == 12 else ""), r)
    cc.cross_checks([s.name for s in series], at6, 12)
    halves = {v: ratios(series, half_short=v) for v in [0, 1, 2, 3, 4, 5, 8]}
    for v, r in halves.items():
        report(f"half-width at 1-3 h {v}" + (" (the product's at 1 h)" if v == 2 else ""), r)
    cc.cross_checks([s.name for s in series], halves, 2)
    if without:
        corpus = cc.baselines(argv[2:3])[0]
        keep = [i for i, s in enumerate(series) if s.name != without and s.name in corpus]
        for label, share in [("before", None), ("whole window", 1.0), ("product", 0.0)]:
            geo = np.exp(np.mean(np.log(ratios(series, share=share)[keep]), 0))
            print(f"{label}, corpus without {without}: geo " + " ".join(f"{g:.3f}" for g in geo))
    for n in [14, 20, 28, 40]:
        cc.VALIDATION = n
        series_n, report_n = cc.variant_report(argv, __doc__)
        report_n(f"{n} validation origins" + (" (product)" if n == 28 else ""), ratios(series_n))
    cc.VALIDATION = 28


if __name__ == "__main__":
    main()
