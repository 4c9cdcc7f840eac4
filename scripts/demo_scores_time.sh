#!/bin/bash
# Seconds from the demo's start until the fleet tab shows prod-web's line of
# forecast scores (the hindcast, docs/accuracy.md), in a detached 160x48
# tmux session as tests/it/e2e.rs runs it; "timeout" after 240 s.
#   scripts/demo_scores_time.sh [BIN]     (default: target/release/nodecast)
# Run `yes > /dev/null &` beside it for the time with one core busy.
set -u
bin=${1:-target/release/nodecast}
home=$(mktemp -d); sock=demo-scores-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$home"' EXIT
tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 48 \
  "env -u KUBECONFIG HOME=$home TERM=xterm-256color $bin; sleep 60"
t0=$(date +%s.%N)
until tmux -L "$sock" capture-pane -p -J | grep "1 prod-web" | grep -q " · band "; do
  if (( $(echo "$(date +%s.%N) - $t0 > 240" | bc) )); then echo "timeout"; exit 1; fi
  sleep 0.2
done
echo "$bin $(echo "$(date +%s.%N) - $t0" | bc) s"
