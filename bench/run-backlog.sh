#!/usr/bin/env bash
# Issue 17 item 4, W5: a backlog. BENCH_COUNT registrations (default 100,000; BENCH_QUICK=1: 2,000) of one 1 KiB request
# each are created against an origin that accepts every request and answers none until released (LoadGen hold-origin),
# so all but BgFetch:Fetch:MaxConcurrentRecords (64) per node stay pending. One node on SQLite, or with
# BENCH_NODES=3 a cluster of three on PostgreSQL (BGFETCH_TEST_POSTGRES; its own database, dropped at the end).
#
# Reports: time to create them (16 clients, round-robin over the nodes, --scopes 4: the default per-scope limit is
# 100,000 active), node RSS (VmRSS summed over the nodes) before and after, and per pending registration; with
# three nodes, kill -9 of node 3 and LoadGen probe (time until 300 sampled registrations answer through the
# survivors again, /ready and API latency meanwhile; and the time until the registrations that were pending on node 3
# are recovered again on the survivors: their bgfetch_failover_restarts counters, see ClusterModes.ProbeAsync; plus
# the survivors' CPU in that window). Then the origin is released and the backlog drains (time to settle everything).
# Since issue 17's cut 2 the registrations are not remembered by their shards: the scope indexes wake them, oldest
# first, at BgFetch:Cluster:WakesPerSecond per node (200), which BENCH_NODE_ENV can change for a run, e.g.
#   BENCH_NODE_ENV="BgFetch__Cluster__WakesPerSecond=500"
# (Akka's entity-recovery-strategy now applies to the scope indexes only; the figures of "all" against "constant" in
# bench/README.md were measured before cut 2, when registrations were remembered entities.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_install python3:python3 psql:postgresql-client
bench_build

quick="${BENCH_QUICK:-0}"
count="${BENCH_COUNT:-$([[ "${quick}" == 1 ]] && echo 2000 || echo 100000)}"
nodes="${BENCH_NODES:-1}"
scopes=4
work="$(mktemp -d "${BENCH_TMP:-/var/tmp}/bgfetch-backlog.XXXXXX")"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
origin_pid="" node_pids=() db=""
export PGHOST PGPORT PGUSER PGPASSWORD
cleanup() {
  stop_pids_within 30 "${node_pids[@]}" "${origin_pid}"
  [[ -n "${db}" ]] && psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" 2>/dev/null || true
  rm -rf "${work}"
}
trap cleanup EXIT

origin_port="$(free_port)"
dotnet "${loadgen_dll}" hold-origin "${origin_port}" 1024 >"${work}/origin.log" 2>&1 &
origin_pid=$!
until curl -sf -o /dev/null "http://127.0.0.1:${origin_port}/__stats"; do sleep 0.1; done
python3 -c "
import sys
with open('${work}/w5.urls', 'w') as f:
    for i in range(${count}):
        f.write('http://127.0.0.1:${origin_port}/h/%d\n' % i)
"

ports=() remote=()
for ((n = 1; n <= nodes; n++)); do ports+=("$(free_port)"); remote+=("$(free_port)"); done
# The nodes log their idle trims (BgFetch:Memory), which the script prints after the RSS.
trim_log=("--Logging:LogLevel:BgFetchCluster.Node.Memory=Information")
if ((nodes == 1)); then
  bench_node_start "${work}/node-1.log" "${ports[0]}" "--BgFetch:Storage:DataDirectory=${work}/data" "${trim_log[@]}"
  node_pids+=("${started_pid}")
else
  base_cs="${BGFETCH_BENCH_POSTGRES:-${BGFETCH_TEST_POSTGRES:?set BGFETCH_TEST_POSTGRES}}"
  pg_kv() { tr ';' '\n' <<<"${base_cs}" | awk -F= -v k="$1" 'tolower($1) == tolower(k) { print $2 }'; }
  PGHOST="$(pg_kv Host)"; PGPORT="$(pg_kv Port)"; PGPORT="${PGPORT:-5432}"; PGUSER="$(pg_kv Username)"; PGPASSWORD="$(pg_kv Password)"
  db="bgfetch_bench_w5_$(tr 'TZ' 'tz' <<<"${stamp}")"
  psql -X -q -d postgres -c "CREATE DATABASE ${db}"
  cs="Host=${PGHOST};Port=${PGPORT};Username=${PGUSER};Password=${PGPASSWORD};Database=${db};Maximum Pool Size=6;Connection Idle Lifetime=60"
  for ((n = 1; n <= nodes; n++)); do
    bench_node_start "${work}/node-${n}.log" "${ports[n - 1]}" "${trim_log[@]}" --BgFetch:Storage:Provider=PostgreSql "--BgFetch:Storage:ConnectionString=${cs}" \
      "--BgFetch:Cluster:Port=${remote[n - 1]}" "--BgFetch:Cluster:SeedNodes:0=akka.tcp://bgfetch@127.0.0.1:${remote[0]}" \
      "--BgFetch:Cluster:SeedNodes:1=akka.tcp://bgfetch@127.0.0.1:${remote[1]}"
    node_pids+=("${started_pid}")
    if ((n == 1)); then wait_ready "${node_pids[0]}" "${ports[0]}" "${work}/node-1.log"; fi
  done
