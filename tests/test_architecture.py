"""The layers hold (import-linter's contracts in pyproject.toml) and the DAG files stay thin."""

import ast
import subprocess
import sys
from pathlib import Path


def test_import_contracts_kept(repo: Path):
    result = subprocess.run([sys.executable, str(repo / "scripts" / "lint-imports")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_wrong_import_breaks_a_contract(repo: Path, tmp_path: Path):
    """The contracts are live: a vocabulary module importing a stage is caught."""
    import shutil

    copy = tmp_path / "tree"
    shutil.copytree(repo, copy, ignore=shutil.ignore_patterns(
        ".venv*", ".git", "var", "__pycache__", "*.so", "node_modules"))
    money = copy / "casslink" / "money.py"
    money.write_text(money.read_text() + "\nimport casslink.settlement.run  # noqa\n")
    result = subprocess.run([sys.executable, str(copy / "scripts" / "lint-imports")],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "casslink.money is not allowed to import casslink.settlement" in result.stdout


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_dags_call_only_the_app_layer(repo: Path):
    """A DAG file imports Airflow, the standard library, the app layer's task functions and
    the vocabulary - never a stage directly, but for modules of plain constants."""
    stages = ("casslink.parsers", "casslink.validators", "casslink.settlement",
              "casslink.outputs", "casslink.sftp_gateway", "casslink.payments")
    constants = {"casslink.outputs.formats"}
    for dag in sorted((repo / "dags").glob("*.py")):
        wrong = {m for m in _imports(dag) if m.startswith(stages) and m not in constants}
        assert not wrong, f"{dag.name} imports {wrong}"
