"""Settings from the environment (and an optional `.env`), validated at start.

A bad value stops the start with one line naming the setting (see `load_settings`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_TELEGRAM_API = "https://api.telegram.org"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    bot_mode: Literal["polling", "webhook"] = "polling"
    telegram_api_url: str = DEFAULT_TELEGRAM_API
    redis_url: str | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    knowledge_dir: str | None = None
    # the operator console: where admins open it (login links point there), and where its
    # changes to the knowledge are kept when there is no Redis
    web_base_url: str | None = None
    changes_file: str = "var/knowledge-changes.jsonl"
    console_secret: SecretStr | None = None  # signs login links; default: derived from BOT_TOKEN
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    broadcast_rate: float = Field(default=25.0, gt=0, le=30)
    throttle_limit: int = Field(default=20, ge=0)  # messages a user may send per window; 0: off
    throttle_window: int = Field(default=60, ge=1, le=3600)  # seconds
    # updates handled at once by one process; more wait (polling: stay queued at Telegram)
    max_concurrent_updates: int = Field(default=32, ge=1, le=1000)

    @field_validator(
        "bot_token",
        "redis_url",
        "webhook_url",
        "knowledge_dir",
        "web_base_url",
        "console_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("telegram_api_url", "web_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def console_url(self) -> str:
        """The console's public base URL: WEB_BASE_URL, else where this process listens."""
        return self.web_base_url or f"http://{self.web_host}:{self.web_port}"


class SettingsError(Exception):
    """One line naming the setting that is wrong."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
