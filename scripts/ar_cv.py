#!/usr/bin/env python3
"""An autoregressive member (AR(p) on the series with its daily season
taken out, as `ets` and `theta` take it out, p chosen by AIC) added
offline to the member dumps of a `scripts/global_cv.sh` run made without
it, and recombined with the product's rule as scripts/corpus_cv.py does.
Each variant KIND[,ROLE[,PMAX]]: KIND `ar` (levels with an intercept: the
deseasonalized series reverts to its mean of the last four weeks) or
`ari` (on the hour-to-hour differences, no intercept: ARIMA(p,1,0));
ROLE `t`: a level tracker that serves the first hours, `m`: joining them
on merit with naive's margin, `-`: neither; PMAX: the largest order tried
(1, 2, 3, 4, 6, 8, 12, 24 up to it). Reported against the dumps' own
members as scripts/level_median_cv.py reports.

    python3 scripts/ar_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json KIND[,ROLE[,PMAX]] ...

Needs numpy.
"""
import warnings

import numpy as np

from daily_median_cv import H, add_member, labels_main
from theta_clean_check import DailySeason

warnings.simplefilter("ignore", RuntimeWarning)

ORDERS = [1, 2, 3, 4, 6, 8, 12, 24]
WINDOW = 672


def ar_fit(x, pmax, intercept):
    """Coefficients (intercept first, then lags 1..p) of the AR order with
    the least AIC among ORDERS up to pmax, fitted by least squares on the
    same rows for every order."""
    orders = [p for p in ORDERS if p <= pmax and p < len(x) // 4]
    if not orders:
        return None
    top = orders[-1]
    m = len(x) - top
    target = x[top:]
    best = None
    for p in orders:
        cols = [x[top - k : len(x) - k] for k in range(1, p + 1)]
        if intercept:
            cols = [np.ones(m)] + cols
        a = np.column_stack(cols)
        coef, *_ = np.linalg.lstsq(a, target, rcond=None)
        sse = float(((target - a @ coef) ** 2).sum())
        aic = m * np.log(max(sse, 1e-300) / m) + 2 * len(coef)
        if best is None or aic < best[0]:
            best = (aic, coef if intercept else np.concatenate([[0.0], coef]))
    return best[1]


def ar_path(x, coef, h):
    hist = list(x[-(len(coef) - 1) :]) if len(coef) > 1 else []
    out = []
    for _ in range(h):
        v = coef[0] + sum(c * hist[-k] for k, c in enumerate(coef[1:], 1))
        hist.append(v)
        out.append(v)
    return np.array(out)


def ar_forecast(tail, kind, pmax, h=H):
    if len(tail) < 48:
        return None
    season = DailySeason(tail)
    de = season.de
    if kind == "ar":
        coef = ar_fit(de, pmax, True)
        if coef is None:
            return None
        f = ar_path(de, coef, h)
    else:
        dx = np.diff(de)
        coef = ar_fit(dx, pmax, False)
        if coef is None:
            return None
        f = de[-1] + np.cumsum(ar_path(dx, coef, h))
    f = season.back(f)
    return [float(v) for v in f] if np.isfinite(f).all() else None


def adder(kind, role, pmax):
    def adapt(d):
        y = np.array(d["y"], float)
        add_member(
            d,
            f"{kind}_{role}_{pmax}",
            lambda o: ar_forecast(y[max(0, o - WINDOW) : o], kind, pmax),
            tracks=role == "t",
            merit=role == "m",
        )
        return d

    return adapt


def main():
    labels_main(__doc__, ["ar", "t", "24"], lambda kind, role, pmax: adder(kind, role, int(pmax)))


if __name__ == "__main__":
    main()
