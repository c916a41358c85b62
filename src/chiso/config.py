"""Settings, read from the environment (prefix ``CHISO_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from chiso.catalog.loader import DEFAULT_DATA_DIR


class Exporter(BaseModel):
    """One configured exporter (docs/emc.md): where a kind of payload goes and the key that
    signs it. Configured per deployment in ``CHISO_EXPORTERS`` (a JSON list), not coded."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
                      description="Short name; its outbox channel is export:<name>")
    kind: Literal["emc", "dti"] = Field(
        default="emc", description="The payload it builds: emc (chiso.emc/1) or dti "
        "(chiso.dti/1)")
    url: str = Field(description="The receiving endpoint (HTTP POST)")
    secret: str = Field(min_length=16, description="HMAC-SHA256 key signing every message")
    units: list[str] = Field(default_factory=lambda: ["UBNDTP"], description="Units whose "
                             "figures it sends (UBNDTP: the city); [\"all\"]: every unit")
    indicators: list[str] = Field(default_factory=list,
                                  description="Indicator codes it sends (empty: all)")
    method: str = Field(default="dx-5279", description="dti: the scoring method whose index "
                        "(total, rank, pillars, criteria) it sends")
    enabled: bool = True


class Settings(BaseSettings):
    """Everything an operator can configure. Secrets come from the environment, never the repo."""

    model_config = SettingsConfigDict(env_prefix="CHISO_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/chiso.db",
        description="SQLAlchemy URL: sqlite:///path (default) or postgresql+psycopg://…",
    )
    read_database_url: str | None = Field(
        default=None,
        description="A PostgreSQL streaming replica of CHISO_DATABASE_URL for read-only "
        "queries (API reads, pages, open data); unset: everything reads the primary",
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
    background: bool = Field(
        default=True, description="Run the background work (chiso.background: the single-run "
        "work and the outbox's delivery) inside this web process; `chiso serve` on PostgreSQL "
        "turns it off in its serving processes and runs it in a work process of its own")
    work_nice: int = Field(
        default=10, ge=0, le=19, description="How much lower the work process's CPU priority "
        "is than the serving processes' (`nice`): a report being written yields to requests")
    scores_follow: bool = Field(
        default=True, description="Re-score the current periods as values change (stream)"
    )
    scores_debounce: float = Field(default=2.0, description="Seconds to let a burst settle")
    rankings_recheck: float = Field(
        default=1.0, description="Seconds a cached ranking is served before its scores are "
        "checked for change")
    answers_kept: int = Field(
        default=512, ge=1, le=100_000, description="How many answers of one kind (rankings, "
        "indicator values, the map) a process keeps in memory; past it the oldest goes")
    public_url: str | None = Field(
        default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
        description="The address people and harvesters reach chiso at (e.g. "
        "https://chiso.hanoi.gov.vn): the open data's absolute links are built from it, never "
        "from a request's Host header, which anyone can write. Unset: from the request "
        "(development, the demo)")
    opendata_licence_id: str = Field(
        default="CC-BY-4.0", description="Licence of the open datasets (CKAN license_id, "
        "DCAT dct:license); default Creative Commons Attribution 4.0")
    opendata_licence_title: str = "Creative Commons Attribution 4.0"
    opendata_licence_url: str = "https://creativecommons.org/licenses/by/4.0/"
    dashboard_follow: bool = Field(
        default=True, description="Keep the dashboard's tiles current from the change stream "
        "(off: every read recomputes them)")
    reports_schedule: bool = Field(
        default=True, description="Build the reports that fall due inside the running service "
        "(chiso.reports.schedule)")
    reports_schedule_seconds: float = Field(
        default=900.0, gt=0, description="Seconds between two looks for reports due")
    reports_refresh_seconds: float = Field(
        default=3600.0, gt=0, description="Least seconds between two rebuilds of the drafts of "
        "a period that has ended and not yet closed, when records arrived after they were built")
    pull_sources_run: bool = Field(
        default=True, description="Run the pull sources the operator manages in the app inside "
        "the running service (however many processes run, one pulls)")
    pull_sources_poll: float = Field(
        default=5.0, gt=0, description="Seconds between two looks for pull sources due")
    alerts_run: bool = Field(
        default=True, description="Raise, deliver and escalate alerts inside the running "
        "service (however many processes run, one does), so `chiso alerts run` needs no cron")
    alerts_interval: float = Field(
        default=3600.0, gt=0, description="Seconds between two alert runs in the service")
    outbox_deliver: bool = Field(
        default=True, description="Run the outbox's delivery worker in this process (however "
        "many run, one delivers at a time)")
    outbox_max_attempts: int = Field(
        default=10, ge=1, description="Attempts before a message is dead-lettered")
    outbox_backoff_initial: float = Field(
        default=2.0, gt=0, description="Seconds before the first retry; doubles each time")
    outbox_backoff_max: float = Field(default=900.0, gt=0,
                                      description="Longest wait between two attempts")
    outbox_timeout: float = Field(default=10.0, gt=0,
                                  description="Seconds a receiver has to answer")
    outbox_poll: float = Field(default=1.0, gt=0,
                               description="Seconds between looks at the outbox when idle")
    export_interval: float = Field(
        default=300.0, gt=0, description="Seconds between two looks for changed figures to "
        "export (the background work's exporter, when exporters are configured)")
    changelog_interval: float = Field(
        default=300.0, ge=0, description="Seconds between two publications of the open "
        "datasets' figures for the change log when new data came in (0: off in the "
        "background work)")
    changelog_full_seconds: float = Field(
        default=3600.0, gt=0, description="Publish the open datasets' figures at least this "
        "often even when no new data was seen (between, a publication waits for new data)")
    exporters: list[Exporter] = Field(
        default_factory=list, description="Exporters (JSON list of {name, kind, url, secret}); "
        "none by default")
    emc_embed_script: str | None = Field(
        default=None, pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[^\s\"'<>]*$",
        description="The EMC monitoring script's https address, embedded on the public pages "
        "(off when unset); the pages' CSP then allows its origin, and only it")
    emc_embed_site_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.:-]{1,100}$",
        description="The site id the EMC monitoring script is given (data-site-id)")
    default_locale: str = "vi"

    def emc_embed(self) -> tuple[str, str] | None:
        """(script address, site id) when the EMC monitoring code is on, else ``None``."""
        if self.emc_embed_script and self.emc_embed_site_id:
            return self.emc_embed_script, self.emc_embed_site_id
        return None


