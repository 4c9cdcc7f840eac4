#!/usr/bin/env python3
"""The `theta` member's MAPE at 1 and 6 h on one series, by the history it
fits: raw (with the product's daily index, and with statsforecast's: the
mean ratio over the whole history), cleaned with an incident's hours put
back at their weekly expectation alone (the rule before 2026-12-03,
thirteenth session), and put back at the level of the hours around them
(the product's). A Python copy of src/forecast/season.rs, the Theta member
(members.rs) and robust.rs, checked against the product's figures
(docs/experiments.md, thirteenth session); it prints too, at every 12th
test origin, theta's smoothed level and its last deseasonalized hour.

    nodecast backtest --input S.csv --json --dump-members S.members.json > S.json
    python3 scripts/theta_clean_check.py S.members.json [LEVEL_HOURS]

Needs numpy. About two minutes for worldcup98.
"""
import json
import sys

import numpy as np


def daily_index(y, window=672, agg=np.median):
    mult = bool((y > 0).all())
    n = len(y)
    r = [[] for _ in range(24)]
    for t in range(max(0, n - window) + 12, n - 12):
        w = y[t - 12 : t + 13]
        ma = (w[1:24].sum() + 0.5 * (w[0] + w[24])) / 24
        r[t % 24].append((y[t] / ma if ma > 0 else 1.0) if mult else y[t] - ma)
    idx = np.array([agg(v) if v else (1.0 if mult else 0.0) for v in r])
    return (idx / idx.mean() if mult else idx - idx.mean()), mult


def ses(y, a):
    level, sse = y[0], 0.0
    for v in y[1:]:
        e = v - level
        sse += e * e
        level += a * e
    return level, sse


class DailySeason:
    """`y` with its daily season taken out (`de`), and put back on the hours
    after it (`back`), as src/forecast/season.rs does."""

    def __init__(self, y, **index):
        self.n = len(y)
        self.idx, self.mult = daily_index(y, **index)
        s = self.idx[np.arange(self.n) % 24]
        self.de = y / s if self.mult else y - s

    def back(self, f):
        ahead = self.idx[(self.n + np.arange(len(f))) % 24]
        return f * ahead if self.mult else f + ahead


def theta(y, h, **index):
    n = len(y)
    season = DailySeason(y, **index)
    de = season.de
    slope = np.polyfit(np.arange(n), de, 1)[0]
    alpha = min((ses(de, k / 100)[1], k / 100) for k in range(1, 100))[1]
    level = ses(de, alpha)[0]
    f = np.array([level + 0.5 * slope * (i + 1 + (1 - alpha) / alpha) for i in range(h)])
    return season.back(f), level, de[-1]


def expectation(y, period, count):
    n = len(y)
    out = []
    for t in range(n):
        a = [y[t - period * k] for k in range(1, count + 1) if t - period * k >= 0]
        a += [y[t + period * k] for k in range(1, count + 1) if t + period * k < n]
        out.append(float(np.median(a)) if len(a) >= 2 else None)
    return out


def far_from(y, e):
    dev = [abs(v - x) for v, x in zip(y, e) if x is not None]
    if not dev:
        return [False] * len(y)
    sigma = 1.4826 * np.median(dev)
    return [x is not None and abs(v - x) > 4 * sigma and abs(v - x) > 0.25 * abs(x) for v, x in zip(y, e)]


def cleaned(y, level_hours):
    """robust::cleaned; level_hours None: the weekly expectation alone."""
    n = len(y)
    if n < 336:
        return y
    weekly = expectation(y, 168, 4)
    far = [a and b for a, b in zip(far_from(y, expectation(y, 24, 7)), far_from(y, weekly))]
    out = y.copy()
    t = 0
    while t < n:
        if not far[t]:
            t += 1
            continue
        start = t
        while t < n and far[t]:
            t += 1
        if t < n and t - start <= 72:
            scale = 1.0
            if level_hours is not None:
                around = range(max(0, start - level_hours), min(n, t + level_hours))
                r = [y[u] / weekly[u] for u in around if not far[u] and weekly[u] is not None and weekly[u] > 0]
                scale = float(np.median(r)) if r else 1.0
            for u in range(start, t):
                if weekly[u] is not None:
                    out[u] = weekly[u] * scale
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    d = json.load(open(sys.argv[1]))
    level_hours = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    y = np.array(d["y"], float)
    variants = [
        ("raw history, the product's daily index", lambda h: h, {}),
        ("raw history, statsforecast's (mean ratio, whole history)", lambda h: h, {"agg": np.mean, "window": 10**9}),
        ("cleaned, put back at the weekly expectation (before)", lambda h: cleaned(h, None), {}),
        (f"cleaned, put back at the level of {level_hours} h around (product)", lambda h: cleaned(h, level_hours), {}),
    ]
    for label, history, index in variants:
        print(label, flush=True)
        err = {1: [], 6: []}
        for i, o in enumerate(d["origins"]):
            f, level, last = theta(history(y[:o]), 6, **index)
            for h in err:
                if o + h - 1 < len(y) and y[o + h - 1] != 0:
                    err[h].append(abs(y[o + h - 1] - f[h - 1]) / abs(y[o + h - 1]) * 100)
            if i % 12 == 0 and "cleaned" in label:
                print(f"  origin {o}: smoothed level {level:.0f}, last deseasonalized hour {last:.0f}")
        print("  MAPE " + ", ".join(f"{h} h {np.mean(v):.2f} %" for h, v in err.items()), flush=True)


if __name__ == "__main__":
    main()
