"""Settings read from CXLOOP_* environment variables, checked once at start."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cxloop.vocab import LANGUAGES

#: Shortest secret key accepted in production (e.g. `python -c "import secrets; print(secrets.token_urlsafe(32))"`).
MIN_SECRET_LEN = 32

#: The loop section's shipped defaults; a YAML file (``loop_config``) overrides them key by key.
LOOP_DEFAULTS_FILE = Path(__file__).parent / "loop" / "defaults.yaml"


class _Section(BaseModel):
    # A misspelt key in loop.yaml is an error at start, not a setting silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseSlaSettings(_Section):
    """SLA clocks of complaint cases, in business minutes of the case's calendar, by priority."""

    calendar: str = "default"
    first_response_minutes: dict[str, float]
    resolution_minutes: dict[str, float]
    warn_ratio: float = Field(0.8, gt=0, le=1, description="share of a clock run when a warning goes out")


class CaseRuleSettings(_Section):
    """Which feedback opens a complaint case by itself (once per item)."""

    enabled: bool = True
    negative_with_order: bool = True
    max_rating: int | None = Field(2, ge=1, le=5)
    lookback_days: float = 3
    department: str = "customer_service"
    max_per_run: int = 500


class PromiseSettings(_Section):
    """A promised feedback time (承诺反馈时间) and its customer-facing words per locale."""

    model_config = ConfigDict(extra="allow", frozen=True)  # extra keys: words in further locales

    minutes: float = 0
    business: bool = False
    end_of_day: bool = False
    zh: str
    en: str

    def text(self, locale: str) -> str:
        """The words of this promise in ``locale`` (Simplified Chinese when it has none)."""
        return str(getattr(self, locale, None) or self.zh)


class CalendarSettings(_Section):
    """A working calendar: hours per working day, weekdays, holidays country and exceptions."""

    holidays: str | None = "CN"
    hours: list[tuple[str, str]] = [("09:00", "18:00")]
    weekdays: list[int] = [0, 1, 2, 3, 4]
    extra_days_off: list[date] = []
    extra_workdays: list[date] = []


class OutboxSettings(_Section):
    """Delivery of the notification outbox."""

    max_attempts: int = 8
    backoff_seconds: float = 30
    backoff_max_seconds: float = 3600
    lease_seconds: float = 300
    retry_expired_leases: bool = True
    batch_size: int = 200
    smtp_timeout_seconds: float = 20
    webhook_timeout_seconds: float = 10


class EvaluationSettings(_Section):
    """Evidence attached to the tasks that rule evaluation opens."""

    sample_complaints: int = 5
    evidence_periods: int = 12


