"""Access settings, from the environment (``CHISO_ACCESS_*``, ``CHISO_OIDC_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AccessSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHISO_ACCESS_", env_file=".env",
                                      extra="ignore")

    cookie_secure: bool = Field(
        default=True, description="Session cookies only over HTTPS (browsers treat "
        "http://localhost as secure). Turn off only for a plain-HTTP test set-up.")
    audit_key_file: Path = Field(default=Path("var/audit/signing-key.pem"),
                                 description="Ed25519 key that signs audit checkpoints")
    audit_checkpoint_file: Path = Field(
        default=Path("var/audit/checkpoints.jsonl"),
        description="Signed checkpoints, appended; keep it (or a copy) off the database host")
    checkpoint_seconds: float = Field(default=300.0, ge=0,
                                      description="Seal the log this often (0: never)")
    max_form_bytes: int = Field(
        default=60 * 1024 * 1024, gt=0,
        description="The limit of every request's body, whoever sends it (413 beyond): a "
        "declared length is checked before reading, a chunked body while it is read")
    signin_rate: str = Field(
        default="20/minute", pattern=r"^\d+\s*/\s*(second|minute|hour|day)$",
        description="Sign-in attempts allowed per client address (checked before any "
        "password work; counted in the database, so every process shares the count)")


class OidcSettings(BaseSettings):
    """The city's single sign-on. Claims map to users, units and roles by configuration."""

    model_config = SettingsConfigDict(env_prefix="CHISO_OIDC_", env_file=".env", extra="ignore")

    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uri: str | None = None  # default: <this site>/signin/oidc/callback
    post_logout_redirect_uri: str | None = None  # default: <this site>/ ; register it too
    scope: str = "openid profile email"
    username_claim: str = "preferred_username"
    name_claim: str = "name"
    roles_claim: str = "chiso_roles"  # a list of role names, or "role@unit" for unit scope
    units_claim: str = "chiso_units"  # optional: units for unit_officer roles without @unit
    role_map: dict[str, str] = Field(default_factory=dict,
                                     description="provider role name → chiso role")
    create_users: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)