fi
for ((n = 0; n < nodes; n++)); do wait_ready "${node_pids[n]}" "${ports[n]}" "${work}/node-$((n + 1)).log"; done
urls="$(for p in "${ports[@]}"; do echo -n "http://127.0.0.1:${p},"; done)"; urls="${urls%,}"
rss_sum() { local s=0 p; for p in "$@"; do s=$((s + $(awk '/VmRSS/ { print $2 }' "/proc/${p}/status"))); done; echo "${s}"; }

sleep 5
rss0="$(rss_sum "${node_pids[@]}")"
load0="$(load_now)"
echo "run-backlog.sh: ${nodes} node(s) ready, RSS $((rss0 / 1024)) MiB; creating ${count} (load ${load0})" >&2
# The RSS is read this long after the last creation (BENCH_PENDING_WAIT, default 10 s). Pending registrations park
# (passivate) after BgFetch:Fetch:ParkPendingAfter (30 s by default, i.e. 30-60 s): to see the backlog parked, e.g.
#   BENCH_NODE_ENV="BgFetch__Fetch__ParkPendingAfter=00:00:05" BENCH_PENDING_WAIT=20
# and BgFetch__Fetch__ParkPendingAfter=00:00:00 for the same build without parking.
# BENCH_HALVES=1: create the backlog in two halves and read the RSS after each (each after BENCH_PENDING_WAIT), so
# the second half's growth per registration is the marginal cost of a pending registration, without what a node
# grows by once whatever the backlog (JIT'd code, pools, the first batches' buffers), which three nodes pay three times.
halves="${BENCH_HALVES:-0}"
rss_per_node() { local p out=""; for p in "$@"; do out+="$(( $(awk '/VmRSS/ { print $2 }' "/proc/${p}/status") / 1024 )) "; done; echo "${out% }"; }
create_range() {
  local out
  out="$(dotnet "${loadgen_dll}" many "${urls}" "${work}/w5.urls" 16 --scopes "${scopes}" --prefix b --no-wait --no-check --from "$1" --to "$2")"
  sed -n 's/.*wall=\([0-9.]*\).*/\1/p' <<<"${out}"
}
ticks0="$(cpu_ticks "${node_pids[@]}")"
rss_half="" half_line=""
if [[ "${halves}" == 1 ]]; then
  half=$((count / 2))
  create_half_s="$(create_range 0 "${half}")"
  ticks_half="$(cpu_ticks "${node_pids[@]}")"
  sleep "${BENCH_PENDING_WAIT:-10}"
  rss_half="$(rss_sum "${node_pids[@]}")"
  echo "run-backlog.sh: first ${half} created in ${create_half_s} s; RSS $((rss_half / 1024)) MiB (per node: $(rss_per_node "${node_pids[@]}") MiB)" >&2
  grep -h "gave memory back" "${work}"/node-*.log | sed 's/^ */run-backlog.sh: /' >&2 || true
  # the creation's CPU leaves out the wait between the halves (parking, the idle trim)
  ticks0=$((ticks0 + $(cpu_ticks "${node_pids[@]}") - ticks_half))
  create_second_s="$(create_range "${half}" "${count}")"
  create_s="$(python3 -c "print(f'{${create_half_s} + ${create_second_s}:.3f}')")"
else
  create_s="$(create_range 0 "${count}")"
fi
ticks1="$(cpu_ticks "${node_pids[@]}")"
sleep "${BENCH_PENDING_WAIT:-10}"
rss1="$(rss_sum "${node_pids[@]}")"
echo "run-backlog.sh: RSS per node: $(rss_per_node "${node_pids[@]}") MiB" >&2
if [[ -n "${rss_half}" ]]; then
  per_marginal="$(( (rss1 - rss_half) * 1024 / (count - half) ))"
  half_line="| RSS after the first ${half} / marginal RSS per pending registration of the second $((count - half)) | $((rss_half / 1024)) MiB / **$(python3 -c "print(f'{${per_marginal} / 1024:.2f}')") KiB** (${per_marginal} bytes) |"
