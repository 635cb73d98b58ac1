"""The tree is ruff-clean (part of the suite so CI enforces it)."""

import subprocess
import sys
from pathlib import Path


def test_ruff_clean(repo: Path):
    ruff = Path(sys.executable).parent / "ruff"
    result = subprocess.run([str(ruff), "check", "--output-format", "concise", str(repo)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
