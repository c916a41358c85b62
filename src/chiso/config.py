"""Settings, read from the environment (prefix ``CHISO_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chiso.catalog.loader import DEFAULT_DATA_DIR


class Settings(BaseSettings):
    """Everything an operator can configure. Secrets come from the environment, never the repo."""

    model_config = SettingsConfigDict(env_prefix="CHISO_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/chiso.db",
        description="SQLAlchemy URL: sqlite:///path (default) or postgresql+psycopg://…",
    )
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="The catalog's data folder")
    boundaries_dir: Path | None = Field(
        default=None, description="Folder of commune boundary GeoJSON files (third-party data)"
    )
    alert_rules: Path | None = Field(
        default=None, description="Alert rules YAML (default: the built-in data/alerts/rules.yaml)")
    smtp_host: str = Field(default="localhost", description="SMTP server for alert e-mail")
    smtp_port: int = 25
    mail_from: str = "chiso@skhcn.hanoi.gov.vn"
    alert_webhook_url: str | None = Field(default=None, description="Where alerts are POSTed")
    alert_webhook_secret: str = Field(
        default="", description="HMAC-SHA256 key signing webhook bodies (X-Chiso-Signature)")
    scores_follow: bool = Field(
        default=True, description="Re-score the current periods as values change (stream)"
    )
    scores_debounce: float = Field(default=2.0, description="Seconds to let a burst settle")
    rankings_recheck: float = Field(
        default=1.0, description="Seconds a cached ranking is served before its scores are "
        "checked for change")
    opendata_licence_id: str = Field(
        default="CC-BY-4.0", description="Licence of the open datasets (CKAN license_id, "
        "DCAT dct:license); default Creative Commons Attribution 4.0")
    opendata_licence_title: str = "Creative Commons Attribution 4.0"
    opendata_licence_url: str = "https://creativecommons.org/licenses/by/4.0/"
    dashboard_follow: bool = Field(
        default=True, description="Keep the dashboard's tiles current from the change stream "
        "(off: every read recomputes them)")
    default_locale: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"


@lru_cache
def get_settings() -> Settings:
    return Settings()
