"""Intake settings (environment, prefix ``CHISO_``). Secrets never live in the repository."""

from __future__ import annotations

import logging
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

#: Used only outside production so that the demo and tests run with nothing configured.
#: chiso refuses to start intake with it when CHISO_ENV=production.
DEV_PSEUDONYM_KEY = "chiso-DEVELOPMENT-ONLY-pseudonym-key--never-use-in-production"


_warned = False


class InsecureConfigurationError(RuntimeError):
    pass


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHISO_", env_file=".env", extra="ignore")

    env: str = Field(default="development", description="development | test | production")
    pseudonym_key: SecretStr | None = Field(
        default=None, description="Key of the keyed hash (HMAC-SHA256) for personal identifiers"
    )
    archive_personal: bool = Field(
        default=False,
        description="Keep personal identifiers in the raw archive (off: pseudonymised there too)",
    )
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    max_batch_records: int = Field(default=50_000, gt=0)
    max_xlsx_uncompressed: int = Field(default=200 * 1024 * 1024, gt=0)
    max_xlsx_entries: int = Field(default=1_000, gt=0)

    def key(self) -> bytes:
        if self.pseudonym_key is not None and self.pseudonym_key.get_secret_value():
            return self.pseudonym_key.get_secret_value().encode()
        if self.env == "production":
            raise InsecureConfigurationError(
                "CHISO_PSEUDONYM_KEY is not set; production refuses the development key"
            )
        global _warned
        if not _warned:
            _warned = True
            log.warning("CHISO_PSEUDONYM_KEY not set: using the development key "
                        "(not for production)")
        return DEV_PSEUDONYM_KEY.encode()


@lru_cache
def get_intake_settings() -> IntakeSettings:
    return IntakeSettings()
