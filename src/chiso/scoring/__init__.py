"""The scoring room (see docs/architecture.md); filled by the issue that owns it."""
