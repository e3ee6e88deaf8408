# Sourced, not run: the pieces bench/run.sh and bench/run-cluster.sh share. The sourcing script sets `work` (its
# temporary directory) before calling anything here, and `repo` (the repository root, the working directory).
# Messages are prefixed with the name of the script that sourced this file.

bench_script="$(basename "$0")"
clk_tck="$(getconf CLK_TCK)"

# Installs what is missing from Debian packages; arguments are "command:package" pairs.
bench_install() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || [[ -x "/usr/sbin/${pair%%:*}" || -x "/usr/bin/${pair%%:*}" ]] || missing+=("${pair#*:}")
  done
  if ((${#missing[@]})); then
    echo "${bench_script}: installing ${missing[*]}" >&2
    local sudo_cmd=(); [[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Builds the node and LoadGen in Release; sets node_dll and loadgen_dll (BENCH_NODE_DLL: another build of the node).
# BENCH_NO_BUILD=1 uses the builds already there (an up-to-date check alone took minutes on the loaded machine).
bench_build() {
  if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
    echo "${bench_script}: building Release" >&2
    dotnet build src/Node/BgFetchCluster.Node.csproj -c Release -nologo -v q >/dev/null
    dotnet build bench/LoadGen/BgFetchCluster.LoadGen.csproj -c Release -nologo -v q >/dev/null
  fi
  node_dll="${BENCH_NODE_DLL:-${repo}/src/Node/bin/Release/net10.0/BgFetchCluster.Node.dll}"
  loadgen_dll="${repo}/bench/LoadGen/bin/Release/net10.0/BgFetchCluster.LoadGen.dll"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU ticks (user + system) of one process, or of the processes given, summed; 0 for one that has gone.
cpu_ticks() {
  local pid sum=0 t
  for pid in "$@"; do
    t="$(awk '{ print $14 + $15 }' "/proc/${pid}/stat" 2>/dev/null || echo 0)"
    sum=$((sum + t))
  done
  echo "${sum}"
}

ticks_to_s() { awk -v t="$1" -v hz="${clk_tck}" 'BEGIN { printf "%.3f", t / hz }'; }

# The machine line every table carries, and the load average at the moment of the call.
machine_line() {
  echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release; echo "${PRETTY_NAME}"), .NET $(dotnet --version)"
}
load_now() { cut -d' ' -f1-3 /proc/loadavg; }

# Generates the origin's files: bench_files "<spec lines: name count bytes>" "<selected workloads>" <origin URL>.
# Writes ${work}/origin/<W>/fNNNNN.bin, ${work}/<W>.urls, .curl, .bytes and ${work}/workloads.tsv.
bench_files() {
  local spec="$1" selected="$2" origin="$3"
  echo "${bench_script}: generating the files in ${work}/origin" >&2
  python3 - "${work}" "${origin}" "${selected}" "${spec}" <<'PY'
import os, sys
work, origin, selected, spec = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4]
for line in spec.splitlines():
    if not line.strip():
        continue
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
}

# Starts nginx serving ${work}/origin on 127.0.0.1:<port>; sets nginx_pid. bench_nginx <port> <a file to wait for>.
bench_nginx() {
  local port="$1" probe="$2" nginx_bin
  nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
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
    listen 127.0.0.1:${port};
    root ${work}/origin;
  }
}
CONF
  "${nginx_bin}" -c "${work}/nginx/nginx.conf" -e "${work}/nginx/error.log" &
  nginx_pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:${port}/${probe}"; do sleep 0.1; done
}

# Starts one node in the background: bench_node_start <log> <port> [extra node arguments...]; sets started_pid.
# Development profile (loopback origins allowed, X-BgFetch-Scope honoured), log level Warning.
# BENCH_NODE_ENV="NAME=value ...": environment for the node process only (runtime knobs for A/B runs).
bench_node_start() {
  local log="$1" port="$2"; shift 2
  # shellcheck disable=SC2086
  env ASPNETCORE_ENVIRONMENT=Development ${BENCH_NODE_ENV:-} dotnet "${node_dll}" --urls="http://127.0.0.1:${port}" \
    "--Logging:LogLevel:Default=Warning" "$@" >"${log}" 2>&1 &
  started_pid=$!
}

# Waits for a node's /ready; stops the script with the node's log if the process died first.
# wait_ready <pid> <port> [log]
wait_ready() {
  local pid="$1" port="$2" log="${3:-${work}/node.log}"
  until curl -sf -o /dev/null "http://127.0.0.1:${port}/ready"; do
    if ! kill -0 "${pid}" 2>/dev/null; then
      echo "${bench_script}: the node exited before /ready answered:" >&2; tail -30 "${log}" >&2
      exit 1
    fi
    sleep 0.1
  done
}

# Sends SIGTERM to the processes given and waits for them (only ones this script started).
stop_pids() {
  local pid
  for pid in "$@"; do [[ -n "${pid}" ]] && kill "${pid}" 2>/dev/null || true; done
  for pid in "$@"; do [[ -n "${pid}" ]] && wait "${pid}" 2>/dev/null || true; done
}

# Like stop_pids, but a process still alive after <seconds> gets SIGKILL: stop_pids_within <seconds> <pids...>.
# (A node holding a backlog of 100,000 pending registrations had not exited 5 minutes after SIGTERM.)
stop_pids_within() {
  local seconds="$1" pid deadline; shift
  for pid in "$@"; do [[ -n "${pid}" ]] && kill "${pid}" 2>/dev/null || true; done
  deadline=$((SECONDS + seconds))
  for pid in "$@"; do
    [[ -n "${pid}" ]] || continue
    while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
    if kill -0 "${pid}" 2>/dev/null; then
      echo "${bench_script}: process ${pid} still running ${seconds} s after SIGTERM: SIGKILL" >&2
      kill -9 "${pid}" 2>/dev/null || true
    fi
    wait "${pid}" 2>/dev/null || true
  done
}
