"""Intake settings (environment, prefix ``CHISO_``). Secrets never live in the repository."""

from __future__ import annotations

import logging
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

#: Published in the repository, so anyone can compute pseudonyms with it: used only when
#: ``CHISO_ENV`` is ``demo`` or ``test``; any other deployment refuses to start without its own.
DEV_PSEUDONYM_KEY = "chiso-DEVELOPMENT-ONLY-pseudonym-key--never-use-in-production"
#: Likewise for the key that seals pull sources' credentials.
DEV_SECRETS_KEY = "chiso-DEVELOPMENT-ONLY-secrets-key--never-use-in-production"
#: The environments that may run without keys of their own.
KEYLESS_ENVS = frozenset({"demo", "test"})
MIN_KEY_CHARS = 32

_warned = False


class InsecureConfigurationError(RuntimeError):
    pass


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHISO_", env_file=".env", extra="ignore")

    env: str = Field(default="production", description="production (the default) | demo | "
                     "test; only demo and test may run without keys of their own")
    pseudonym_key: SecretStr | None = Field(
        default=None, description="Key of the keyed hash (HMAC-SHA256) for personal identifiers"
    )
    secrets_key: SecretStr | None = Field(
        default=None, description="Key that seals pull sources' credentials in the database "
        "(AES-GCM); at least 32 random characters")
    archive_personal: bool = Field(
        default=False,
        description="Keep personal identifiers in the raw archive (off: pseudonymised there too)",
    )
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    max_batch_records: int = Field(default=50_000, gt=0)
    max_xlsx_uncompressed: int = Field(default=200 * 1024 * 1024, gt=0)
    max_xlsx_entries: int = Field(default=1_000, gt=0)

    def key(self) -> bytes:
        """The pseudonym key; the repository's development key only in demo and test."""
        own = self.pseudonym_key.get_secret_value() if self.pseudonym_key is not None else ""
        keyless = self.env in KEYLESS_ENVS
        if own and (keyless or (own != DEV_PSEUDONYM_KEY and len(own) >= MIN_KEY_CHARS)):
            return own.encode()
        if not keyless:
            problem = ("is the development key published in the repository"
                       if own == DEV_PSEUDONYM_KEY else
                       f"is shorter than {MIN_KEY_CHARS} characters" if own else "is not set")
            raise InsecureConfigurationError(
                f"CHISO_PSEUDONYM_KEY {problem}: set it to a secret of at least "
                f"{MIN_KEY_CHARS} random characters (e.g. `openssl rand -base64 48`); only "
                "CHISO_ENV=demo or CHISO_ENV=test runs without keys of its own")
        global _warned
        if not _warned:
            _warned = True
            log.warning("CHISO_PSEUDONYM_KEY not set: using the development key "
                        "(CHISO_ENV=%s)", self.env)
        return DEV_PSEUDONYM_KEY.encode()

    def sealing_key(self) -> bytes:
        """The key sealing stored credentials; the development key only in demo and test."""
        own = self.secrets_key.get_secret_value() if self.secrets_key is not None else ""
        keyless = self.env in KEYLESS_ENVS
        if own and (keyless or (own != DEV_SECRETS_KEY and len(own) >= MIN_KEY_CHARS)):
            return own.encode()
        if not keyless:
            problem = ("is the development key published in the repository"
                       if own == DEV_SECRETS_KEY else
                       f"is shorter than {MIN_KEY_CHARS} characters" if own else "is not set")
            raise InsecureConfigurationError(
                f"CHISO_SECRETS_KEY {problem}: set it to a secret of at least "
                f"{MIN_KEY_CHARS} random characters (e.g. `openssl rand -base64 48`) to keep "
                "pull sources' credentials")
        return DEV_SECRETS_KEY.encode()


@lru_cache
def get_intake_settings() -> IntakeSettings:
    return IntakeSettings()
