#!/usr/bin/env python3
"""Recombine the ensemble offline from `nodecast backtest --dump-members FILE`.

The dump holds every member's point forecasts at every origin the backtest
used. This script redoes what src/forecast/selection.rs does with them (the
choice of candidates by recency-weighted validation error) and
scores the combined point forecast's MAPE at the scored horizons, so that
other settings can be measured in seconds without refitting any member:

    nodecast backtest --input S.csv --json --dump-members S.members.json > S.json
    python3 scripts/recombine.py S.members.json --check S.json   # same as the product
    python3 scripts/recombine.py S.members.json --top-k 5 --recency 0.9 --metric smape

Pure Python (no numpy). Bands are not recombined: MAPE only.
"""

import argparse
import json
import math
import sys

H = 48
STEP = 6
MIN_TRAIN = 48
SCORED = [1, 6, 12, 24, 48]


def window(h, half):
    return range(max(1, h - half), min(H, h + half) + 1)


def validation_origins(start_hour, origin, count, need=H):
    """`count` grid origins, latest first, at least `need` hours before
    `origin` (the band's: all 48 hours known)."""
    latest = origin - need
    if latest < 0:
        return []
    latest -= (start_hour + latest) % STEP
    return [latest - STEP * k for k in range(count) if latest - STEP * k >= MIN_TRAIN]


def observed_after(h):
    """Hours after a validation origin that must be known for the choice at
    horizon `h` to read it: the first of its selection window
    (src/forecast/selection.rs, `observed_after`); hours from the origin on
    are not read."""
    return window(h, max(h, 2)).start


def selection_origins(start_hour, origin, count):
    """Every validation origin the choice reads, latest first (each horizon
    reads the latest `count` it knows the errors of); none before the band
    has one (src/forecast/ensemble.rs, `selection_origins`)."""
    band = validation_origins(start_hour, origin, count)
    if not band:
        return []  # the cold-start rule serves until the band has one
    every = validation_origins(start_hour, origin, 10**6, observed_after(1))
    return [v for v in every if v >= band[-1]]


