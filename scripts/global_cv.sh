#!/bin/bash
# Cross-validation of the global models across series (docs/forecasting.md).
#
#   scripts/global_cv.sh DATA OUT
#
# DATA is a folder with corpus/ (45 series) and series/ (the nine dev
# series), as ../shared/data. The corpus is dealt into two folds as
# scripts/corpus_cv.py deals it (each source's series sorted, alternately).
# Global models are trained on fold A alone, on fold B alone and on the
# whole corpus; every corpus series is then backtested with the models of
# the fold it is not in, and every dev series with the corpus's models, so
# that no series is forecast by a model that saw it. OUT/bt holds the
# backtest JSON and member dumps (for compare_backtest2.py and
# corpus_cv.py). The shipped models/global is trained on all 54 series:
#
#   nodecast train --corpus DATA/corpus --corpus DATA/series --out models/global
#
# Cold start: HISTORY_HOURS=72 forecasts each origin from only its last 72
# hours (backtest --history-hours) into OUT/cold-72 instead of OUT/bt (no
# member dumps), MODELS=a,b restricts the ensemble (backtest --models) and
# goes into OUT/cold-72-a,b; scripts/member_ratios.py scores the folder.
#
# Sizing: SIMULATE=1 runs `simulate --target-shortage 0.01` (40 nodes at
# peak, m6i.2xlarge, as docs/planning.md) on every series with the same
# out-of-fold models into OUT/sim instead of backtesting (and each hour of
# the predictive policy into OUT/sim-hours, for scripts/sizing_cv.py); then
#   python3 scripts/pool_target.py OUT/sim/<the dev series>.json
# and the same over the corpus series' files.
set -euo pipefail
data=${1:?usage: global_cv.sh DATA OUT}
out=${2:?usage: global_cv.sh DATA OUT}
bin=${BIN:-target/release/nodecast}
bt="$out/bt"
[ -n "${HISTORY_HOURS:-}" ] && bt="$out/cold-$HISTORY_HOURS${MODELS:+-$MODELS}"
[ -n "${SIMULATE:-}" ] && bt="$out/sim" && mkdir -p "$out/sim-hours"
mkdir -p "$bt"
python3 - "$data" "$out" <<'EOF'
import os, sys, glob
data, out = sys.argv[1], sys.argv[2]
source = lambda n: "-".join(n.split("-")[:2])
names = sorted(os.path.basename(f)[:-4] for f in glob.glob(f"{data}/corpus/*.csv"))
for src in sorted({source(n) for n in names}):
    for i, n in enumerate(n for n in names if source(n) == src):
        d = f"{out}/fold-{'AB'[i % 2]}"
        os.makedirs(d, exist_ok=True)
        link = f"{d}/{n}.csv"
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(f"{data}/corpus/{n}.csv"), link)
EOF
for f in A B; do
  [ -f "$out/model-$f/manifest.json" ] || "$bin" train --corpus "$out/fold-$f" --out "$out/model-$f"
done
[ -f "$out/model-corpus/manifest.json" ] || "$bin" train --corpus "$data/corpus" --out "$out/model-corpus"
run() { # series.csv models-dir
  local b; b=$(basename "$1" .csv)
  [ -s "$bt/$b.json" ] && return
  if [ -n "${SIMULATE:-}" ]; then
    "$bin" simulate --input "$1" --instance-type m6i.2xlarge --peak-nodes 40 \
      --target-shortage 0.01 --json --global-models "$2" \
      --dump-hours "$out/sim-hours/$b.json" > "$bt/$b.json"
  elif [ -n "${HISTORY_HOURS:-}" ]; then
    "$bin" backtest --input "$1" --json --global-models "$2" \
      --history-hours "$HISTORY_HOURS" ${MODELS:+--models "$MODELS"} > "$bt/$b.json"
  else
    "$bin" backtest --input "$1" --json --global-models "$2" \
      --dump-members "$bt/$b.members.json" > "$bt/$b.json"
  fi
}
for f in "$out"/fold-A/*.csv; do run "$f" "$out/model-B"; done
for f in "$out"/fold-B/*.csv; do run "$f" "$out/model-A"; done
for f in "$data"/series/*.csv; do run "$f" "$out/model-corpus"; done
echo "results in $bt"
