"""The e-file settings section: LOTSE_EFILE__<KEY> (nested) and the older LOTSE_EFILE_<KEY> give the same
configuration; one key set in both spellings with different values stops the start."""

from __future__ import annotations

import pytest

from lotse.settings import EFILE_KEYS, SettingsError, load_settings

VALUES = {"url": "http://127.0.0.1:8766", "user": "lotse-tech", "password": "lotse-secret",
          "userlogin": "max.mustermann", "joboe": "COO.1.2300.1.847", "timeout_s": "20"}


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the working directory
    for key in EFILE_KEYS:
        monkeypatch.delenv(f"LOTSE_EFILE_{key.upper()}", raising=False)
        monkeypatch.delenv(f"LOTSE_EFILE__{key.upper()}", raising=False)


def _config(monkeypatch, sep: str, values: dict[str, str]):
    for key, value in values.items():
        monkeypatch.setenv(f"LOTSE_EFILE{sep}{key.upper()}", value)
    cfg = load_settings().efile_config()
    for key in values:
        monkeypatch.delenv(f"LOTSE_EFILE{sep}{key.upper()}")
    return cfg


def test_both_spellings_give_the_same_configuration(monkeypatch, tmp_path):
    old, new = _config(monkeypatch, "_", VALUES), _config(monkeypatch, "__", VALUES)
    assert old == new
    assert new.kind == "eakte_rest" and new.url == VALUES["url"] and new.timeout_s == 20.0
    assert new.password.get_secret_value() == "lotse-secret" and new.joboe == "COO.1.2300.1.847"
    xdomea = {"kind": "xdomea", "xdomea_dir": str(tmp_path)}
    assert _config(monkeypatch, "_", xdomea) == _config(monkeypatch, "__", xdomea)
    assert _config(monkeypatch, "__", xdomea).xdomea_dir == tmp_path
    # an empty directory means unset in both spellings
    assert _config(monkeypatch, "_", {**xdomea, "xdomea_dir": ""}).xdomea_dir is None
    assert _config(monkeypatch, "__", {**xdomea, "xdomea_dir": ""}).xdomea_dir is None
    assert _config(monkeypatch, "__", {}).kind == "none"


def test_spellings_can_be_mixed_and_repeated_with_the_same_value(monkeypatch):
    monkeypatch.setenv("LOTSE_EFILE_URL", VALUES["url"])
    monkeypatch.setenv("LOTSE_EFILE__URL", VALUES["url"])
    monkeypatch.setenv("LOTSE_EFILE__USER", "lotse-tech")
    monkeypatch.setenv("LOTSE_EFILE_PASSWORD", "lotse-secret")
    settings = load_settings()
    cfg = settings.efile_config()
    assert (cfg.url, cfg.user, cfg.password.get_secret_value()) == (VALUES["url"], "lotse-tech", "lotse-secret")
    assert settings.efile.url == VALUES["url"]


def test_old_spelling_in_the_env_file(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("LOTSE_EFILE_URL=http://eakte.example:8080\nLOTSE_EFILE__USER=tech\n"
                                   "LOTSE_EFILE_TIMEOUT_S=5\n", encoding="utf-8")
    cfg = load_settings().efile_config()
    assert (cfg.kind, cfg.url, cfg.user, cfg.timeout_s) == ("eakte_rest", "http://eakte.example:8080", "tech", 5.0)
    monkeypatch.setenv("LOTSE_EFILE_TIMEOUT_S", "7")  # the environment comes before the .env file
    assert load_settings().efile_config().timeout_s == 7.0


def test_different_values_in_both_spellings_are_a_bilingual_error(monkeypatch):
    monkeypatch.setenv("LOTSE_EFILE_URL", "http://a.example")
    monkeypatch.setenv("LOTSE_EFILE__URL", "http://b.example")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    msg = str(exc.value)
    assert "LOTSE_EFILE_URL / LOTSE_EFILE__URL" in msg
    assert "doppelt und verschieden" in msg and "set twice with different values" in msg


def test_invalid_value_names_both_spellings(monkeypatch):
    monkeypatch.setenv("LOTSE_EFILE__KIND", "dms")
    with pytest.raises(SettingsError, match=r"LOTSE_EFILE__KIND \(oder/or LOTSE_EFILE_KIND\)"):
        load_settings()
    monkeypatch.delenv("LOTSE_EFILE__KIND")
    monkeypatch.setenv("LOTSE_EFILE_TIMEOUT_S", "0")
    with pytest.raises(SettingsError, match="LOTSE_EFILE__TIMEOUT_S"):
        load_settings()
