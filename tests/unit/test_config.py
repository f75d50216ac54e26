from pathlib import Path

import pytest
from pydantic import ValidationError

from skyscript.config import ExecutionMode, Settings, load_settings


def test_embedded_default_needs_no_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "h"))
    s = Settings()
    assert s.home == (tmp_path / "h").resolve()
    assert s.database_url == f"sqlite:///{(tmp_path / 'h' / 'lineage.db').resolve()}"
    assert s.store_url == (tmp_path / "h" / "store").resolve().as_uri()
    assert s.model_dir == (tmp_path / "h" / "models").resolve()
    assert s.thresholds.max_loss_rate == 0.04
    assert s.thresholds.min_accuracy == 0.90
    assert s.mode is ExecutionMode.local
    assert s.vlm.url is None


def test_environment_overrides_nested_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSCRIPT_THRESHOLDS__MAX_LOSS_RATE", "0.02")
    monkeypatch.setenv("SKYSCRIPT_VLM__URL", "http://vlm:23333/v1")
    monkeypatch.setenv("SKYSCRIPT_MODE", "kubernetes")
    monkeypatch.setenv("SKYSCRIPT_DATABASE_URL", "postgresql://u@db/skyscript")
    s = Settings()
    assert s.thresholds.max_loss_rate == 0.02
    assert s.vlm.url == "http://vlm:23333/v1"
    assert s.mode is ExecutionMode.kubernetes
    assert s.database_url == "postgresql://u@db/skyscript"


def test_config_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "skyscript.toml"
    cfg.write_text('store_url = "s3://minio:9000"\nprivate_bucket = "raw"\n[thresholds]\nmin_accuracy = 0.95\n')
    monkeypatch.setenv("SKYSCRIPT_PRIVATE_BUCKET", "from-env")
    s = load_settings(cfg)
    assert s.store_url == "s3://minio:9000"
    assert s.thresholds.min_accuracy == 0.95
    assert s.private_bucket == "from-env"


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.toml"):
        load_settings(tmp_path / "nope.toml")


def test_out_of_range_threshold_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSCRIPT_THRESHOLDS__MAX_LOSS_RATE", "1.5")
    with pytest.raises(ValidationError, match="max_loss_rate"):
        Settings()


def test_secrets_are_masked_in_public_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSCRIPT_STORE_SECRET_KEY", "topsecret")
    dumped = str(Settings().public_dict())
    assert "topsecret" not in dumped
