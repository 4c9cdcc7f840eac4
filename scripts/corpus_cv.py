#!/usr/bin/env python3
"""Choose the ensemble's selection rule by cross-validation across series.

Input: a folder with, per series S, `S.json` and `S.members.json` from

    nodecast backtest --input S.csv --json --dump-members S.members.json > S.json

(the corpus and the dev series of the shared bench notes), and the
baselines files. Every rule of the grid below recombines the members'
forecasts offline, as src/forecast/selection.rs does (scripts/recombine.py
is the plain one-series version; the two agree), and is scored per series
and horizon as MAPE / the hindsight-best statistical baseline's MAPE.

Two folds: the series of each source (name up to its second '-') are
sorted and dealt alternately to fold A and fold B. The rule that scores
best on one fold (mean over horizons of log geometric mean + log median of
the ratios) is reported on the other, next to the product's rule; then the
rule chosen on all series.

    python3 scripts/corpus_cv.py OUT_DIR BASELINES.json [BASELINES.json ...]

Needs numpy (pip install numpy). A few minutes on 2 cores.
"""

import glob
import itertools
import math
import json
import os
import sys
import warnings

import numpy as np

# The one-series recombination: its horizons, windows and validation origins.
from recombine import FAR_FROM_MEDIAN, H, SCORED, median_share, validation_origins, window

VALIDATION = 28
# RULE=sixth in the environment: the product's rule before 2026-12-02
# (seventh session), to rerun the figures logged before then: each candidate
# scored on its own validation origins, seasonal naive never at 1-3 h.
SIXTH = os.environ.get("RULE") == "sixth"
# Members that join the first hours on merit with their own margin, over
# naive's (the rule's margin field): seasonal naive (24 h) and, since the
# sixteenth session, the daily median where its candidates' validation
# error is at most the best tracker's (SEASONAL_FIRST_HOURS_MARGIN in
# src/forecast/members.rs).
SEASONAL_MERIT = [] if SIXTH else [("seasonal24", 1.0), ("daily_median", 1.0)]
HI = [h - 1 for h in SCORED]
# A run in progress at the origin of 1 to this many hours far from both
# seasonal expectations is a burst: past the first hours the level median
# serves alone (BURST_HOURS in src/forecast/selection.rs; 0: never, the
# product before 2026-12-04).
BURST_HOURS = 2
# FAR=inf in the environment: every chosen member in the combination, the
# product before 2026-12-04 (twenty-first session), to rerun the figures
# logged before then; otherwise FAR_FROM_MEDIAN (selection.rs).
FAR = float(os.environ.get("FAR", FAR_FROM_MEDIAN))
# src/forecast/robust.rs: DAYS, WEEKS, SIGMAS, MIN_SHARE.
ROBUST = (7, 4, 4.0, 0.25)


