#!/usr/bin/env bash
# Issue 5: BgFetchCluster against the peers a user would pick instead, aria2 and curl, on the same
# nginx origin (loopback), in the same run. For each workload the tools alternate run by run
# (node aria2 curl node aria2 curl ...); the table gives medians.
#
#   bash bench/run.sh                 full: W1 1,000 x 256 KiB, W2 20 x 50 MiB, W3 1 x 1 GiB, W4 10,000 x 1 KiB; 5 runs
#   BENCH_QUICK=1 bash bench/run.sh   the same workloads, smaller, 3 runs (a few minutes; a smoke test)
#
# Other knobs: BENCH_RUNS (runs per tool), BENCH_ONLY="W1 W3" (workloads), BENCH_TOOLS="node curl",
# BENCH_NODE_DLL (another build of the node, for A/B experiments), BENCH_NODE_ENV="NAME=value ..." (environment
# of the node process only, for runtime knobs), BENCH_PERF=1 (perf record of the node), BENCH_IDLE_SECONDS.
# Output: the tables on stdout and in bench/results/run-<UTC time>.md (also latest-run.md), raw
# figures in bench/results/run-<UTC time>.tsv, the chart in bench/throughput.png (quick or partial
# runs: bench/results/throughput-partial.png).
#
# BgFetchCluster: one embedded node (SQLite journal, bodies on disk) started from the Release build with a
# fresh data directory for every run; bench/LoadGen creates the registrations through the HTTP API and
# waits for settlement (SSE terminal event for W1-W3; getIds() empty for W4). Wall time runs from the
# first POST to settlement and excludes the node's start-up. aria2: aria2c -i <input> -j 16 -x 1.
# curl: curl --parallel --parallel-max 16 with one url/output pair per file. Peak RSS: VmHWM of the
# node process; /usr/bin/time's maximum resident set size for aria2c and curl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"

quick="${BENCH_QUICK:-0}"
if [[ "${quick}" == 1 ]]; then runs="${BENCH_RUNS:-3}"; else runs="${BENCH_RUNS:-5}"; fi
workloads="${BENCH_ONLY:-W1 W2 W3 W4}"
tools="${BENCH_TOOLS:-node aria2 curl}"

