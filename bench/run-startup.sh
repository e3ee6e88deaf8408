#!/usr/bin/env bash
# Issue 17: a node's start-up, default build against another build (a ReadyToRun publish), alternating:
#   BENCH_NODE_DLL_B=<publish dir>/BgFetchCluster.Node.dll bash bench/run-startup.sh
# For each start (fresh data directory, SQLite): wall time from spawn to /ready answering, the node's CPU
# (utime + stime) at that moment, and VmRSS 5 s later. BENCH_RUNS starts per build (default 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_build
work="$(mktemp -d "${BENCH_TMP:-/var/tmp}/bgfetch-startup.XXXXXX")"
node_pid=""
trap 'stop_pids "${node_pid}"; rm -rf "${work}"' EXIT
declare -A dlls=([default]="${node_dll}")
[[ -n "${BENCH_NODE_DLL_B:-}" ]] && dlls[b]="${BENCH_NODE_DLL_B}"
printf 'build\trun\tready_s\tcpu_s\trss_mib\tload1\n' > "${work}/startup.tsv"
for ((r = 1; r <= ${BENCH_RUNS:-5}; r++)); do
  for build in "${!dlls[@]}"; do
    node_dll="${dlls[${build}]}"
    rm -rf "${work}/data"
    port="$(free_port)"
    t0="$(date +%s.%N)"
    bench_node_start "${work}/node.log" "${port}" "--BgFetch:Storage:DataDirectory=${work}/data"
    node_pid="${started_pid}"
    wait_ready "${node_pid}" "${port}" "${work}/node.log"
    t1="$(date +%s.%N)"
    cpu="$(ticks_to_s "$(cpu_ticks "${node_pid}")")"
    sleep 5
    rss="$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/${node_pid}/status")"
    stop_pids "${node_pid}"; node_pid=""
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${build}" "${r}" "$(python3 -c "print(f'{${t1} - ${t0}:.2f}')")" "${cpu}" "${rss}" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "${work}/startup.tsv" >&2
  done
done
echo "Machine: $(machine_line); load average at the end $(load_now)"
python3 - "${work}/startup.tsv" <<'PY'
import statistics, sys
from collections import defaultdict
rows = defaultdict(list)
for i, l in enumerate(open(sys.argv[1])):
    if i:
        b, r, ready, cpu, rss, load = l.split()
        rows[b].append((float(ready), float(cpu), float(rss), float(load)))
print()
print("| build | spawn to /ready (median, min - max) | CPU at /ready (median) | RSS 5 s later | load 1 min | starts |")
print("|---|--:|--:|--:|--:|--:|")
for b, v in rows.items():
    m = lambda k: statistics.median(x[k] for x in v)
    print(f"| {b} | {m(0):.2f} s ({min(x[0] for x in v):.2f} - {max(x[0] for x in v):.2f}) | {m(1):.2f} s | {m(2):.0f} MiB | {min(x[3] for x in v):.1f} - {max(x[3] for x in v):.1f} | {len(v)} |")
PY
