#!/usr/bin/env python3
"""How much the band's validation residuals understate the error because
the weights were chosen on the same origins (a measurement, not the
product; docs/experiments.md, 2026-12-02, seventh session).

The product's band (`banded` in src/forecast/ensemble.rs) takes the
combined forecast's residuals at the validation origins with the weights
chosen now, on those origins: in-sample for the choice. Here each
validation origin's forecast is combined instead with the weights the
ensemble chose at that origin itself ("honest"), and the pooled p10-p90
coverage of the test targets is counted both ways at each scored
horizon, at the product's quantiles (`band_q`), per set. The weights at a
scored horizon stand for its neighbours, as in band_cv.py.

    python3 scripts/band_honest.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json

OUT/bt: the dumps of scripts/global_cv.sh. Writes recombination inputs to
a temporary folder. Needs numpy; about a minute.
"""
import glob
import json
import os
import sys
import tempfile

import numpy as np

import corpus_cv as cc
from band_cv import quantile
from recombine import H, validation_origins

if len(sys.argv) < 4:
    sys.exit(__doc__)
TMP = tempfile.mkdtemp()
best, group = cc.baselines(sys.argv[2:])
corpus = {n for n, g in group.items() if g == os.path.basename(sys.argv[2])}
SC = cc.SCORED
def qof(h):
    """band_q of src/forecast/ensemble.rs (BAND_Q 0.06, BAND_Q_48 0.05)."""
    far = min(max(h - 24, 0) / 24.0, 1.0)
    return 0.06 + (0.05 - 0.06) * far
res_count = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], '*.members.json'))):
    name = os.path.basename(path)[:-len('.members.json')]
    d = json.load(open(path))
    s = cc.Series(path, best)
    # every grid origin with validation, as test origins
    d2 = dict(d); d2['origins'] = [o for o in s.grid if o >= 48 + 48 and all(v in s.at for v in validation_origins(d['start_hour'], o, cc.VALIDATION))]
    p2 = os.path.join(TMP, f'{name}.members.json')
    json.dump(d2, open(p2, 'w'))
    os.symlink(os.path.abspath(path.replace('.members.json', '.json')), os.path.join(TMP, f'{name}.json'))
    sa = cc.Series(p2, best)
    wa = sa.weights(sa.pooled('ape', 0.9), *cc.PRODUCT[2:])
    wa_at = {o: i for i, o in enumerate(sa.origins)}
    w = s.weights(s.pooled('ape', 0.9), *cc.PRODUCT[2:])
    y, obs, grid, at, p = s.raw_y, s.observed, s.grid, s.at, s.points
    def combine(ww, pts):
        ok = ~np.isnan(pts)
        if (ww * ok).sum() == 0:
            return None
        return (ww * np.nan_to_num(pts))[ok].sum() / ww[ok].sum()
    out = {}
    for x, h in enumerate(SC):
        half = min(max(h // 2, 1), 3)
        win = range(max(1, h - half), min(H, h + half) + 1)
        cnt = {'product': [0, 0], 'honest': [0, 0]}
        for oi, o in enumerate(s.origins):
            t = o + h - 1
            if t >= len(y) or not obs[t]:
                continue
            point = combine(w[oi, x], p[at[o], :, h - 1])
            if point is None:
                continue
            point = max(point, 0.0)
            for kind in cnt:
                res = []
                for vi in s.val[oi]:
                    v = grid[vi]
                    if kind == 'honest':
                        if v not in wa_at: continue
                        ww = wa[wa_at[v], x]
                    else:
                        ww = w[oi, x]
                    for k in win:
                        tv = v + k - 1
                        pe = combine(ww, p[vi, :, k - 1])
                        if obs[tv] and pe is not None and abs(pe) > 1e-12:
                            res.append(y[tv] / pe - 1)
                res.sort()
                q = qof(h)
                lo, hi = (quantile(res, q), quantile(res, 1 - q)) if res else (-0.3, 0.3)
                if len(res) < 30:
                    kk = 1 - len(res) / 30
                    lo, hi = min(lo, 0) - 0.3 * kk, max(hi, 0) + 0.3 * kk
                lo, hi = min(lo, 0), max(hi, 0)
                cnt[kind][0] += int(max(point * (1 + lo), 0) <= y[t] <= max(point * (1 + hi), 0))
                cnt[kind][1] += 1
        out[h] = cnt
    res_count[name] = out
    print(name, {h: {k: round(v[0] / max(v[1], 1), 2) for k, v in c.items()} for h, c in out.items()}, flush=True)
for setname, names in (('corpus', [n for n in res_count if n in corpus]), ('dev', [n for n in res_count if n not in corpus])):
    for kind in ('product', 'honest'):
        print(setname, kind, ' '.join(f"{h}h {sum(res_count[n][h][kind][0] for n in names) / max(sum(res_count[n][h][kind][1] for n in names), 1):.3f}" for h in SC))
