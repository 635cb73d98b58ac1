"""Per-install secrets, generated on first use into ``<data root>/secrets`` (mode 0600).

Nothing secret is ever in the repository or printed to logs (the Airflow admin password is
printed once by ``casslink run`` to the operator's terminal, as Airflow standalone does).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from casslink.settings import Settings


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def airflow_secrets(settings: Settings) -> dict[str, str]:
    """Fernet key, JWT secret and API secret key for this install (created once)."""
    settings.ensure_dirs()
    path = settings.secrets_dir / "airflow-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "fernet_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "jwt_secret": secrets.token_urlsafe(48),
        "api_secret_key": secrets.token_urlsafe(32),
    }
    _write_private(path, json.dumps(values, indent=1))
    return values


def airflow_admin_password(settings: Settings) -> str | None:
    """The password Airflow's simple auth manager generated for ``admin`` (None before start)."""
    path = settings.secrets_dir / "airflow-passwords.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text()).get("admin")
    except json.JSONDecodeError:
        return None


def portal_secret(settings: Settings) -> bytes:
    """The key that signs the portal's session cookies for this install (created once)."""
    settings.ensure_dirs()
    path = settings.secrets_dir / "portal-secret"
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip().encode()
