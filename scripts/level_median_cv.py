#!/usr/bin/env python3
"""The level median member (src/forecast/members.rs, `LevelMedian`: the
median of the last K hours, flat) added offline to the member dumps of a
`scripts/global_cv.sh` run made without it, and recombined with the
product's rule as scripts/corpus_cv.py does. Each variant
K[,GATE[,ROLE[,FROM-TO]]] (GATE: forecast only where the history does
*not* repeat every GATE hours, `has_cycle`; 0: always; ROLE `t`: as a
level tracker that serves the first hours, `m`: joining them on merit
with naive's margin, empty: neither; FROM-TO: no forecast at horizons
FROM to TO-1 hours) is reported against the dumps' own members: the
objective, the figures, how many series gain and lose, then each fold's
choice scored on the other fold and the choice with one source left out.
The product's is 168,0,m (docs/forecasting.md, "The level median").

    python3 scripts/level_median_cv.py OUT/bt BASELINES-CORPUS.json BASELINES-DEV.json K[,GATE[,ROLE[,FROM-TO]]] ...

e.g. `6,0 12,0 24,0 48,0 96,0 168,0 336,0 504,0 672,0 168,24 168,168`,
`168,0,m 168,0,t`, `168,0,m,4-9 168,0,m,4-49`.
Needs numpy. About a minute a variant on 2 cores.
"""
import warnings

import numpy as np

from daily_median_cv import H, add_member, has_cycle, labels_main

warnings.simplefilter("ignore", RuntimeWarning)


def adder(variants):
    """A dump adapter adding one flat median member per (hours, gate, role,
    horizons it skips)."""

    def adapt(d):
        y = np.array(d["y"], float)
        for k, gate, role, skip in variants:

            def forecast(o, k=k, gate=gate, skip=skip):
                w = y[max(0, o - k) : o]
                ok = len(w) > 0 and not (gate and has_cycle(y[:o], gate))
                return [np.nan if h + 1 in skip else float(np.median(w)) for h in range(H)] if ok else None

            add_member(d, f"level_median_{k}_{gate}{role}_{skip.start}-{skip.stop}", forecast, tracks=role == "t", merit=role == "m")
        return d

    return adapt


def main():
    def make(k, gate, role, skip):
        a, b = (int(x) for x in skip.split("-"))
        return adder([(int(k), int(gate), role, range(a, b))])

    labels_main(__doc__, ["168", "0", "", "0-0"], make)


if __name__ == "__main__":
    main()