def combined(d, points, origin, args, members):
    y, observed, short, first = d["y"], d["observed"], d["tracks_level"], d["first_hours"]
    m = len(d["members"])
    # After a burst at the origin (a run in progress of 1 to --burst-hours
    # hours far from both seasonal expectations, as the dump records it;
    # dumps before 2026-12-04 record none) the level median serves alone
    # past the first hours.
    run = dict(zip(d["origins"], d.get("runs_in_progress", [])))
    after = d.get("after_a_burst", [False] * m)
    burst = 1 <= run.get(origin, 0) <= args.burst_hours
    merit = d["on_merit"] if args.on_merit is None and "on_merit" in d else [n in (args.on_merit or "naive").split(",") for n in d["members"]]
    vals = selection_origins(d["start_hour"], origin, args.validation_origins)
    now = points[origin]
    pool = [j for j in range(m) if members is None or d["members"][j] in members]
    cands = [(j,) for j in pool] + [
        (a, b) for i, a in enumerate(pool) for b in pool[i + 1 :]
    ]

    def mean_of(pts, c, h):
        s = 0.0
        for j in c:
            p = pts[j]
            if p is None or len(p) <= h:
                return None
            s += p[h]
        return s / len(c)

    # Per validation origin, candidate and horizon: the error (None where
    # the candidate has no forecast or the target is not scored).
    err = []
    for k, v in enumerate(vals):
        pts = points[v]
        per = []
        for c in cands:
            e = [None] * H
            for h in range(H):
                t = v + h
                p = mean_of(pts, c, h)
                if p is None or t >= origin or not observed[t]:
                    continue
                if args.metric == "ape" and y[t] != 0.0:
                    e[h] = abs(y[t] - p) / abs(y[t])
                elif args.metric == "smape" and abs(y[t]) + abs(p) > 0.0:
                    e[h] = 2.0 * abs(y[t] - p) / (abs(y[t]) + abs(p))
            per.append(e)
        err.append(per)

    def has(j, h):
        return now[j] is not None and len(now[j]) >= h

    def margin(j):
        return args.seasonal_margin if d["members"][j] in ("seasonal24", "daily_median") else args.first_hours_margin

    out = []
    for h in range(1, H + 1):
        alone = [None] * m
        w = [0.0] * m
        level = [j for j in pool if after[j] and has(j, h)]
        if burst and h > args.short_horizons and level:
            out.append(max(now[level[0]][h - 1], 0.0))
            continue
        only_short = h <= args.short_horizons and any(first[j] and has(j, h) for j in pool)
        win = window(h, max(h, 2))
        # The latest validation origins with a known hour in the window.
        read = [k for k in range(len(vals)) if vals[k] + observed_after(h) <= origin][: args.validation_origins]
        # Every candidate is scored on the validation origins where each
        # member that may serve the horizon (and has any validation forecast
        # near it) has one (--own-origins: each on its own, as before
        # 2026-12-02, seventh session).
        def present(k, j):
            p = points[vals[k]][j]
            return p is not None and len(p) >= win.start

        live = [j for j in pool if (not only_short or first[j] or merit[j]) and has(j, h) and any(present(k, j) for k in read)]
        common = [(k, rank) for rank, k in enumerate(read) if args.own_origins or all(present(k, j) for j in live)]
        scored = []
        for ci, c in enumerate(cands):
            if mean_of(now, c, h - 1) is None or (only_short and not all(first[j] or merit[j] for j in c)):
                continue
            s = k = 0.0
            for o, rank in common:
                wt = args.recency**rank
                for hh in win:
                    e = err[o][ci][hh - 1]
                    if e is not None:
                        s += wt * e
                        k += wt
            if k > 0.0:
                scored.append((s / k, ci))
                if len(cands[ci]) == 1:
                    alone[cands[ci][0]] = s / k
        if only_short:
            # The members on merit compete at the first hours only where they
            # beat the level trackers' best by their margin (a pair: the
            # larger of its members').
            bar = min((e for e, ci in scored if all(first[j] for j in cands[ci])), default=math.inf)
            scored = [
                (e, ci)
                for e, ci in scored
                if all(first[j] for j in cands[ci]) or e <= max(margin(j) for j in cands[ci] if not first[j]) * bar
            ]
        if not scored:
            avail = [j for j in pool if has(j, h)]
            for j in avail:
                w[j] = 1.0 / len(avail)
        else:
            scored.sort(key=lambda x: x[0])
            top = [x for x in scored[: args.top_k] if x[0] <= args.near_best * scored[0][0]]
            for _, ci in top:
                for j in cands[ci]:
                    w[j] += 1.0 / (len(cands[ci]) * len(top))
            trackers = [j for j in pool if short[j] and has(j, h)]
            if h > args.short_horizons and trackers and args.tracker_share > 0.0:
                w = [x * (1.0 - args.tracker_share) for x in w]
                # Split by inverse validation sMAPE to the power (equal parts
                # when a tracker has no score yet).
                if all(alone[j] is not None and alone[j] > 0.0 for j in trackers):
                    parts = [alone[j] ** -args.tracker_power for j in trackers]
                else:
                    parts = [1.0] * len(trackers)
                for j, part in zip(trackers, parts):
                    w[j] += args.tracker_share * part / sum(parts)
        pairs = [(now[j][h - 1], w[j]) for j in range(m) if has(j, h) and w[j] > 0]
        if not pairs:
            out.append(0.0)
            continue
        pairs = near_median(pairs, args.far_from_median)
        wsum = sum(x for _, x in pairs)
        mean = sum(v * x for v, x in pairs) / wsum
        share = median_share(h, args.median_share)
        f = mean if share == 0.0 else (1.0 - share) * mean + share * weighted_median(pairs)
        out.append(max(f, 0.0))
    return out


# selection.rs: MEDIAN_AFTER, MEDIAN_FULL_FROM, MEDIAN_SHARE, FAR_FROM_MEDIAN.
MEDIAN_AFTER, MEDIAN_FULL_FROM, MEDIAN_SHARE = 6, 12, 0.5
FAR_FROM_MEDIAN = 1.0


def near_median(pairs, far=FAR_FROM_MEDIAN):
    """The (value, weight) pairs with positive weight whose value lies at
    most `far` x |their weighted median| from it (all of them if none
    does), as selection.rs `combine` keeps them."""
    centre = weighted_median(pairs)
    near = [p for p in pairs if abs(p[0] - centre) <= far * abs(centre)]
    return near or pairs


