#!/usr/bin/env bash
# The one run command: sets up Lotse and starts it on the embedded default
# (embedded Chroma, SQLite, bundled demo corpus indexed on first start, no LLM server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False
exec .venv/bin/lotse serve "$@"