class LoopSettings(_Section):
    """The loop's section: loop/defaults.yaml merged with the ``loop_config`` file."""

    task_due_business_days: dict[str, int]
    task_calendar: str = "default"
    case_sla: CaseSlaSettings
    case_rules: CaseRuleSettings = CaseRuleSettings()
    promises: dict[str, PromiseSettings]
    calendars: dict[str, CalendarSettings]
    outbox: OutboxSettings = OutboxSettings()
    evaluation: EvaluationSettings = EvaluationSettings()


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@lru_cache(maxsize=8)
def _load_loop(path: str, mtime: float) -> LoopSettings:
    data = yaml.safe_load(LOOP_DEFAULTS_FILE.read_text(encoding="utf-8")) or {}
    if path:
        extra = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(extra, dict):
            raise ValueError(f"{path}: the loop settings must be a mapping")
        data = _merge(data, extra)
    return LoopSettings.model_validate(data)


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
    import_stale_after_s: int = Field(
        900, ge=30, description="A running import silent this long (no batch committed) is marked stale."
    )
    taxonomy: Path | None = Field(
        None, description="Aspect taxonomy YAML; empty uses the shipped e-commerce taxonomy."
    )
    analysis_batch_size: int = Field(2000, ge=50, le=50_000)
    locale: str | None = Field(
        None, description="Language of CLI and import messages (zh or en); empty uses default_locale."
    )
    jit: bool = Field(True, description="Compile the text kernels with numba; false runs the numpy path.")
    loop_config: Path | None = Field(
        None, description="YAML overriding loop/defaults.yaml; empty uses <data_dir>/loop.yaml if present."
    )
    delivery_early_hours: float = Field(
        24.0, ge=0, description="A delivery this many hours or more before its promise counts as early."
    )
    delivery_cutoff_hour: int = Field(
        16, ge=0, le=23, description="Orders placed before this hour (business time) ship the same day."
    )
    delivery_promise_target: float = Field(
        0.95,
        gt=0,
        lt=1,
        description="Promise recommendation: share of orders the promise must be beaten for.",
    )
    delivery_carrier_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "speed": 0.3,
            "on_time": 0.25,
            "damage": 0.15,
            "cost": 0.2,
            "complaints": 0.1,
        },
        description="Carrier recommendation: weight of each criterion (JSON in the environment).",
    )
    delivery_warning_threshold: float = Field(
        0.5, gt=0, lt=1, description="Early warning: an open order at or above this late risk is at risk."
    )
    survey_fatigue_days: int = Field(
        30, ge=0, le=365, description="Ask a customer at most one survey per this many days (0: no limit)."
    )
    survey_rate_per_link: str = Field(
        "30/minute", description="Requests one survey link may make (limits notation, e.g. 30/minute)."
    )
    survey_rate_per_address: str = Field(
        "300/minute", description="Requests one client address may make to the public survey pages."
    )
    survey_anonymous_days: int = Field(
        365, ge=1, le=3650, description="Days an anonymous survey link (parcel-insert QR code) stays valid."
    )

    # --- messages to customers (cxloop.messaging) ---
    shop_name: str = Field("cxloop 演示商店", description="Shop name used in customer messages and SMS sign.")
    sms_provider: str = Field(
        "none",
        description="SMS provider: aliyun, tencent, log (written to the log only: demos and trials) or none "
        "(SMS messages fail at once, visible to staff).",
    )
    sms_endpoint: str | None = Field(
        None, description="Provider API address; empty uses the provider's public endpoint."
    )
    sms_access_key_id: str | None = Field(None, description="Aliyun AccessKeyId / Tencent SecretId.")
    sms_access_key_secret: str | None = Field(None, description="Aliyun AccessKeySecret / Tencent SecretKey.")
    sms_sign_name: str = Field("cxloop", description="Registered SMS signature (签名) without brackets.")
    sms_region: str = Field("cn-hangzhou", description="Aliyun RegionId or Tencent X-TC-Region.")
    sms_app_id: str | None = Field(None, description="Tencent SmsSdkAppId.")
    sms_template_code: str = Field(
        "SMS_CXLOOP_CONTENT",
        description="Provider template (Aliyun TemplateCode / Tencent TemplateId) whose one variable is "
        "the rendered text, used when a message template names no code of its own.",
    )
    customer_webhook_url: str | None = Field(
        None, description="The shop's own system (app push, WeChat, marketplace) receiving signed messages."
    )
    customer_webhook_secret: str | None = Field(None, description="HMAC-SHA256 key of the shop webhook.")
    message_quiet_start: str = Field("21:00", description="Quiet hours start (no SMS from then).")
    message_quiet_end: str = Field("08:30", description="Quiet hours end: deferred SMS go out then.")
    message_cap_per_day: int = Field(2, ge=0, description="Most marketing messages per customer per day.")
    message_cap_per_week: int = Field(5, ge=0, description="Most marketing messages per customer per week.")
    message_max_attempts: int = Field(6, ge=1, description="Tries before a customer message is failed.")
    message_backoff_seconds: float = Field(30.0, ge=0, description="First retry delay; doubles each try.")
    message_lease_seconds: float = Field(
        300.0, gt=0, description="A claimed message whose worker died is sent again after this long."
    )
    shop_url: str = Field(
        "https://shop.example.com",
        description="The shop's own site: order, payment and cart links in messages.",
    )
    # --- journeys (cxloop.journeys) ---
    journeys_max_event_age_hours: float = Field(
        48.0, ge=0, description="Older events (a late import) start no journey, except in a replay."
    )
    journeys_high_value_spend: float = Field(
        2000.0,
        ge=0,
        description="Spend (CNY) from which a customer counts as high value (high_value condition).",
    )
    journeys_batch_size: int = Field(
        500, ge=10, le=20_000, description="Due timers processed per transaction."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone, so a typo fails at start, not at the first import
        return value

    @field_validator("message_quiet_start", "message_quiet_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hour, _, minute = value.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError("a quiet-hours time is HH:MM, e.g. 21:00")
        return value

    @field_validator("sms_provider")
    @classmethod
    def _known_sms_provider(cls, value: str) -> str:
        if value not in {"aliyun", "tencent", "log", "none"}:
            raise ValueError("sms_provider must be aliyun, tencent, log or none")
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
    def message_locale(self) -> str:
        """The language of CLI and import messages: ``locale`` when it names a known one, else the default."""
        value = (self.locale or "").strip().lower()[:2]
        return value if value in LANGUAGES else self.default_locale

    @property
    def loop(self) -> LoopSettings:
        """The loop section (re-read when its override file changes, so an edit needs no restart)."""
        path = self.loop_config or self.data_dir / "loop.yaml"
        mtime = path.stat().st_mtime if path.is_file() else 0.0
        return _load_loop(str(path) if mtime else "", mtime)

    @property
    def tz(self) -> ZoneInfo:
        """The business time zone as a tzinfo."""
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()``)."""
    return Settings()
