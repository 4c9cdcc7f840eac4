#!/usr/bin/env bash
# nodecast's one test command: all set-up on a fresh Debian machine, then every test.
#   scripts/test.sh
# Installs what the tests need (tmux for the real-terminal tests; the real
# peers of scripts/peers.sh: kube-apiserver + etcd, moto server, Prometheus),
# starts the peers on 127.0.0.1, then runs the whole suite, ignored peer tests
# included: a missing peer fails. The first run builds kube-apiserver from
# Debian's source package (~10 min, cached in ~/.cache/nodecast-peers).
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

scripts/peers.sh install
# shellcheck source=peers.sh
source scripts/peers.sh
PEER_DIR="$(mktemp -d)"
trap 'peers_stop; rm -rf "$PEER_DIR"' EXIT
peers_start "$PEER_DIR"
# The AWS SDK reaches the emulator with test credentials, one region.
export AWS_ENDPOINT_URL="$NODECAST_TEST_AWS_ENDPOINT" AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset KUBECONFIG AWS_PROFILE

export TERM="${TERM:-xterm-256color}"
# The source tree has no import cycle between its files.
python3 scripts/import_cycles.py
# Library, binary and the one integration-test binary, peer tests included.
cargo test --locked --lib --bins --test it -- --include-ignored
# The criterion benchmark runs once in test mode, so it cannot rot.
cargo test --locked --benches