def expectation(y, period, count):
    """robust::expectation: the median of the same hour `count` periods
    either side (none under two)."""
    n = len(y)
    pad = np.full(n + 2 * period * count, np.nan)
    pad[period * count : period * count + n] = y
    m = np.stack([pad[period * (count + k) : period * (count + k) + n] for k in range(-count, count + 1) if k], 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = np.nanmedian(m, 1)
    e[(~np.isnan(m)).sum(1) < 2] = np.nan
    return e


def far_from(y, e):
    """robust::far_from: hours SIGMAS robust deviations and MIN_SHARE of
    the expectation away from it."""
    _, _, sigmas, min_share = ROBUST
    ok = ~np.isnan(e)
    if not ok.any():
        return np.zeros(len(y), bool)
    sigma = 1.4826 * np.median(np.abs(y[ok] - e[ok]))
    d = np.abs(y - np.nan_to_num(e))
    return ok & (d > sigmas * sigma) & (d > min_share * np.abs(np.nan_to_num(e)))


def run_in_progress(y):
    """robust::run_in_progress: the hours at the end of `y` far from both
    expectations (0 under two weeks). For dumps made before 2026-12-04,
    which do not carry it."""
    days, weeks, _, _ = ROBUST
    if len(y) < 2 * 168:
        return 0
    far = far_from(y, expectation(y, 24, days)) & far_from(y, expectation(y, 168, weeks))
    return len(far) - (np.flatnonzero(~far)[-1] + 1 if (~far).any() else 0)
# The product's rule (src/forecast/selection.rs).
# Last two fields: naive joins the first hours where its candidates beat the
# best tracker's validation error by this share (0: never), and only the
# candidates within this factor of the best's error are averaged.
PRODUCT = ("ape", 0.9, 5, 0.0, "trackers", 0.8, 1.25)
# The rule of the second session of 2026-12-02 (the first stage's choice).
STAGE1 = ("ape", 0.9, 3, 0.0, "trackers", 0.0, np.inf)
# The rule before 2026-12-02 (set by hand on the nine dev series).
BEFORE = ("smape", 1.0, 3, 0.25, "trackers", 0.0, np.inf)
GRID = list(
    itertools.product(
        ["smape", "ape"],
        [1.0, 0.95, 0.9, 0.85, 0.8],
        [2, 3, 4, 5],
        [0.0, 0.25],
        ["trackers", "trackers+naive", "all"],
        [0.0],
        [np.inf],
    )
)
# Second stage (2026-12-02, fifth session), around the first stage's choice:
# naive on merit at the first hours, and averaging only near the best.
GRID += [
    ("ape", 0.9, k, 0.0, "trackers", margin, near)
    for k, margin, near in itertools.product([3, 5], [0.0, 0.5, 0.8, 1.0], [np.inf, 1.5, 1.25, 1.1])
    if (margin, near) != (0.0, np.inf)
]


# The weighted median's share of the combined forecast at the scored
# horizons, as the product's (recombine.median_share).
MEDIAN_SHARE = np.array([median_share(h) for h in SCORED])


def weighted_median(f, w):
    """Per (origin, horizon): the weighted median of the forecasts `f`
    over the members with positive weight `w` (both origins x horizons x
    members), as the product's `weighted_median`: the first value where
    the cumulative weight reaches half, or the mean of it and the next
    where it lands on half exactly."""
    order = np.argsort(np.where(w > 0, f, np.inf), axis=2, kind="stable")
    fs, ws = np.take_along_axis(f, order, 2), np.take_along_axis(np.where(w > 0, w, 0.0), order, 2)
    total = ws.sum(2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.cumsum(ws, 2) / total
    i = np.argmax(c >= 0.5 - 1e-12, axis=2)[..., None]
    at = np.take_along_axis(fs, i, 2)[..., 0]
    nxt = np.take_along_axis(fs, np.minimum(i + 1, fs.shape[2] - 1), 2)[..., 0]
    ci = np.take_along_axis(c, i, 2)[..., 0]
    n = (ws > 0).sum(2)
    tie = (ci <= 0.5 + 1e-12) & (i[..., 0] + 1 < n)
    return np.where(total[..., 0] > 0, np.where(tie, (at + nxt) / 2, at), np.nan)


class Series:
    def __init__(self, path, best, origins=None, adapt=None):
        """`origins`: the test origins to recombine (default: the
        backtest's own); `adapt`: a function that changes the dump before
        it is read (scripts/members_cv.py takes members out)."""
        d = json.load(open(path))
        if adapt:
            d = adapt(d)
        self.name = d["series"].split("/")[-1].removesuffix(".csv")
        self.best = np.array([best[self.name][str(h)]["mape"] for h in SCORED])
        self.members = d["members"]
        m = len(self.members)
        self.tracks = np.array(d["tracks_level"])
        self.first = np.array(d["first_hours"])
        # The members that join the first hours on merit (dumps before the
        # global LSTM: naive alone).
        self.merit = np.array(d.get("on_merit", [n == "naive" for n in d["members"]]), bool)
        # Seasonal naive's and the daily median's margin is their own
        # (SEASONAL_MERIT, `also`).
        self.merit &= ~np.isin(d["members"], ["seasonal24", "daily_median"])
        y, obs = np.array(d["y"], float), np.array(d["observed"], bool)
        grid = [o for o, _ in d["points"]]
        at = {o: i for i, o in enumerate(grid)}
        p = np.full((len(grid), m, H), np.nan)
        for i, (_, pts) in enumerate(d["points"]):
            for j, f in enumerate(pts):
                if f is not None:
                    p[i, j, : len(f)] = f
        # The whole dump, for scripts that read more than the scored hours.
        self.raw_y, self.observed, self.grid, self.at, self.points = y, obs, grid, at, p
        t = np.array(grid)[:, None] + np.arange(H)[None, :]
        inside = t < len(y)
        tc = np.where(inside, t, 0)
        target = np.where(inside & obs[tc], y[tc], np.nan)
        pairs = [(a, b) for a in range(m) for b in range(a + 1, m)]
        self.cands = [(j,) for j in range(m)] + pairs
        c = np.concatenate([p, np.stack([(p[:, a] + p[:, b]) / 2 for a, b in pairs], 1)], 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            tt = target[:, None, :]
            self.err = {
                "ape": np.where(tt != 0, np.abs(tt - c) / np.abs(tt), np.nan),
                "smape": 2 * np.abs(tt - c) / (np.abs(tt) + np.abs(c)),
            }
        self.origins = d["origins"] if origins is None else origins
        # The member that serves alone after a burst, and the run in
        # progress at each test origin (dumps before 2026-12-04: the level
        # median, computed here).
        self.after_burst = np.array(d.get("after_a_burst", [n == "level_median" for n in d["members"]]), bool)
        runs = dict(zip(d["origins"], d["runs_in_progress"])) if "runs_in_progress" in d else {}
        self.runs = np.array([runs[o] if o in runs else run_in_progress(y[:o]) for o in self.origins])
        start = d["start_hour"]
        # The band's validation origins (all 48 hours known); those the
        # choice reads at each horizon follow from them in `windows`.
        self.start = start
        self.val = [[at[v] for v in validation_origins(start, o, VALIDATION)] for o in self.origins]
        # The backtest's own figures for the same forecasts.
        models = json.load(open(path.replace(".members.json", ".json")))["models"]
        self.reported = np.array([models["ensemble"][str(h)]["mape"] for h in SCORED]) / self.best
        self.best_member = np.array(
            [min(v[str(h)]["mape"] for k, v in models.items() if k != "ensemble" and str(h) in v) for h in SCORED]
        ) / self.best
        self.now = np.array([p[at[o]][:, HI] for o in self.origins])
        self.y = np.array([[y[o + h - 1] if o + h - 1 < len(y) and obs[o + h - 1] and y[o + h - 1] != 0 else np.nan for h in SCORED] for o in self.origins])
        share = np.zeros((len(self.cands), m))
        for ci, cand in enumerate(self.cands):
            share[ci, list(cand)] = 1 / len(cand)
        self.share = share

    def common(self, oi, vi, x, sl):
        """The validation origins `vi` of test origin `oi` on which every
        candidate is scored at scored horizon `x` (window `sl`): those where
        each member that forecasts the horizon now, and has any validation
        forecast in the window, has one (the product since 2026-12-02,
        seventh session). With RULE=sixth, every origin: each candidate
        scored on its own, as before."""
        if SIXTH:
            return np.ones(len(vi), bool)
        present = ~np.all(np.isnan(self.points[vi][:, :, sl]), 2)  # (validation origins, members)
        live = ~np.isnan(self.now[oi, :, x]) & present.any(0)
        # At the first hours only the members that may serve them count (the
        # product's pool: the level trackers and those on merit).
        pool = self.first | self.merit | np.isin(self.members, [n for n, _ in SEASONAL_MERIT])
        if SCORED[x] <= 3 and np.any(~np.isnan(self.now[oi, :, x]) & self.first):
            live &= pool
        return np.all(present[:, live], 1)

    # Which validation origins each horizon's choice reads (the product's;
    # scripts/reads_cv.py varies them): an origin counts once `share` of the
    # horizon's selection window is known at the test origin (0: its first
    # hour, the product; None: all 48 hours, the rule before 2026-12-03,
    # tenth session), the unknown hours masked; the window's half-width is
    # `width` x h (at least 2 hours; `half_short`, if set, the half-width
    # at 1-3 h); `recency_short`, if set, is the recency at 1-3 h.
    READS = {"share": 0.0, "width": 1.0, "recency_short": None, "half_short": None}

    def windows(self, metric, recency):
        """For each test origin with validation origins and each scored
        horizon: (test origin index, validation origins, scored horizon
        index, the selection window as a slice of hours, the error over it
        (validation origins, candidates, hours), the recency weight of each
        validation origin)."""
        e = self.err[metric]
        share, width, short, half_short = (self.READS[k] for k in ("share", "width", "recency_short", "half_short"))
        for oi, o in enumerate(self.origins):
            if not self.val[oi]:
                continue  # the cold-start rule serves until the band has an origin
            for x, h in enumerate(SCORED):
                w = width(h) if callable(width) else width
                half = half_short if half_short is not None and h <= 3 else max(int(h * w + 1e-9), 2)
                r = window(h, half)
                lo, hi = r.start, r.stop - 1
                need = H if share is None else math.ceil(lo + (hi - lo) * share)
                vs = [v for v in validation_origins(self.start, o, VALIDATION, need) if v in self.at]
                if not vs:
                    continue
                vi = [self.at[v] for v in vs]
                seg = e[vi][:, :, lo - 1 : hi].copy()
                # Hours from the test origin on are not known there.
                hours = np.array(vs)[:, None] + np.arange(lo - 1, hi)[None, :]
                seg[np.broadcast_to((hours >= o)[:, None, :], seg.shape)] = np.nan
                rec = short if short is not None and h <= 3 else recency
                yield oi, vi, x, slice(lo - 1, hi), seg, rec ** np.arange(len(vi))

    def pooled(self, metric, recency):
        """Per test origin: each candidate's validation error at the scored
        horizons, on the common validation origins."""
        out = np.full((len(self.origins), len(self.cands), len(SCORED)), np.nan)
        for oi, vi, x, sl, seg, wv in self.windows(metric, recency):
            w = wv[:, None, None]
            ok = ~np.isnan(seg) & self.common(oi, vi, x, sl)[:, None, None]
            s, k = (np.where(ok, seg, 0) * w).sum((0, 2)), (ok * w).sum((0, 2))
            with np.errstate(invalid="ignore", divide="ignore"):
                out[oi, :, x] = np.where(k > 0, s / k, np.nan)
        return out

    def weights(self, pooled, top_k, tracker_share, pool, margin, near, also=None, power=None, burst_hours=None):
        """Member weights (origins, scored horizons, members) under a rule.
        `also` = [(member, margin), ...]: members admitted at the first
        hours on their own margin (the product's: SEASONAL_MERIT); `power`: the kept candidates weighed by
        their validation error to the -power instead of equally
        (scripts/selection_variants.py; neither in the product);
        `burst_hours`: BURST_HOURS unless given (0: never)."""
        m = len(self.members)
        naive = np.array([n == "naive" for n in self.members])
        first = {"trackers": self.first & ~naive, "trackers+naive": self.first | naive, "all": np.ones(m, bool)}[pool]
        has = ~np.isnan(self.now)  # (origins, members, horizons)
        cand_has = np.einsum("cm,omx->ocx", (self.share > 0).astype(float), (~has).astype(float)) == 0
        ok = cand_has & ~np.isnan(pooled)
        cand_first = np.array([all(first[j] for j in c) for c in self.cands])
        short = np.array([h <= 3 for h in SCORED])
        any_first = np.any(has & first[None, :, None], 1)  # (origins, horizons)
        # Members on merit (naive's margin, or their own in `also`): a
        # candidate of them (with trackers) stays where it beats the best
        # tracker-only candidate's error by the larger of its members'
        # margins, as the product does.
        own = dict(SEASONAL_MERIT if also is None else also)
        of = [own.get(n, margin if self.merit[j] else None) for j, n in enumerate(self.members)]
        merit = np.array([all(first[j] or of[j] is not None for j in c) for c in self.cands])
        cand_margin = np.array([max([of[j] for j in c if of[j] is not None], default=0.0) for c in self.cands])
        bar = np.where(ok & cand_first[None, :, None], pooled, np.inf).min(1)  # (origins, horizons)
        keep = cand_first[None, :, None] | (merit[None, :, None] & (pooled <= cand_margin[None, :, None] * bar[:, None, :]))
        ok &= ~(short[None, None, :] & any_first[:, None, :] & ~keep)
        e = np.where(ok, pooled, np.inf)
        top = np.argsort(e, axis=1, kind="stable")[:, :top_k, :]  # (origins, k, horizons)
        valid = np.take_along_axis(ok, top, 1)
        et = np.take_along_axis(e, top, 1)
        valid &= et <= near * et[:, :1, :]
        if power is None:
            cw = valid.astype(float)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                cw = np.where(valid, np.maximum(et, 1e-9) ** -power, 0.0)
        w = (self.share[top] * cw[..., None]).sum(1)  # (origins, horizons, members)
        n = cw.sum(1)[..., None]
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(n > 0, w / np.where(n > 0, n, 1), np.transpose(has, (0, 2, 1)).astype(float))
        if tracker_share > 0:
            tr = self.tracks[None, None, :] & np.transpose(has, (0, 2, 1)) & ~short[None, :, None] & (n > 0)
            alone = np.transpose(pooled[:, :m, :], (0, 2, 1))
            scored = np.all(np.where(tr, alone > 0, True), 2, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                parts = np.where(tr, np.where(scored, alone ** -2.0, 1.0), 0.0)
            total = parts.sum(2, keepdims=True)
            any_tr = total > 0
            w = np.where(any_tr, w * (1 - tracker_share) + tracker_share * parts / np.where(any_tr, total, 1), w)
        # After a burst at the origin the level median serves alone past
        # the first hours.
        k = BURST_HOURS if burst_hours is None else burst_hours
        burst = (self.runs >= 1) & (self.runs <= k)
        at = burst[:, None, None] & ~short[None, :, None] & np.any(has & self.after_burst[None, :, None], 1)[:, :, None]
        if self.after_burst.any():
            w = np.where(at, has.transpose(0, 2, 1) & self.after_burst[None, None, :], w).astype(float)
        return w

    def forecast(self, w, median_share=None, far=None, near=None):
        """The combined forecast (test origins, scored horizons) under member
        weights `w` (as `weights` returns them), over the members that
        forecast each hour and lie at most `far` x |their weighted median|
        from it (default FAR; all of them if none does; np.inf: every
        member, the product before 2026-12-04, twenty-first session), or
        those where `near(forecasts, median)` holds if given: their weighted
        mean, mixed with their weighted median past 6 h as the product does
        (src/forecast/selection.rs, `combine`; at the scored horizons half
        from 12 h on). `median_share`: the median's share per scored
        horizon instead (all zeros: the weighted mean alone, the product
        before 2026-12-04, nineteenth session)."""
        has = np.transpose(~np.isnan(self.now), (0, 2, 1))
        f = np.nan_to_num(np.transpose(self.now, (0, 2, 1)))
        w = np.nan_to_num(w) * has
        far = FAR if far is None else far
        if near is None and np.isfinite(far):
            near = lambda f, c: np.abs(f - c) <= far * np.abs(c)
        if near is not None:
            centre = weighted_median(f, w)[..., None]
            with np.errstate(invalid="ignore"):
                kept = np.where(near(f, centre), w, 0.0)
            w = np.where(kept.sum(2, keepdims=True) > 0, kept, w)
        share = MEDIAN_SHARE if median_share is None else np.asarray(median_share, float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (w * f).sum(2) / w.sum(2)
        if not np.any(share > 0):
            return np.maximum(mean, 0.0)
        return np.maximum((1 - share) * mean + share * weighted_median(f, w), 0.0)

    def mape_ratio(self, fc):
        """MAPE of forecasts `fc` per scored horizon / the best baseline's."""
        return np.nanmean(np.abs(self.y - fc) / np.abs(self.y), 0) * 100 / self.best

    def ratios(self, pooled, *rule, also=None, power=None, burst_hours=None):
        w = self.weights(pooled, *rule, also=also, power=power, burst_hours=burst_hours)
        return self.mape_ratio(self.forecast(w))


def source(name):
    return "-".join(name.split("-")[:2])


def summary(r):
    return np.exp(np.mean(np.log(r), 0)), np.median(r, 0)


def objective(r):
    g, md = summary(r)
    return float(np.mean(np.log(g)) + np.mean(np.log(md)))


def show(label, r):
    g, md = summary(r)
    print(f"  {label:40s} geo " + " ".join(f"{v:.3f}" for v in g) + "   median " + " ".join(f"{v:.3f}" for v in md) + f"   ({len(r)} series)")


def corpus_names(group, corpus_path):
    """The series whose baselines came from `corpus_path` (`group` as
    baselines returns it)."""
    return {n for n, g in group.items() if g == os.path.basename(corpus_path)}


def baselines(paths):
    """Per series: the best baselines' MAPE by horizon, and which file
    (its base name) holds them."""
    best, group = {}, {}
    for f in paths:
        for r in json.load(open(f)):
            name = r["series"].split("/")[-1].removesuffix(".csv")
            best[name], group[name] = r["best_mape"], os.path.basename(f)
    return best, group


def dumps(folder, best, adapt=None):
    """Every series of a folder of member dumps (each changed by `adapt`
    first, as Series takes it)."""
    return [Series(p, best, adapt=adapt) for p in sorted(glob.glob(os.path.join(folder, "*.members.json")))]


def one_source_out(names, by_value):
    """Leave one source out at a time: the value (a key of `by_value`, whose
    values are ratios per series) chosen on the other sources' series,
    scored on the source left out. Returns the held-out ratios and the
    choice per source."""
    src = [source(n) for n in names]
    held = np.zeros_like(next(iter(by_value.values())))
    picks = {}
    for s in sorted(set(src)):
        out = [i for i, x in enumerate(src) if x == s]
        rest = [i for i, x in enumerate(src) if x != s]
        picks[s] = min(by_value, key=lambda k: objective(by_value[k][rest]))
        held[out] = by_value[picks[s]][out]
    return held, picks


def reporter(names, corpus):
    """report(label, ratios): the objective on all series and on each fold,
    then the corpus's (names in `corpus`) and the dev series' geometric
    means and medians, and the dev series' mean (the dev bar's statistic)."""
    sets = fold_sets(names)
    in_corpus = [i for i, n in enumerate(names) if n in corpus]
    dev = [i for i, n in enumerate(names) if n not in corpus]

    def report(label, r):
        print(f"{label}: objective {objective(r):.4f} (fold A {objective(r[sets['A']]):.4f}, fold B {objective(r[sets['B']]):.4f})")
        show("corpus", r[in_corpus])
        show("dev", r[dev])
        print("  dev mean " + " ".join(f"{v:.3f}" for v in r[dev].mean(0)), flush=True)

    return report


def folds(names):
    """The two folds: each source's series sorted and dealt alternately."""
    fold = {}
    for src in sorted({source(n) for n in names}):
        for i, n in enumerate(sorted(n for n in names if source(n) == src)):
            fold[n] = "AB"[i % 2]
    return fold


def fold_sets(names):
    """The indices of `names` in fold A and in fold B."""
    fold = folds(names)
    return {k: [i for i, n in enumerate(names) if fold[n] == k] for k in "AB"}


def cross_checks(names, by, product):
    """Print the variant (a key of `by`, whose values are ratios per
    series) each fold chooses, scored on the other fold against the
    product's (`product`, a key of `by`), and the choice with one source
    left out at a time."""
    sets = fold_sets(names)
    for tune, test in (("A", "B"), ("B", "A")):
        k = min(by, key=lambda k: objective(by[k][sets[tune]]))
        print(f"chosen on fold {tune}: {k}; on fold {test} {objective(by[k][sets[test]]):.4f} against the product's {objective(by[product][sets[test]]):.4f}")
    held, picks = one_source_out(names, by)
    print(f"one source left out: {objective(held):.4f} against the product's {objective(by[product]):.4f}; picks {picks}")


def take_option(argv, name):
    """`argv` without `name VALUE`, and VALUE (None when absent)."""
    if name not in argv:
        return None, argv
    i = argv.index(name)
    return argv[i + 1], argv[:i] + argv[i + 2 :]


def variant_report(argv, doc):
    """For the scripts that compare variants of the product's rule
    (`OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json`): the series, and a
    report(label, ratios) that prints the objective on all series and on
    each fold, then the corpus's and the dev series' figures."""
    if len(argv) < 4:
        sys.exit(doc)
    best, group = baselines(argv[2:])
    corpus = corpus_names(group, argv[2])
    series = dumps(argv[1], best)
    report = reporter([s.name for s in series], corpus)
    return series, report


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    best, group = baselines(sys.argv[2:])
    series = dumps(sys.argv[1], best)
    fold = folds([s.name for s in series])
    results = {}
    for metric, recency in itertools.product(["smape", "ape"], [1.0, 0.95, 0.9, 0.85, 0.8]):
        pooled = [s.pooled(metric, recency) for s in series]
        for rule in GRID:
            if rule[:2] == (metric, recency):
                results[rule] = np.array([s.ratios(p, *rule[2:]) for s, p in zip(series, pooled)])
    names = [s.name for s in series]
    idx = {f: [i for i, n in enumerate(names) if fold[n] == f] for f in "AB"}
    print("rule: (error, recency, top k, trackers' share, first-hours pool, naive's margin, near best); ratio to the best baseline at 1/6/12/24/48 h")
    for tune, test in (("A", "B"), ("B", "A")):
        chosen = min(GRID, key=lambda g: objective(results[g][idx[tune]]))
        print(f"tuned on fold {tune} ({len(idx[tune])} series): {chosen}; on fold {test}:")
        show(f"chosen {chosen}", results[chosen][idx[test]])
        show(f"product {PRODUCT}", results[PRODUCT][idx[test]])
        show(f"stage 1 {STAGE1}", results[STAGE1][idx[test]])
        show(f"before {BEFORE}", results[BEFORE][idx[test]])
    chosen = min(GRID, key=lambda g: objective(results[g]))
    print(f"tuned on all {len(names)} series: {chosen} (the product's: {PRODUCT})")
    show(f"chosen {chosen}", results[chosen])
    for g in sorted(set(group[n] for n in names)):
        ix = [i for i, n in enumerate(names) if group[n] == g]
        for label, r in (("product", results[PRODUCT]), ("stage 1", results[STAGE1]), ("before", results[BEFORE])):
            show(f"{label}, {g}", r[ix])
        show(f"best member after the fact, {g}", np.array([series[i].best_member for i in ix]))
    gap = np.max(np.abs(results[PRODUCT] - np.array([s.reported for s in series])))
    print(f"product rule against the backtest's own ensemble figures: largest difference {gap:.1e}")

if __name__ == "__main__":
    main()