fi
hwm="$(for p in "${node_pids[@]}"; do awk '/VmHWM/ { print $2 }' "/proc/${p}/status"; done | paste -sd+ | bc)"
stats="$(curl -sf "http://127.0.0.1:${origin_port}/__stats")"
per="$(( (rss1 - rss0) * 1024 / count ))"
echo "run-backlog.sh: created in ${create_s} s; RSS $((rss1 / 1024)) MiB, ${per} bytes per pending registration; origin ${stats}" >&2
# The idle trim (BgFetch:Memory, docs/api.md): the node logs each time it gave memory back.
grep -h "gave memory back" "${work}"/node-*.log | sed 's/^ */run-backlog.sh: /' >&2 || true

# BENCH_GCDUMP=1 (one node): the managed heap by type while the backlog is pending (dotnet-gcdump, installed with
# `dotnet tool install --tool-path /var/tmp/dntools dotnet-gcdump` when missing): where the bytes per pending go.
gcdump_report=""
if [[ "${BENCH_GCDUMP:-0}" == 1 ]]; then
  gcdump="${BENCH_GCDUMP_TOOL:-/var/tmp/dntools/dotnet-gcdump}"
  [[ -x "${gcdump}" ]] || dotnet tool install --tool-path "$(dirname "${gcdump}")" dotnet-gcdump >/dev/null
  "${gcdump}" collect -p "${node_pids[0]}" -o "${work}/backlog.gcdump" >/dev/null
  mkdir -p bench/results
  "${gcdump}" report "${work}/backlog.gcdump" > "bench/results/backlog-${stamp}-heap.txt"
  # by type (the report splits large objects into size buckets), the 30 largest, with objects per pending registration
  gcdump_report="$(python3 - "bench/results/backlog-${stamp}-heap.txt" "${count}" <<'PY2'
import re, sys
from collections import defaultdict
size, count = defaultdict(int), defaultdict(int)
total = 0
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d,]+)\s+([\d,]+)\s+(.*?)\s*(\(Bytes > [^)]*\))?\s*(\[[^\]]*\])?\s*$", line)
    if not m:
        mt = re.match(r"\s*([\d,]+)\s+GC Heap bytes", line)
        if mt:
            total = int(mt.group(1).replace(",", ""))
        continue
    t = m.group(3)
    b, c = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
    # large objects come as (total bytes, count) per size bucket; the rest as (bytes of one object, count)
    size[t] += b if m.group(4) else b * c; count[t] += c
n = int(sys.argv[2])
print(f"GC heap {total / 2**20:.0f} MiB, {total / n:,.0f} bytes per pending registration (the heap of an idle node included)")
print()
print("| type | bytes per pending | objects per pending | total MiB |")
print("|---|--:|--:|--:|")
for t in sorted(size, key=size.get, reverse=True)[:30]:
    print(f"| `{t[:110]}` | {size[t] / n:,.0f} | {count[t] / n:.2f} | {size[t] / 2**20:.1f} |")
PY2
)"
  rss_after_dump="$(rss_sum "${node_pids[@]}")"
  echo "run-backlog.sh: heap by type (RSS after the dump $((rss_after_dump / 1024)) MiB):" >&2
  echo "${gcdump_report}" >&2
fi

probe_line=""
if ((nodes >= 3)); then
  echo "run-backlog.sh: kill -9 of node 3 (load $(load_now))" >&2
  probe_ticks0="$(cpu_ticks "${node_pids[0]}" "${node_pids[1]}")"
  probe_t0="$(date +%s.%N)"
  probe_line="$(dotnet "${loadgen_dll}" probe "${urls}" --pids "$(IFS=,; echo "${node_pids[*]}")" --kill 2 --count "${count}" --prefix b --scopes "${scopes}" --sample 300 --deadline-s "${BENCH_PROBE_DEADLINE:-900}" | grep RESULT || echo "RESULT probe failed")"
  # a survivor that exited (the Split Brain Resolver downed it while it was starved, seen with 100,000 pending) takes
  # its CPU ticks with it: then the figure is unknown
  alive=0; for p in "${node_pids[0]}" "${node_pids[1]}"; do kill -0 "${p}" 2>/dev/null && alive=$((alive + 1)); done
  if ((alive == 2)); then probe_cpu="$(ticks_to_s $(($(cpu_ticks "${node_pids[0]}" "${node_pids[1]}") - probe_ticks0)))"; else probe_cpu=unknown; fi
  probe_line+=" survivors_alive=${alive}/2 survivors_cpu_s=${probe_cpu} probe_wall_s=$(python3 -c "print(f'{$(date +%s.%N) - ${probe_t0}:.1f}')") load=$(cut -d' ' -f1 /proc/loadavg)"
  grep -h "SBR took decision" "${work}"/node-*.log | sed 's/^ */run-backlog.sh: /' >&2 || true
  wait "${node_pids[2]}" 2>/dev/null || true
  node_pids=("${node_pids[0]}" "${node_pids[1]}")
  # the drain's CPU is the survivors' from here (node 3's ticks went with it)
  ticks1="$(cpu_ticks "${node_pids[@]}")"
  urls="http://127.0.0.1:${ports[0]},http://127.0.0.1:${ports[1]}"
  echo "run-backlog.sh: ${probe_line}" >&2
