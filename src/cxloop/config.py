"""Settings read from CXLOOP_* environment variables, checked once at start."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Shortest secret key accepted in production (e.g. `python -c "import secrets; print(secrets.token_urlsafe(32))"`).
MIN_SECRET_LEN = 32


class Settings(BaseSettings):
    """Every setting of cxloop; each field is read from ``CXLOOP_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CXLOOP_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        Path("cxloop-data"), description="Folder for the SQLite file, rejects and exports."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; empty means a SQLite file cxloop.db inside data_dir."
    )
    timezone: str = Field("Asia/Shanghai", description="Business time zone: timestamps are stored in it.")
    currency: str = Field("CNY", description="Default currency of amounts.")
    broker_url: str | None = Field(None, description="Celery broker (Redis URL); empty runs jobs in-process.")
    scheduler: bool = Field(
        True, description="Run the periodic schedule inside `cxloop serve` when no broker is set."
    )
    celery_queue: str = Field(
        "cxloop", description="Celery queue name; separate installs on one Redis differ."
    )
    secret_key: str = Field("dev-insecure-secret-change-me", description="Signs sessions and CSRF tokens.")
    environment: Literal["development", "test", "production"] = Field(
        "development", description="'production' refuses unsafe defaults; any other value is an error."
    )
    default_locale: str = Field("zh", description="UI language when the user has not chosen: zh or en.")
    smtp_host: str = Field("127.0.0.1")
    smtp_port: int = Field(25)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = Field("cxloop@localhost")
    mail_sink: Literal["smtp", "file"] = Field(
        "smtp",
        description="'file' writes each mail as an .eml file under data_dir/mail instead of sending it.",
    )
    base_url: str = Field("http://127.0.0.1:8000", description="Public address used in links in mails.")
    import_batch_size: int = Field(5000, ge=100, le=100_000)
    taxonomy: Path | None = Field(
        None, description="Aspect taxonomy YAML; empty uses the shipped e-commerce taxonomy."
    )
    analysis_batch_size: int = Field(2000, ge=50, le=50_000)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone, so a typo fails at start, not at the first import
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in {"zh", "en"}:
            raise ValueError("default_locale must be 'zh' or 'en'")
        return value

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key.startswith("dev-insecure"):
                raise ValueError("CXLOOP_SECRET_KEY must be set to a random value in production")
            if len(self.secret_key) < MIN_SECRET_LEN:
                raise ValueError(
                    f"CXLOOP_SECRET_KEY must have at least {MIN_SECRET_LEN} characters in production"
                )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside data_dir."""
        if self.database_url:
            url = self.database_url
            # People paste the URL their other tools use; psycopg 3 is the driver we ship.
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{(self.data_dir / 'cxloop.db').resolve()}"

    @property
    def tz(self) -> ZoneInfo:
        """The business time zone as a tzinfo."""
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()``)."""
    return Settings()
