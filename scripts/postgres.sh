# Sourced, not run: defines ensure_postgres, which starts (or creates) the local PostgreSQL cluster,
# ensures the test role and database, and exports BGFETCH_TEST_POSTGRES. Shared by scripts/test.sh
# and bench/run-persistence.sh so both talk to the same, identically prepared database.
# Messages are prefixed with the name of the script that sourced this file.

pg_script="$(basename "$0")"
pg_role="bgfetch"
pg_password="bgfetch-test"
pg_database="bgfetch_test"

as_postgres() {
  if command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  else
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  fi
}

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "${pg_script}: installing PostgreSQL" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q postgresql
  fi

  local version cluster status
  # First cluster listed, whatever its version: installs differ between machines.
  read -r version cluster status < <(pg_lsclusters -h | awk 'NR == 1 { print $1, $2, $4 }') || true
  if [[ -z "${version:-}" ]]; then
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    cluster="main"
    echo "${pg_script}: creating cluster ${version}/${cluster}" >&2
    pg_createcluster "${version}" "${cluster}"
    status="down"
  fi
  if [[ "${status}" != online* ]]; then
    echo "${pg_script}: starting cluster ${version}/${cluster}" >&2
    pg_ctlcluster "${version}" "${cluster}" start
  fi

  local port
  port="$(pg_lsclusters -h | awk -v v="${version}" -v c="${cluster}" '$1 == v && $2 == c { print $3 }')"
  local deadline=$((SECONDS + 60))
  until pg_isready -q -h 127.0.0.1 -p "${port}"; do
    if ((SECONDS > deadline)); then
      echo "${pg_script}: PostgreSQL ${version}/${cluster} did not accept connections on port ${port} within 60s" >&2
      exit 1
    fi
    sleep 0.5
  done

  as_postgres psql -v ON_ERROR_STOP=1 -q -p "${port}" -d postgres <<SQL
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${pg_role}') THEN
    CREATE ROLE ${pg_role} LOGIN CREATEDB PASSWORD '${pg_password}';
  ELSE
    ALTER ROLE ${pg_role} LOGIN CREATEDB PASSWORD '${pg_password}';
  END IF;
END
\$\$;
SQL
  if [[ "$(as_postgres psql -tAq -p "${port}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '${pg_database}'")" != "1" ]]; then
    as_postgres psql -v ON_ERROR_STOP=1 -q -p "${port}" -d postgres -c "CREATE DATABASE ${pg_database} OWNER ${pg_role}"
  fi

  export BGFETCH_TEST_POSTGRES="Host=127.0.0.1;Port=${port};Username=${pg_role};Password=${pg_password};Database=${pg_database}"
}
