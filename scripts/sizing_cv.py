#!/usr/bin/env python3
"""Sizing rules replayed over `simulate --dump-hours` traces (docs/planning.md).

Each trace holds, for every test hour of `simulate`'s predictive policy, the
nodes needed, the last hour's demand, the busiest hour before, and the
forecast's p50/p90 in nodes for the next 48 h. A sizing rule (the shortage
tracker and the scaling rule of src/plan) is a function of those alone, so
it can be replayed here without forecasting again. The product's own rule
is replayed first and must give the product's sizes, hour for hour.

    python3 scripts/sizing_cv.py SIM DEV_NAMES_DIR
    python3 scripts/sizing_cv.py SIM --check     # the replay check alone
    python3 scripts/sizing_cv.py SIM --quantiles # fixed quantiles, with and without the step rule

SIM is `scripts/global_cv.sh`'s OUT with SIMULATE=1 (OUT/sim holds the
reports, OUT/sim-hours the traces); DEV_NAMES_DIR the dev series' folder
(../shared/data/series), which tells dev series from corpus ones. The
script chooses nothing: it reports every rule on both sets side by side
(issue 17: the corpus figures must hold on series nobody tuned on).
"""
import glob
import itertools
import json
import math
import os
import sys


def normal_quantile(p):
    if abs(p - 0.5) < 1e-12:
        return 0.0
    p = min(max(p, 1e-9), 1 - 1e-9)

    def tail(q):
        t = math.sqrt(-2.0 * math.log(q))
        return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (
            1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t)

    return -tail(p) if p < 0.5 else tail(1.0 - p)


Z90 = normal_quantile(0.9)


def at_quantile(p50, p90, q):
    return max(p50 + normal_quantile(q) / Z90 * (p90 - p50), 0.0)


def whole(n):
    if not math.isfinite(n) or n <= 0:
        return 0
    return int(math.ceil(round(n * 1e6) / 1e6))


# The product's defaults (src/plan/scaling.rs, src/plan/shortage.rs).
PRODUCT = dict(window=2, step=0.5, least=0.05, buffer=0.10, week_h=168.0,
               lo=0.50, hi=0.95, start=0.80, target=0.01)


def next_size(current, requested_now, upper, r):
    floor = whole(requested_now)
    nxt = whole(upper[0]) if upper else 0
    if nxt > current or floor > current:
        return max(nxt, floor)
    window = upper[:max(r["window"], 1)]
    if not window:
        return current
    band_max = max(whole(u) for u in window)
    if band_max < current:
        step = max(int(math.floor(current * r["step"])), 1)
        to = max(band_max, floor, current - step)
        least = max(int(math.ceil(current * r["least"])), 1)
        if to + least <= current:
            return to
    return current


# The default scale-out step: (share of the group, least nodes), and the
# most nodes it adds (MAX_SCALE_OUT_STEP).
UP = (1.0, 4)
MAX_UP = 100