# --- what the bench needs, from Debian packages when absent -------------------------------------
missing=()
command -v aria2c >/dev/null || missing+=(aria2)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
[[ -x /usr/bin/time ]] || missing+=(time)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
  echo "run.sh: installing ${missing[*]}" >&2
  sudo_cmd=(); [[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

echo "run.sh: building Release" >&2
dotnet build src/Node/BgFetchCluster.Node.csproj -c Release -nologo -v q >/dev/null
dotnet build bench/LoadGen/BgFetchCluster.LoadGen.csproj -c Release -nologo -v q >/dev/null
node_dll="${BENCH_NODE_DLL:-${repo}/src/Node/bin/Release/net10.0/BgFetchCluster.Node.dll}"
loadgen_dll="${repo}/bench/LoadGen/bin/Release/net10.0/BgFetchCluster.LoadGen.dll"

work="$(mktemp -d "${BENCH_TMP:-/var/tmp}/bgfetch-bench.XXXXXX")"
nginx_pid=""
node_pid=""
cleanup() {
  [[ -n "${node_pid}" ]] && kill "${node_pid}" 2>/dev/null || true
  [[ -n "${nginx_pid}" ]] && kill "${nginx_pid}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "${work}"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- the files -------------------------------------------------------------------------------
# name count bytes (quick mode keeps every workload's shape, smaller)
if [[ "${quick}" == 1 ]]; then
  spec="W1 200 262144
W2 4 52428800
W3 1 268435456
W4 1000 1024"
else
  spec="W1 1000 262144
W2 20 52428800
W3 1 1073741824
W4 10000 1024"
fi

echo "run.sh: generating the files in ${work}/origin" >&2
origin_port="$(free_port)"
origin="http://127.0.0.1:${origin_port}"
python3 - "${work}" "${origin}" "${workloads}" <<PY
import os, sys
work, origin, selected = sys.argv[1], sys.argv[2], sys.argv[3].split()
spec = """${spec}"""
for line in spec.splitlines():
    name, count, size = line.split(); count = int(count); size = int(size)
    if name not in selected:
        continue  # BENCH_ONLY: only the files of the workloads that run
    d = os.path.join(work, "origin", name); os.makedirs(d, exist_ok=True)
    chunk = os.urandom(min(size, 8 << 20))
    with open(os.path.join(work, name + ".urls"), "w") as urls, open(os.path.join(work, name + ".curl"), "w") as cfg:
        for i in range(count):
            fname = "f%05d.bin" % i
            with open(os.path.join(d, fname), "wb") as f:
                left = size
                # every file different: a fresh random prefix, then the shared chunk
                f.write(os.urandom(min(16, left))); left -= min(16, left)
                while left > 0:
                    n = min(left, len(chunk)); f.write(chunk[:n]); left -= n
            url = "%s/%s/%s" % (origin, name, fname)
            urls.write(url + "\n")
            cfg.write('url = "%s"\noutput = "%s"\n' % (url, fname))
    with open(os.path.join(work, name + ".bytes"), "w") as b:
        b.write(str(count * size))
    with open(os.path.join(work, "workloads.tsv"), "a") as t:
        t.write("%s\t%d\t%d\n" % (name, count, size))
PY

# --- the origin ------------------------------------------------------------------------------
mkdir -p "${work}/nginx"
cat > "${work}/nginx/nginx.conf" <<CONF
user root;
worker_processes 2;
daemon off;
pid ${work}/nginx/nginx.pid;
error_log ${work}/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  client_body_temp_path ${work}/nginx/body;
  proxy_temp_path ${work}/nginx/proxy;
  fastcgi_temp_path ${work}/nginx/fastcgi;
  uwsgi_temp_path ${work}/nginx/uwsgi;
  scgi_temp_path ${work}/nginx/scgi;
  server {
    listen 127.0.0.1:${origin_port};
    root ${work}/origin;
  }
}
CONF
"${nginx_bin}" -c "${work}/nginx/nginx.conf" -e "${work}/nginx/error.log" &
nginx_pid=$!
first_workload="${workloads%% *}"
until curl -sf -o /dev/null "${origin}/${first_workload}/f00000.bin"; do sleep 0.1; done

# --- one run of one tool: appends "workload tool run wall_s peak_rss_kib bytes" to the results ---------
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p bench/results
results="bench/results/run-${stamp}.tsv"
printf 'workload\ttool\trun\twall_s\trss_kib\tbytes\n' > "${results}"

run_node() {
  local w="$1" data="${work}/data" port mode out
  rm -rf "${data}"
  port="$(free_port)"
  # BENCH_NODE_ENV="NAME=value ...": environment for the node process only (runtime knobs for A/B runs).
  # shellcheck disable=SC2086
  env ASPNETCORE_ENVIRONMENT=Development ${BENCH_NODE_ENV:-} dotnet "${node_dll}" --urls="http://127.0.0.1:${port}" \
    "--BgFetch:Storage:DataDirectory=${data}" "--Logging:LogLevel:Default=Warning" \
    >"${work}/node.log" 2>&1 &
  node_pid=$!
  wait_ready "${node_pid}" "${port}"
  local ticks0
  ticks0="$(awk '{ print $14 + $15 }' "/proc/${node_pid}/stat")"
  mode=single; [[ "${w}" == W4 ]] && mode=many
  # BENCH_PERF=1: sample the node with perf while the workload runs (DOTNET_PerfMapEnabled=1 names JIT frames).
  local perf_pid=""
  if [[ "${BENCH_PERF:-0}" == 1 ]]; then
    perf record -F 1999 -g -p "${node_pid}" -o "bench/results/perf-${stamp}-${w}.data" 2>/dev/null &
    perf_pid=$!
  fi
  if ! out="$(dotnet "${loadgen_dll}" "${mode}" "http://127.0.0.1:${port}" "${work}/${w}.urls" 16)"; then
    echo "run.sh: node ${w} failed: ${out}" >&2; tail -20 "${work}/node.log" >&2
    kill "${node_pid}" 2>/dev/null || true; exit 1
  fi
  [[ -n "${perf_pid}" ]] && { kill -INT "${perf_pid}"; wait "${perf_pid}" || true; }
  local rss
  rss="$(awk '/VmHWM/ { print $2 }' "/proc/${node_pid}/status")"
  # CPU seconds (user + system) the node used during the workload (after start-up): printed for profiling, not in the table.
  echo "run.sh: node ${w} CPU $(awk -v hz="$(getconf CLK_TCK)" -v t0="${ticks0}" '{ printf "%.2f s during the workload (%.2f s at start-up)", ($14 + $15 - t0) / hz, t0 / hz }' "/proc/${node_pid}/stat")" >&2
  kill "${node_pid}"; wait "${node_pid}" 2>/dev/null || true; node_pid=""
  cp "${work}/node.log" "bench/results/node-${stamp}-${w}.log"
  rm -rf "${data}"
  # RESULT wall=<s> bytes=<n> registrations=<n>
  local wall bytes
  wall="$(sed -n 's/.*wall=\([0-9.]*\).*/\1/p' <<<"${out}")"
  bytes="$(sed -n 's/.*bytes=\([0-9]*\).*/\1/p' <<<"${out}")"
  echo "${wall} ${rss} ${bytes}"
}

run_peer() {
  local tool="$1" w="$2" dir="${work}/out" t0 t1 rss bytes
  rm -rf "${dir}"; mkdir -p "${dir}"
  t0="$(date +%s.%N)"
  if [[ "${tool}" == aria2 ]]; then
    /usr/bin/time -f '%M' -o "${work}/time.txt" aria2c -i "${work}/${w}.urls" -j 16 -x 1 -d "${dir}" \
      --allow-overwrite=true --auto-file-renaming=false --console-log-level=error --summary-interval=0 -q
  else
    /usr/bin/time -f '%M' -o "${work}/time.txt" curl --parallel --parallel-max 16 -K "${work}/${w}.curl" \
      --output-dir "${dir}" -sS --no-progress-meter --fail
  fi
  t1="$(date +%s.%N)"
  rss="$(tail -1 "${work}/time.txt")"
  bytes="$(du -sb --apparent-size "${dir}" | awk '{ print $1 }')"
  bytes=$((bytes - $(stat -c %s "${dir}")))
  rm -rf "${dir}"
  echo "$(python3 -c "print(f'{${t1} - ${t0}:.3f}')") ${rss} ${bytes}"
}

# Waits for a node's /ready; stops the script with the node's log if the process died first.
wait_ready() {
  local pid="$1" port="$2"
  until curl -sf -o /dev/null "http://127.0.0.1:${port}/ready"; do
    if ! kill -0 "${pid}" 2>/dev/null; then
      echo "run.sh: the node exited before /ready answered:" >&2; tail -30 "${work}/node.log" >&2
      exit 1
    fi
    sleep 0.1
  done
}

# --- the node's idle RSS: a fresh node (fresh data directory), BENCH_IDLE_SECONDS after /ready, doing nothing ----------
idle_rss() {
  local data="${work}/data" port pid rss
  rm -rf "${data}"
  port="$(free_port)"
  ASPNETCORE_ENVIRONMENT=Development dotnet "${node_dll}" --urls="http://127.0.0.1:${port}" \
    "--BgFetch:Storage:DataDirectory=${data}" "--Logging:LogLevel:Default=Warning" >"${work}/node.log" 2>&1 &
  pid=$!
  node_pid="${pid}"
  wait_ready "${pid}" "${port}"
  sleep "${BENCH_IDLE_SECONDS:-10}"
  rss="$(awk '/VmRSS/ { print $2 }' "/proc/${pid}/status")"
  kill "${pid}"; wait "${pid}" 2>/dev/null || true; node_pid=""
  rm -rf "${data}"
  echo "${rss}"
}
idle_line=""
if [[ " ${tools} " == *" node "* ]]; then
  idle=()
  for ((r = 1; r <= (quick == 1 ? 1 : 3); r++)); do
    idle+=("$(idle_rss)")
    echo "run.sh: node idle RSS run ${r}: $((idle[-1] / 1024)) MiB" >&2
  done
  idle_line="$(printf '%s\n' "${idle[@]}" | sort -n | awk -v s="${BENCH_IDLE_SECONDS:-10}" '{ v[NR] = $1 } END { printf "Node idle RSS (VmRSS %d s after /ready, fresh data directory, median of %d fresh nodes): %.1f MiB (%.1f - %.1f)", s, NR, v[int((NR + 1) / 2)] / 1024, v[1] / 1024, v[NR] / 1024 }')"
  echo "run.sh: ${idle_line}" >&2
fi

for w in ${workloads}; do
  expected="$(cat "${work}/${w}.bytes")"
  for ((r = 1; r <= runs; r++)); do
    for tool in ${tools}; do
      if [[ "${tool}" == node ]]; then line="$(run_node "${w}")"; else line="$(run_peer "${tool}" "${w}")"; fi
      read -r wall rss bytes <<<"${line}"
      if [[ "${bytes}" != "${expected}" ]]; then
        echo "run.sh: ${tool} ${w} run ${r}: ${bytes} bytes, expected ${expected}" >&2
        exit 1
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${w}" "${tool}" "${r}" "${wall}" "${rss}" "${bytes}" >> "${results}"
      echo "run.sh: ${w} ${tool} run ${r}: ${wall} s, peak RSS $((rss / 1024)) MiB" >&2
    done
  done
done

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release; echo "${PRETTY_NAME}"), work dir on $(df -P "${work}" | awk 'NR == 2 { print $1 }') ($(df -PT "${work}" | awk 'NR == 2 { print $2 }')), nginx $("${nginx_bin}" -v 2>&1 | sed 's|.*/||'), aria2 $(aria2c --version | head -1 | awk '{ print $3 }'), curl $(curl --version | head -1 | awk '{ print $2 }'), .NET $(dotnet --version)"
mode="full"; [[ "${quick}" == 1 ]] && mode="quick (BENCH_QUICK=1)"
python3 bench/report.py "${results}" "${work}/workloads.tsv" "${mode}, ${runs} runs per tool, ${stamp}" "${machine}" "${work}/chart.dat" \
  | tee "bench/results/run-${stamp}.md"
if [[ -n "${idle_line}" ]]; then
  printf '\n%s\n' "${idle_line}" | tee -a "bench/results/run-${stamp}.md"
fi
cp "bench/results/run-${stamp}.md" bench/results/latest-run.md
# The committed chart (bench/README.md) comes from full runs of everything; a quick or partial run draws
# into bench/results.
chart="bench/throughput.png"
if [[ "${quick}" == 1 || "${workloads}" != "W1 W2 W3 W4" || "${tools}" != "node aria2 curl" ]]; then
  chart="bench/results/throughput-partial.png"
fi
gnuplot -e "datafile='${work}/chart.dat'; outfile='${chart}'; subtitle='${mode}, ${runs} runs per tool, ${stamp}'" bench/throughput.gp
echo "run.sh: wrote bench/results/run-${stamp}.md and ${chart}" >&2
