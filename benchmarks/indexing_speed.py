"""Indexing speed on the law corpus: chunks/s and peak memory, first run and no-change rerun.

    python benchmarks/indexing_speed.py [--corpus DIR]

The first run starts from an empty data directory in a fresh process; the no-change
rerun is timed as a whole `lotse index` command (process start included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import LAW_CORPUS, ROOT


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=LAW_CORPUS)
    ap.add_argument("--embedder", default="transformer", choices=["transformer", "static"])
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="lotse-bench-index-"))
    env = {**os.environ, "LOTSE_DATA_DIR": str(data), "LOTSE_LOG_LEVEL": "WARNING",
           "LOTSE_INDEX__EMBEDDER": args.embedder}
    lotse = [str(Path(sys.executable).parent / "lotse")]
    code = (
        "import json, resource, time, sys\n"
        "from lotse.settings import load_settings\nfrom lotse.factory import build_knowledge_base\n"
        "kb = build_knowledge_base(load_settings())\nkb.embedder._load()\n"
        "t = time.perf_counter(); r = kb.index(sys.argv[1], progress=False); d = time.perf_counter() - t\n"
        "print(json.dumps({'chunks': r.chunks_written, 'files': r.added, 'seconds': d,"
        " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(args.corpus)], env=env, capture_output=True, text=True,
                         cwd=ROOT, check=True)
    first = json.loads(out.stdout.strip().splitlines()[-1])
    t = time.perf_counter()
    subprocess.run(lotse + ["index", str(args.corpus)], env=env, capture_output=True, check=True)
    rerun = time.perf_counter() - t
    print(f"embedder: {args.embedder}")
    print(f"corpus: {args.corpus} ({first['files']} files, {first['chunks']} chunks), {os.cpu_count()} cores")
    print(f"first run (model already loaded): {first['seconds']:.1f} s = {first['chunks'] / first['seconds']:.0f} chunks/s, "
          f"peak RSS {first['peak_rss_mb']:.0f} MB")
    print(f"no-change rerun (whole `lotse index` command incl. start-up): {rerun:.2f} s")


if __name__ == "__main__":
    main()
