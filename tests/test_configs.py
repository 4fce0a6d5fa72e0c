"""Every committed training config loads and passes validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config import TrainConfig

CONFIGS = sorted((Path(__file__).parent.parent / "training" / "configs").glob("*.yaml"))


def test_there_is_a_release_config() -> None:
    assert any(p.name == "release.yaml" for p in CONFIGS)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_committed_config_is_valid(path: Path) -> None:
    cfg = TrainConfig.from_yaml(path)
    assert cfg.output_dir.startswith("runs/")