def step_limit(frm, to, max_step, up=UP):
    """The executor's step rule (src/plan/scaling.rs, step_limit): max_step
    either way, or by default up to the group's size again (at least 4
    nodes; `up` varies it) and down by half of it (at least one)."""
    if max_step is not None:
        return max(max_step, 1)
    return min(max(int(frm * up[0]), up[1]), MAX_UP) if to > frm else max(frm // 2, 1)


def towards(frm, to, max_step, up=UP):
    s = step_limit(frm, to, max_step, up)
    return min(max(to, max(frm - s, 0)), frm + s)


def one_change_below(to, max_step, up=UP):
    lo, hi = 0, to
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if mid + step_limit(mid, to, max_step, up) >= to:
            hi = mid
        else:
            lo = mid + 1
    return lo


def ramp_now(upper, requested_now, limits):
    """What the coming hour must reach so that every later hour's target is
    one change per cooldown away (ChangeLimits::ramp over `targets`; the
    simulated group has no min or max)."""
    floor = whole(requested_now)
    need = [max(whole(u), floor) for u in upper]
    every = limits["every_h"]
    for h in range(len(need) - 1, -1, -1):
        if h + every < len(need):
            need[h] = max(need[h], one_change_below(need[h + every], limits["max_step"], limits.get("up", UP)))
    return need[0] if need else 0


def limited_next_size(size, requested_now, upper, limits, r):
    """ChangeLimits::next_size: the scaling rule's size raised to the ramp,
    a scale-in stopped at it, at most one step from `size`."""
    nxt = next_size(size, requested_now, upper, r)
    ramp = ramp_now(upper, requested_now, limits)
    if ramp > max(nxt, size):
        nxt = ramp
    elif nxt < size:
        nxt = max(nxt, min(ramp, size))
    return towards(size, nxt, limits["max_step"], limits.get("up", UP))


def hour_size(size, requested_now, upper, limits, r):
    """ChangeLimits::hour_changes: the size after the hour's changes, the
    first limited_next_size's and, while a scale-out leaves the group short,
    more steps, at most `per_hour` of them and MAX_UP nodes in all; a
    scale-in one step."""
    budget = size + MAX_UP
    at = size
    for i in range(limits.get("per_hour", 1)):
        nxt = limited_next_size(at, requested_now, upper, limits, r)
        if nxt > at:
            nxt = min(nxt, budget)
        if nxt == at or (nxt < at and i > 0):
            break
        at = nxt
        if nxt < size:
            break
    return at


def limits_of(report):
    """The step rule and cooldown of a simulate report (reports before
    2026-12-04 had none: no limit, a change every hour; reports before
    2026-12-05 made one change an hour: `simulate`'s `limits` has
    `changes_per_hour` since)."""
    lim = report.get("limits")
    if lim is None:
        return None
    minutes = lim["cooldown_minutes"]
    return dict(
        max_step=lim["max_step"],
        every_h=max(-(-max(minutes, 0) // 60), 1),
        per_hour=lim.get("changes_per_hour", 1),
    )


def sized_upper(h, q, r):
    """The upper band in nodes at quantile q, under the ceiling (sizing_nodes)."""
    ceiling = h["busiest"] * (1 + r["buffer"])
    out = []
    for m, u in zip(h["p50"], h["p90"]):
        v = at_quantile(m, u, q)
        if h["busiest"] > 0:
            v = max(min(v, ceiling), m)
        out.append(v)
    return out


class Tracker:
    """The product's rule (src/plan/shortage.rs): adaptive quantile tracking."""

    def __init__(self, r):
        self.r = r
        self.q = min(max(r["start"], r["lo"]), r["hi"])
        self.rate = (r["hi"] - r["lo"]) / (r["week_h"] * r["target"])
        self.needed = 0.0
        self.n = 0

    def observe(self, h, size):
        need, r = h["need"], self.r
        s = max(need - size, 0)
        self.n += 1
        self.needed += need
        mean_need = max(self.needed / self.n, 1.0)
        self.q = min(max(self.q + self.rate * (s - r["target"] * need) / mean_need, r["lo"]), r["hi"])


class Hindsight:
    """Not in the product: every hour, the smallest quantile of a grid at
    which the last `window` hours' hour-ahead forecasts would have met the
    target (sized alone, without the scaling rule's holds), by `z` standard
    errors of the hours' shortage minus the target; p95 when none would."""

    GRID = [0.5 + 0.025 * i for i in range(19)]

    def __init__(self, r, window=720, z=0.0):
        from collections import deque
        self.r, self.window, self.z = r, window, z
        self.q = r["start"]
        self.rows = deque()
        self.s1 = [0.0] * len(self.GRID)
        self.s2 = [0.0] * len(self.GRID)

    def observe(self, h, size):
        need, r = h["need"], self.r
        floor = whole(h["requested_now"])
        row = []
        for g in self.GRID:
            v = sized_upper({**h, "p50": h["p50"][:1], "p90": h["p90"][:1]}, g, r)[0]
            row.append(max(need - max(whole(v), floor), 0) - r["target"] * need)
        self.rows.append(row)
        for i, x in enumerate(row):
            self.s1[i] += x
            self.s2[i] += x * x
        if len(self.rows) > self.window:
            for i, x in enumerate(self.rows.popleft()):
                self.s1[i] -= x
                self.s2[i] -= x * x
        n = len(self.rows)
        self.q = self.GRID[-1]
        for g, a, b in zip(self.GRID, self.s1, self.s2):
            if a + self.z * math.sqrt(max(b - a * a / n, 0.0)) <= 0:
                self.q = g
                break


def replay(hours, first_size, r, chooser=Tracker, limits=None):
    """Sizes, node-hours, node-hours short and the mean quantile of rule r
    (within the step rule and cooldown `limits`, as limits_of gives them)."""
    size = first_size
    tracker = chooser(r)
    node_hours = short_nh = 0
    qsum = 0.0
    sizes = []
    last = None
    for t, h in enumerate(hours):
        qsum += tracker.q
        upper = sized_upper(h, tracker.q, r)
        if limits is None:
            size = next_size(size, h["requested_now"], upper, r)
        else:
            nxt = hour_size(size, h["requested_now"], upper, limits, r)
            if nxt != size and (last is None or t - last >= limits["every_h"]):
                size, last = nxt, t
        sizes.append(size)
        node_hours += size
        short_nh += max(h["need"] - size, 0)
        tracker.observe(h, size)
    return sizes, node_hours, short_nh, qsum / max(len(hours), 1)


def load(sim):
    out = {}
    for f in sorted(glob.glob(f"{sim}/sim-hours/*.json")):
        name = os.path.basename(f)[:-5]
        report = json.load(open(f"{sim}/sim/{name}.json"))
        hours = json.load(open(f))
        out[name] = (report, hours)
    return out


def first_size(report, hours):
    """The size before the first test hour: the need of the hour before it
    (simulate's `need[first - 1]`), which the first hour's floor equals."""
    return whole(hours[0]["requested_now"])


# src/plan/scaling.rs, UNDONE_WITHIN_H: a scale-in whose size before comes back within
# this many hours is undone.
UNDONE_WITHIN_H = 6


def churn(sizes):
    """simulate::score's churn counts of a policy's sizes: hours whose size
    differs from the hour before, and scale-ins undone within
    UNDONE_WITHIN_H hours."""
    resizes = undone = 0
    for i in range(len(sizes) - 1):
        before, after = sizes[i], sizes[i + 1]
        resizes += after != before
        later = sizes[i + 2 : i + 2 + UNDONE_WITHIN_H]
        undone += after < before and any(c >= before for c in later)
    return resizes, undone


def pooled(series, r, chooser=Tracker, up=None, per_hour=None):
    """Pooled figures of rule r; `up`: the default scale-out step instead of
    the report's limits ((share, least nodes), or "none": no step rule);
    `per_hour`: the steps an hour may chain instead of the report's."""
    need = short = cost = react = react_short = static = 0.0
    resizes = undone = react_resizes = react_undone = 0
    for report, hours in series.values():
        limits = limits_of(report)
        if up == "none":
            limits = None
        elif up is not None:
            limits = dict(limits or dict(max_step=None, every_h=1), up=up)
        if per_hour is not None and limits is not None:
            limits = dict(limits, per_hour=per_hour)
        sizes, nh, sh, _ = replay(hours, first_size(report, hours), r, chooser, limits)
        p = report["policies"]
        c = churn(sizes)
        resizes += c[0]
        undone += c[1]
        react_resizes += p["reactive"].get("resizes", 0)
        react_undone += p["reactive"].get("scale_ins_undone", 0)
        need += sum(h["need"] for h in hours)
        short += sh
        cost += nh
        react += p["reactive"]["node_hours"]
        react_short += p["reactive"]["shortage_node_hours"]
        static += p["static_peak"]["node_hours"]
    return dict(realized=short / need, short_x=short / react_short,
                cost_x=cost / react, static_x=cost / static,
                resizes=resizes, undone=undone, react_resizes=react_resizes, react_undone=react_undone)


def fmt(p):
    return (f"realized {100 * p['realized']:.2f} %  shortage x{p['short_x']:.3f}  "
            f"cost x{p['cost_x']:.3f}  static x{p['static_x']:.3f}")


def fmt_churn(p):
    return (f"resizes {p['resizes']} (reactive {p['react_resizes']})  "
            f"undone {p['undone']} (reactive {p['react_undone']})")


GRID = [0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95, 0.97, 0.99]


def frontier(series):
    """The best any per-series constant quantile can do, chosen in hindsight:
    for each price of a short node-hour (in node-hours), every series takes
    the quantile of GRID that minimizes its node-hours plus that price times
    its node-hours short over the whole test window. No rule that sizes
    each series for one constant quantile can beat this curve; one whose
    quantile moves hour by hour could only where it knew when the bursts
    come, which is the forecast's job."""
    curves = {}
    for name, (report, hours) in series.items():
        curves[name] = []
        for q in GRID:
            r = dict(PRODUCT, start=q, lo=q, hi=q)
            _, nh, sh, _ = replay(hours, first_size(report, hours), r, limits=limits_of(report))
            curves[name].append((nh, sh))
    react = sum(rep["policies"]["reactive"]["node_hours"] for rep, _ in series.values())
    react_short = sum(rep["policies"]["reactive"]["shortage_node_hours"] for rep, _ in series.values())
    need = sum(sum(h["need"] for h in hours) for _, hours in series.values())
    rows = []
    for price in [1, 2, 4, 6, 8, 10, 15, 20, 22, 24, 26, 28, 30, 50, 100]:
        cost = short = 0
        for c in curves.values():
            nh, sh = min(c, key=lambda x: x[0] + price * x[1])
            cost += nh
            short += sh
        rows.append((price, short / need, short / react_short, cost / react))
    return rows


def check(data):
    """The product's rule must replay to the product's sizes."""
    for name, (report, hours) in data.items():
        # Without --target-shortage the product sizes for a fixed quantile.
        q = report["rules"]["quantile"]
        r = PRODUCT if "target_shortage" in report else dict(PRODUCT, start=q, lo=q, hi=q)
        sizes, nh, sh, _ = replay(hours, first_size(report, hours), r, limits=limits_of(report))
        want = [h["size"] for h in hours]
        if sizes != want:
            bad = next(i for i, (a, b) in enumerate(zip(sizes, want)) if a != b)
            sys.exit(f"{name}: replay differs from the product at test hour {bad}")
        p = report["policies"]["predictive"]
        assert (nh, sh) == (p["node_hours"], p["shortage_node_hours"]), name
        if "resizes" in p:
            assert churn(sizes) == (p["resizes"], p["scale_ins_undone"]), name
    if not data:
        sys.exit("no traces (SIM/sim-hours/*.json)")
    print(f"replay matches the product on {len(data)} series")


def main():
    if len(sys.argv) == 3 and sys.argv[2] == "--check":
        check(load(sys.argv[1]))
        return
    if len(sys.argv) == 3 and sys.argv[2] == "--quantiles":
        # The quantile trade of docs/planning.md (`nodecast simulate`), over
        # every series in SIM, within the step rule and without it.
        data = load(sys.argv[1])
        check(data)
        for q in [0.75, 0.80, 0.85, 0.90]:
            r = dict(PRODUCT, start=q, lo=q, hi=q)
            print(f"p{round(100 * q)}  within the step rule {fmt(pooled(data, r))}  |  "
                  f"without {fmt(pooled(data, r, up='none'))}")
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sim, dev_dir = sys.argv[1], sys.argv[2]
    dev_names = {os.path.basename(f)[:-4] for f in glob.glob(f"{dev_dir}/*.csv")}
    data = load(sim)
    dev = {k: v for k, v in data.items() if k in dev_names}
    corpus = {k: v for k, v in data.items() if k not in dev_names}
    check(data)
    sets = [("dev", dev), ("corpus", corpus)]
    for label, series in sets:
        print(f"product  {label:6} {fmt(pooled(series, PRODUCT))}")
    print("\nthe default scale-out step (share of the group, least nodes), docs/planning.md")
    for up in [(0.5, 1), (1.0, 1), (1.0, 4), (2.0, 4), "none"]:
        print(f"  {str(up):10s} " + "  |  ".join(f"{label} {fmt(pooled(s, PRODUCT, up=up))}" for label, s in sets))
    print("\nscale-out steps chained within an hour, one per cooldown (ChangeLimits::hour_changes), docs/planning.md")
    for per_hour in [1, 2, 6]:
        print(f"  {per_hour} a hour  " + "  |  ".join(f"{label} {fmt(pooled(s, PRODUCT, per_hour=per_hour))}" for label, s in sets))
    print("\nthe scale-in window (hours the upper band must stay below): resizes and scale-ins undone within 6 h")
    for window in [1, 2, 3, 4, 6, 8, 12]:
        r = dict(PRODUCT, window=window)
        figures = [(label, pooled(s, r)) for label, s in sets]
        print(f"  {window:2d} h  " + "  |  ".join(f"{label} {fmt(p)}  {fmt_churn(p)}" for label, p in figures))
    print("  at fixed quantiles (shortage bought by the window against by the quantile):")
    for window, q in itertools.product([2, 4, 6], [0.75, 0.80, 0.85, 0.90]):
        r = dict(PRODUCT, window=window, start=q, lo=q, hi=q)
        figures = [(label, pooled(s, r)) for label, s in sets]
        print(f"  {window:2d} h p{round(100 * q)}  " + "  |  ".join(
            f"{label} shortage x{p['short_x']:.3f} cost x{p['cost_x']:.3f} undone {p['undone']}" for label, p in figures))
    print("\nthe tracker's rate: hours without shortage over which q falls from p95 to p50")
    for week_h in [24, 48, 84, 168, 336, 672]:
        r = dict(PRODUCT, week_h=week_h)
        print(f"  {week_h:4d} h  " + "  |  ".join(f"{label} {fmt(pooled(s, r))}" for label, s in sets))
    for z in [0.0, 1.0]:
        chooser = lambda r, z=z: Hindsight(r, 720, z)
        print(f"  30-day counterfactual, z={z}:  " + "  |  ".join(
            f"{label} {fmt(pooled(s, PRODUCT, chooser))}" for label, s in sets))
    print("\nthe scaling rule, at constant quantiles (window h, step, hold, ceiling)")
    for window, step, hold, buffer in itertools.product([1, 2], [0.5, 1.0], [0.0, 0.05], [0.0, 0.1]):
        for q in [0.5, 0.8]:
            r = dict(PRODUCT, window=window, step=step, least=hold, buffer=buffer, start=q, lo=q, hi=q)
            print(f"  {window} {step:.1f} {hold:.2f} {buffer:.1f} p{round(100 * q)}  " + "  |  ".join(
                f"{label} {fmt(pooled(s, r))}" for label, s in sets))
    print("\nhindsight frontier: each series' best constant quantile for a price of a short node-hour")
    for label, series in sets:
        for price, realized, short_x, cost_x in frontier(series):
            print(f"  {label:6} price {price:3d}: realized {100 * realized:.2f} %  "
                  f"shortage x{short_x:.3f}  cost x{cost_x:.3f}")


if __name__ == "__main__":
    main()
