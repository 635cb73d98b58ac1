"""One settings object for every part of casslink, read from ``CASSLINK_*`` environment variables.

=====================  ==========================================  ===============================
variable               meaning                                     default
=====================  ==========================================  ===============================
CASSLINK_HOME          data root (homes, landing, warehouse, ...)  ``<checkout>/var``
CASSLINK_DB_URL        project database (SQLAlchemy URL)           SQLite file in the data root
CASSLINK_GATEWAY_HOST  SFTP gateway bind address                   ``127.0.0.1``
CASSLINK_GATEWAY_PORT  SFTP gateway port                           ``2222``
CASSLINK_AIRFLOW_URL   Airflow API/UI base URL                     ``http://127.0.0.1:8080``
=====================  ==========================================  ===============================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout (or install prefix) that holds ``dags/``, ``fixtures/`` and ``airflow.cfg``."""


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    """Where everything lives. Build it with :func:`get_settings`; never mutate it."""

    home: Path
    db_url: str
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 2222
    airflow_url: str = "http://127.0.0.1:8080"
    repo_root: Path = field(default=REPO_ROOT)

    # --- the data root's layout -------------------------------------------------------------
    @property
    def homes_dir(self) -> Path:
        """Per-participant SFTP homes (``<code>/inbox``, ``outbox``, ``sandbox``)."""
        return self.home / "homes"

    @property
    def landing_dir(self) -> Path:
        """Content-addressed landed files, immutable (``<sha256[:2]>/<sha256>``)."""
        return self.home / "landing"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def warehouse_dir(self) -> Path:
        """Accepted canonical records as Parquet, partitioned by operation and period."""
        return self.home / "warehouse"

    @property
    def outputs_dir(self) -> Path:
        return self.home / "outputs"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def secrets_dir(self) -> Path:
        """Per-install generated keys and passwords (mode 0700). Never in the repository."""
        return self.home / "secrets"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def fixtures_dir(self) -> Path:
        return self.repo_root / "fixtures"

    @property
    def dags_dir(self) -> Path:
        return self.repo_root / "dags"

    @property
    def airflow_cfg(self) -> Path:
        return self.repo_root / "airflow.cfg"

    def ensure_dirs(self) -> Settings:
        """Create the data root's folders (idempotent) and return self."""
        for path in (self.home, self.homes_dir, self.landing_dir, self.quarantine_dir,
                     self.archive_dir, self.warehouse_dir, self.outputs_dir, self.logs_dir,
                     self.airflow_home):
            path.mkdir(parents=True, exist_ok=True)
        self.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def with_home(self, home: Path) -> Settings:
        """A copy rooted elsewhere (the database follows unless it was set explicitly)."""
        db_url = self.db_url
        if db_url == default_db_url(self.home):
            db_url = default_db_url(home)
        return replace(self, home=home, db_url=db_url)


def default_db_url(home: Path) -> str:
    return f"sqlite:///{home / 'casslink.db'}"


def get_settings() -> Settings:
    """Read the environment now (cheap; call it where needed rather than caching globally)."""
    home = Path(_env("CASSLINK_HOME", str(REPO_ROOT / "var"))).expanduser().resolve()
    return Settings(
        home=home,
        db_url=_env("CASSLINK_DB_URL", default_db_url(home)),
        gateway_host=_env("CASSLINK_GATEWAY_HOST", "127.0.0.1"),
        gateway_port=int(_env("CASSLINK_GATEWAY_PORT", "2222")),
        airflow_url=_env("CASSLINK_AIRFLOW_URL", "http://127.0.0.1:8080").rstrip("/"),
    )