def median_share(h, full=MEDIAN_SHARE):
    """The weighted median's share of the combined forecast at horizon h
    (selection.rs: none up to MEDIAN_AFTER, rising linearly to `full` at
    MEDIAN_FULL_FROM)."""
    if h <= MEDIAN_AFTER:
        return 0.0
    return full * min((h - MEDIAN_AFTER) / (MEDIAN_FULL_FROM - MEDIAN_AFTER), 1.0)


def weighted_median(pairs):
    """The weighted median of (value, weight) pairs with positive weight
    (selection.rs `weighted_median`)."""
    pairs = sorted((p for p in pairs if p[1] > 0), key=lambda p: p[0])
    total = sum(x for _, x in pairs)
    below = 0.0
    for i, (v, x) in enumerate(pairs):
        below += x / total
        if below >= 0.5 - 1e-12:
            if below <= 0.5 + 1e-12 and i + 1 < len(pairs):
                return (v + pairs[i + 1][0]) / 2
            return v
    return None


def mape(d, args, members):
    points = {o: p for o, p in d["points"]}
    ape = {h: [] for h in SCORED}
    for o in d["origins"]:
        f = combined(d, points, o, args, members)
        for h in SCORED:
            t = o + h - 1
            if t < len(d["y"]) and d["observed"][t] and d["y"][t] != 0:
                ape[h].append(abs(d["y"][t] - f[h - 1]) / abs(d["y"][t]) * 100.0)
    return {h: (sum(v) / len(v) if v else None) for h, v in ape.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dump", nargs="+", help="files written by --dump-members")
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--near-best", type=float, default=1.25, help="candidates averaged only within this factor of the best's validation error")
    ap.add_argument("--first-hours-margin", type=float, default=0.8, help="--on-merit members compete at the first hours where this share of the best tracker's error is not exceeded")
    ap.add_argument("--seasonal-margin", type=float, default=1.0, help="the same for seasonal24 and daily_median (SEASONAL_FIRST_HOURS_MARGIN; --on-merit naive,global_lstm leaves it out, as before 2026-12-02, seventh session)")
    ap.add_argument("--own-origins", action="store_true", help="score each candidate on its own validation origins (the product before 2026-12-02, seventh session)")
    ap.add_argument("--on-merit", help="comma-separated members that join the first hours on merit (default: the dump's on_merit, else naive)")
    ap.add_argument("--recency", type=float, default=0.9, help="weight of a validation origin against the next later one")
    ap.add_argument("--metric", choices=["ape", "smape"], default="ape", help="validation error (ape: the product's)")
    ap.add_argument("--tracker-share", type=float, default=0.0, help="share fixed for the level-tracking members past the first hours (0 in the product)")
    ap.add_argument("--tracker-power", type=float, default=2.0)
    ap.add_argument("--short-horizons", type=int, default=3)
    ap.add_argument("--burst-hours", type=int, default=2, help="a run in progress of at most this many hours is a burst (BURST_HOURS; 0: never)")
    ap.add_argument("--validation-origins", type=int, default=28)
    ap.add_argument("--median-share", type=float, default=MEDIAN_SHARE, help="the weighted median's share of the combined forecast from 12 h on (MEDIAN_SHARE; 0: the weighted mean alone, as before 2026-12-04, nineteenth session)")
    ap.add_argument("--far-from-median", type=float, default=FAR_FROM_MEDIAN, help="members further than this share of the weighted median from it are left out of the hour (FAR_FROM_MEDIAN; inf: none, as before 2026-12-04, twenty-first session)")
    ap.add_argument("--members", help="comma-separated pool (default: every member)")
    ap.add_argument("--check", help="backtest JSON of the same series: exit 1 unless the ensemble MAPE matches")
    args = ap.parse_args()
    members = set(args.members.split(",")) if args.members else None
    ok = True
    for path in args.dump:
        with open(path) as f:
            d = json.load(f)
        got = mape(d, args, members)
        print(d["series"], " ".join("h%d=%.4f" % (h, got[h]) for h in SCORED if got[h] is not None))
        if args.check:
            with open(args.check) as f:
                want = json.load(f)["models"]["ensemble"]
            for h in SCORED:
                w = want.get(str(h), {}).get("mape")
                if w is not None and not math.isclose(w, got[h], rel_tol=1e-9, abs_tol=1e-9):
                    print("h%d: backtest %.6f, recombined %.6f" % (h, w, got[h]), file=sys.stderr)
                    ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
