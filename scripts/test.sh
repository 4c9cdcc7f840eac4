#!/usr/bin/env bash
# nodecast's one test command: all set-up on a fresh Debian machine, then every test.
#   scripts/test.sh
# Installs what the tests need from Debian (tmux for the real-terminal tests),
# then runs the whole suite, ignored peer tests included: a missing peer fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "test.sh: installing ${need[*]} from Debian"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "test.sh: cargo not found; install the Rust toolchain (rustup) first" >&2
  exit 1
fi

export TERM="${TERM:-xterm-256color}"
# Library, binary and the one integration-test binary, peer tests included.
cargo test --locked --lib --bins --test it -- --include-ignored
# The criterion benchmark runs once in test mode, so it cannot rot.
cargo test --locked --benches