class SettingsError(Exception):
    """A setting chiso cannot work with. The message is one line: the variable, what is wrong
    with it, and what to do."""


@lru_cache
def get_settings() -> Settings:
    """The environment's settings; a value of the wrong type raises :class:`SettingsError`."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "CHISO_" + "_".join(str(part) for part in first["loc"]).upper()
        raise SettingsError(f"{name}={first.get('input')!r}: {first['msg']}; fix or unset "
                            "it") from None


def check_settings(settings: Settings) -> None:
    """Raise :class:`SettingsError` for a setting no command can work with: a data folder
    without the catalog, a database URL that is not one, a boundaries folder that is missing."""
    data = settings.data_dir
    if not (data / "plans").is_dir() or not (data / "units").is_dir():
        raise SettingsError(f"CHISO_DATA_DIR={data}: no catalog there (no plans/ and units/ "
                            "folders); point it at the catalog's data folder, or unset it to "
                            "use the built-in catalog")
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        raise SettingsError("CHISO_DATABASE_URL is not a database URL; use "
                            "sqlite:///path/to/file.db or "
                            "postgresql+psycopg://user:password@host/name") from None
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise SettingsError(f"CHISO_DATABASE_URL names the database driver {url.drivername!r}, "
                            "which chiso cannot use; use sqlite:///path/to/file.db or "
                            "postgresql+psycopg://user:password@host/name") from None
    if bool(settings.emc_embed_script) != bool(settings.emc_embed_site_id):
        raise SettingsError("CHISO_EMC_EMBED_SCRIPT and CHISO_EMC_EMBED_SITE_ID go together: "
                            "set both to embed the EMC monitoring code, or neither")
    boundaries = settings.boundaries_dir
    if boundaries is not None and not boundaries.is_dir():
        raise SettingsError(f"CHISO_BOUNDARIES_DIR={boundaries}: no such folder; point it at "
                            "the folder of commune boundary files, or unset it for the tile "
                            "grid")