fi

echo "run-backlog.sh: releasing the origin" >&2
t0="$(date +%s.%N)"
curl -sf -o /dev/null "http://127.0.0.1:${origin_port}/__release"
# BENCH_DRAIN_SECONDS: stop waiting after that long and report the rate (the drain was measured at ~25-90/s with a
# backlog of 20,000 while FetchScheduler's dispatch was O(waiting registrations) per finished record; ~2,000/s since).
drained_all=1
if [[ -n "${BENCH_DRAIN_SECONDS:-}" ]]; then
  timeout "${BENCH_DRAIN_SECONDS}" dotnet "${loadgen_dll}" wait "${urls}" --scopes "${scopes}" || drained_all=0
else
  dotnet "${loadgen_dll}" wait "${urls}" --scopes "${scopes}"
fi
drain_s="$(python3 -c "print(f'{$(date +%s.%N) - ${t0}:.2f}')")"
ticks2="$(cpu_ticks "${node_pids[@]}")"
answered="$(curl -sf "http://127.0.0.1:${origin_port}/__stats" | sed -n 's/.*answered=\([0-9]*\).*/\1/p')"

mkdir -p bench/results
{
  echo "W5 backlog, ${count} registrations x 1 KiB, ${nodes} node(s) $([[ ${nodes} == 1 ]] && echo '(SQLite)' || echo '(PostgreSQL)'), ${stamp}${BENCH_NODE_ENV:+, node environment: ${BENCH_NODE_ENV}}"
  echo
  echo "Machine: $(machine_line); load average before creating ${load0}, at the end $(load_now)"
  echo
  echo "| figure | value |"
  echo "|---|--:|"
  echo "| time to create ${count} (16 clients) | ${create_s} s ($(python3 -c "print(f'{${count} / ${create_s}:,.0f}')")/s) |"
  echo "| node CPU while creating | $(ticks_to_s $((ticks1 - ticks0))) s ($(python3 -c "print(f'{($((ticks1 - ticks0)) / ${clk_tck}) / ${count} * 1000:.2f}')") ms per registration) |"
  echo "| node RSS before / after (sum over nodes, VmRSS, ${BENCH_PENDING_WAIT:-10} s after the last creation) | $((rss0 / 1024)) / $((rss1 / 1024)) MiB (peak $((hwm / 1024)) MiB) |"
  echo "| RSS per pending registration | **$(python3 -c "print(f'{${per} / 1024:.2f}')") KiB** (${per} bytes) |"
  [[ -n "${half_line}" ]] && echo "${half_line}"
  echo "| origin while held | ${stats} |"
  [[ -n "${probe_line}" ]] && echo "| kill -9 of node 3: probe | ${probe_line#RESULT } |"
  if [[ "${drained_all}" == 1 ]]; then
    echo "| drain after release (all settled) | ${drain_s} s, node CPU $(ticks_to_s $((ticks2 - ticks1))) s |"
  else
    echo "| drain after release, stopped after ${drain_s} s | ${answered} of ${count} answered by the origin ($(python3 -c "print(f'{${answered} / ${drain_s}:,.1f}')")/s), node CPU $(ticks_to_s $((ticks2 - ticks1))) s |"
  fi
  if [[ -n "${gcdump_report}" ]]; then
    echo
    echo "Managed heap while the backlog was pending (dotnet-gcdump; full report in bench/results/backlog-${stamp}-heap.txt):"
    echo
    echo "${gcdump_report}"
  fi
} | tee "bench/results/backlog-${stamp}.md"
