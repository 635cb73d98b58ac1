"""The SFTP gateway: jailed per-participant homes, atomic landing, registry, notification."""
