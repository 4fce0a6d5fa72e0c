"""Service settings: environment variables (``VCGUARD_*``) over an optional settings file.

Precedence, highest first: keyword arguments, environment, ``.env``, the settings file named by
``settings_file`` / ``VCGUARD_SETTINGS_FILE`` (JSON, TOML or YAML), then the defaults below.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Mapping

import yaml
from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from model.labels import LABELS

ENV_PREFIX = "VCGUARD_"
SETTINGS_FILE_ENV = f"{ENV_PREFIX}SETTINGS_FILE"
DEFAULT_DATABASE_PATH = Path("var") / "vcguard.db"


class Settings(BaseSettings):
    """Everything the API reads at startup."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="forbid",
                                      env_file_encoding="utf-8")

    settings_file: Path | None = Field(None, description="JSON / TOML / YAML file with more settings")
    artifact_path: Path | None = Field(None, description="model artifact directory (default: the shipped one)")
    fallback_only: bool = Field(False, description="never call the transformer: rules + linear scorer only")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///var/vcguard.db in CWD")
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="accepted X-API-Key values; none configured = no key needed")
    admin_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="keys for lexicon edits; none configured = lexicon API disabled")
    max_text_chars: int = Field(20_000, ge=1, description="longer texts are answered with 413")
    max_batch_items: int = Field(64, ge=1, description="longer batches are answered with 413")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="larger request bodies get 413")
    model_budget_ms: float = Field(250.0, gt=0, description="model time budget per request")
    model_budget_per_item_ms: float = Field(15.0, ge=0, description="extra budget per batch item after the first")
    model_workers: int = Field(2, ge=1, description="threads running the model path")
    model_batch_max: int = Field(16, ge=1, description="most queued windows (posts, for a model without windows) in one model call; "
                                 "an int8 model takes one window a call")
    model_threads: int = Field(1, ge=1, description="intra-op threads of each ONNX Runtime call")
    model_max_pending: int = Field(16, ge=1, description="model calls in flight before requests skip the model")
    thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict, description='per-label overrides, e.g. {"mining": {"block": 0.9}}')
    lexicon_refresh_s: float = Field(5.0, ge=0, description="poll the database for other workers' lexicon edits; 0 = off")
    log_text: bool = Field(False, description="include post text in logs (off: logs carry ids and lengths only)")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1)

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        """Accept a JSON list or a comma-separated string (the usual form in an environment)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [k.strip() for k in text.split(",") if k.strip()]
        return value

    @field_validator("api_keys", "admin_keys")
    @classmethod
    def _keys_non_trivial(cls, value: list[str]) -> list[str]:
        for key in value:
            if len(key) < 8:
                raise ValueError(f"API keys must be at least 8 characters, got one of {len(key)}")
        return value

    @field_validator("thresholds", mode="before")
    @classmethod
    def _thresholds_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("thresholds")
    @classmethod
    def _thresholds_known(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for label, pair in value.items():
            if label not in LABELS:
                raise ValueError(f"threshold override for unknown label {label!r}; expected one of {', '.join(LABELS)}")
            for key, number in pair.items():
                if key not in ("block", "review"):
                    raise ValueError(f"threshold override {label}.{key}: only 'block' and 'review' exist")
                if not 0.0 <= number <= 1.0:
                    raise ValueError(f"threshold override {label}.{key}={number!r} must be in [0, 1]")
        return value

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or SQLite at ``var/vcguard.db`` under the current directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path.cwd() / DEFAULT_DATABASE_PATH).as_posix()}"

    @property
    def auth_enabled(self) -> bool:
        return bool(self.api_keys or self.admin_keys)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs = getattr(init_settings, "init_kwargs", {})
        path = init_kwargs.get("settings_file") or os.environ.get(SETTINGS_FILE_ENV)
        file_source = SettingsFileSource(settings_cls, Path(path) if path else None)
        return init_settings, env_settings, dotenv_settings, file_source, file_secret_settings


class SettingsFileSource(PydanticBaseSettingsSource):
    """Reads settings from a JSON, TOML or YAML file (keys are field names, without the prefix)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole mapping

    def __call__(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        data = read_settings_file(self.path)
        unknown = sorted(set(data) - set(self.settings_cls.model_fields))
        if unknown:
            raise ValueError(f"settings file {self.path}: unknown setting(s) {', '.join(unknown)}")
        return data


def read_settings_file(path: Path) -> dict[str, Any]:
    """Parse a settings file by its suffix; raise FileNotFoundError / ValueError naming the file."""
    if not path.is_file():
        raise FileNotFoundError(f"settings file not found: {path}")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data: Any = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            raise ValueError(f"settings file {path}: use .json, .toml, .yaml or .yml, not {suffix or 'no suffix'!r}")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"settings file {path} cannot be parsed: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ValueError(f"settings file {path} must hold a mapping at top level, got {type(data).__name__}")
    return dict(data)
