#!/usr/bin/env bash
# The real peers the integration tests talk to, on 127.0.0.1:
#   - kube-apiserver 1.20.2 (built once from Debian's `kubernetes` source
#     package, cached outside the clone) with etcd from Debian;
#   - moto server (PyPI) for CloudWatch, EKS, Auto Scaling and EC2;
#   - Prometheus from Debian with backfilled history.
#
#   scripts/peers.sh install   # packages, moto venv, kube-apiserver build (cached)
#   source scripts/peers.sh; peers_start DIR   # start all, export NODECAST_TEST_* vars
#
# Cache: $NODECAST_PEER_CACHE (default ~/.cache/nodecast-peers).
set -euo pipefail

PEER_CACHE="${NODECAST_PEER_CACHE:-$HOME/.cache/nodecast-peers}"
KUBE_VERSION=1.20.2
MOTO_VERSION=5.2.5

_sudo() {
  if [ "$(id -u)" -ne 0 ]; then sudo "$@"; else "$@"; fi
}

peers_install() {
  mkdir -p "$PEER_CACHE"
  local need=()
  command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
  command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  python3 -c 'import venv' 2>/dev/null || need+=(python3-venv)
  if [ ! -x "$PEER_CACHE/kube-apiserver-$KUBE_VERSION" ]; then
    command -v go >/dev/null 2>&1 || need+=(golang-go)
    command -v make >/dev/null 2>&1 || need+=(make)
    command -v rsync >/dev/null 2>&1 || need+=(rsync)
  fi
  if ((${#need[@]})); then
    echo "peers.sh: installing ${need[*]} from Debian"
    _sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive _sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
  if [ ! -x "$PEER_CACHE/moto/bin/moto_server" ]; then
    echo "peers.sh: installing moto server $MOTO_VERSION"
    python3 -m venv "$PEER_CACHE/moto"
    "$PEER_CACHE/moto/bin/pip" install -q "moto[server]==$MOTO_VERSION"
  fi
  if [ ! -x "$PEER_CACHE/kube-apiserver-$KUBE_VERSION" ]; then
    _build_apiserver
  fi
}

_build_apiserver() {
  echo "peers.sh: building kube-apiserver $KUBE_VERSION from Debian's source package (~7 min, once)"
  local src=/etc/apt/sources.list.d/nodecast-deb-src.sources
  if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
    _sudo tee "$src" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    _sudo apt-get update -qq
  fi
  local work
  work="$(mktemp -d)"
  (
    cd "$work"
    apt-get source --download-only kubernetes >/dev/null
    tar xzf kubernetes_*.orig.tar.gz
    cd kubernetes-$KUBE_VERSION
    mkdir -p .go/src/k8s.io
    ln -sfn ../../.. .go/src/k8s.io/kubernetes
    env GOPATH="$PWD/.go" CGO_ENABLED=0 HOME="$work" GOPROXY=off GOFLAGS= \
      make WHAT=cmd/kube-apiserver >"$work/build.log" 2>&1 || {
      tail -30 "$work/build.log" >&2
      exit 1
    }
    cp _output/bin/kube-apiserver "$PEER_CACHE/kube-apiserver-$KUBE_VERSION.tmp"
  )
  mv "$PEER_CACHE/kube-apiserver-$KUBE_VERSION.tmp" "$PEER_CACHE/kube-apiserver-$KUBE_VERSION"
  rm -rf "$work"
}

_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

_wait_for() {
  # _wait_for NAME SECONDS CMD...
  local name=$1 secs=$2
  shift 2
  local i
  for ((i = 0; i < secs * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "peers.sh: $name did not become ready in ${secs}s" >&2
  return 1
}

PEER_PIDS=()

peers_stop() {
  local p
  for p in "${PEER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PEER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PEER_PIDS=()
}

# Starts etcd and kube-apiserver; writes DIR/kubeconfig. The test for restarts
# uses NODECAST_TEST_APISERVER_CMD to start the apiserver again itself.
start_kube() {
  local dir=$1
  mkdir -p "$dir/pki" "$dir/etcd"
  local etcd_port peer_port api_port
  etcd_port=$(_free_port)
  peer_port=$(_free_port)
  api_port=$(_free_port)
  etcd --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "default=http://127.0.0.1:$peer_port" >"$dir/etcd.log" 2>&1 &
  PEER_PIDS+=($!)
  _wait_for etcd 20 curl -sf "http://127.0.0.1:$etcd_port/health"

  (
    cd "$dir/pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=nodecast-test-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out server.crt -days 3650 -extfile san.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
  local token=nodecast-test-token
  echo "$token,admin,admin-uid,\"system:masters\"" >"$dir/pki/tokens.csv"
  local cmd=("$PEER_CACHE/kube-apiserver-$KUBE_VERSION"
    --etcd-servers "http://127.0.0.1:$etcd_port"
    --bind-address 127.0.0.1 --secure-port "$api_port"
    --tls-cert-file "$dir/pki/server.crt" --tls-private-key-file "$dir/pki/server.key"
    --client-ca-file "$dir/pki/ca.crt"
    --token-auth-file "$dir/pki/tokens.csv"
    --authorization-mode RBAC --endpoint-reconciler-type none
    --service-account-key-file "$dir/pki/sa.pub"
    --service-account-signing-key-file "$dir/pki/sa.key"
    --service-account-issuer https://kubernetes.default.svc
    --disable-admission-plugins ServiceAccount
    --service-cluster-ip-range 10.96.0.0/16)
  printf '%q ' "${cmd[@]}" >"$dir/apiserver.cmd"
  "${cmd[@]}" >"$dir/apiserver.log" 2>&1 &
  PEER_PIDS+=($!)
  echo $! >"$dir/apiserver.pid"
  _wait_for kube-apiserver 60 curl -sfk -H "Authorization: Bearer $token" "https://127.0.0.1:$api_port/readyz"
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(base64 -w0 "$dir/pki/ca.crt")
users:
- name: admin
  user:
    token: $token
contexts:
- name: test-admin
  context:
    cluster: test
    user: admin
current-context: test-admin
EOF
  export NODECAST_TEST_KUBECONFIG="$dir/kubeconfig"
  export NODECAST_TEST_APISERVER_CMD="$dir/apiserver.cmd"
  export NODECAST_TEST_APISERVER_PID="$dir/apiserver.pid"
  export NODECAST_TEST_APISERVER_URL="https://127.0.0.1:$api_port"
}

start_moto() {
  local dir=$1 port
  port=$(_free_port)
  "$PEER_CACHE/moto/bin/moto_server" -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 &
  PEER_PIDS+=($!)
  _wait_for moto 30 curl -sf "http://127.0.0.1:$port/moto-api/"
  export NODECAST_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
  # The moto venv's Python has botocore: the AMP SigV4 test's verifier runs on it.
  export NODECAST_TEST_BOTO_PYTHON="$PEER_CACHE/moto/bin/python"
}

# Prometheus with the test history backfilled from tests/peers/prometheus.om
# (written by the tests' generator, see tests/it/prometheus.rs).
start_prometheus() {
  local dir=$1 port
  port=$(_free_port)
  mkdir -p "$dir/prom"
  python3 "$(dirname "${BASH_SOURCE[0]}")/prom_history.py" >"$dir/prom/history.om"
  promtool tsdb create-blocks-from openmetrics "$dir/prom/history.om" "$dir/prom/data" >"$dir/prom/backfill.log" 2>&1
  cat >"$dir/prom/prometheus.yml" <<'EOF'
global:
  scrape_interval: 1h
EOF
  prometheus --config.file="$dir/prom/prometheus.yml" --storage.tsdb.path="$dir/prom/data" \
    --storage.tsdb.retention.time=10y --web.listen-address="127.0.0.1:$port" >"$dir/prom/prometheus.log" 2>&1 &
  PEER_PIDS+=($!)
  _wait_for prometheus 30 curl -sf "http://127.0.0.1:$port/-/ready"
  export NODECAST_TEST_PROMETHEUS="http://127.0.0.1:$port"
}

peers_start() {
  local dir=$1
  mkdir -p "$dir"
  start_kube "$dir"
  start_moto "$dir"
  if [ -f "$(dirname "${BASH_SOURCE[0]}")/prom_history.py" ]; then
    start_prometheus "$dir"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    install) peers_install ;;
    *)
      echo "usage: scripts/peers.sh install" >&2
      exit 2
      ;;
  esac
fi
