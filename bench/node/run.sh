#!/usr/bin/env bash
# Issue 3's node targets, measured on this machine: peak RSS of one embedded node downloading 1 GiB,
# and end-to-end registrations per second for 10,000 one-request registrations.
# The origin is python3 -m http.server on loopback; the client is bench/node/registrations.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
dotnet build src/Node -c Release -v q -nologo >/dev/null
mkdir -p "$work/origin"
head -c 1073741824 /dev/urandom > "$work/origin/gig.bin"
head -c 1024 /dev/urandom > "$work/origin/k1.bin"
python3 -m http.server 18765 --bind 127.0.0.1 --directory "$work/origin" >/dev/null 2>&1 &
origin="http://127.0.0.1:18765/"

start_node() {
  ASPNETCORE_ENVIRONMENT=Development dotnet src/Node/bin/Release/net10.0/BgFetchCluster.Node.dll \
    --urls=http://127.0.0.1:18091 "--BgFetch:Storage:DataDirectory=$1" >"$work/node.log" 2>&1 &
  node_pid=$!
  until curl -sf http://127.0.0.1:18091/ready >/dev/null; do sleep 0.2; done
}

start_node "$work/data-gig"
t0=$(date +%s.%N)
curl -sf -X POST http://127.0.0.1:18091/v1/registrations -H 'Content-Type: application/json' \
  -d "{\"id\":\"gig\",\"requests\":[\"${origin}gig.bin\"]}" >/dev/null
until curl -sf http://127.0.0.1:18091/v1/registrations/gig | grep -q '"result":"success"'; do sleep 0.2; done
t1=$(date +%s.%N)
echo "1 GiB download: $(echo "$t1 - $t0" | bc) s, node peak RSS $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$node_pid/status)"
kill "$node_pid"; wait "$node_pid" 2>/dev/null || true

start_node "$work/data-w4"
python3 bench/node/registrations.py 18091 "$origin"
echo "node peak RSS $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$node_pid/status)"
