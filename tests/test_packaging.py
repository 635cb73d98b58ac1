"""One namespace: everything installs under ``casslink.``; PyPI's ``validators`` imports
beside it."""

import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest


def _setuptools_config(repo: Path) -> dict:
    return tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed(repo: Path):
    """A new sub-package folder that pyproject does not list would be missing from the wheel."""
    config = _setuptools_config(repo)
    found = set()
    for name, folder in config["package-dir"].items():
        for init in (repo / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(repo / folder).parts
            found.add(".".join((name, *rel)))
    assert found == set(config["packages"])


@pytest.fixture(scope="module")
def wheel(repo: Path, tmp_path_factory) -> Path:
    """A wheel built from the tracked files (as a release would be)."""
    src = tmp_path_factory.mktemp("src")
    files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        if (repo / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(out), str(src)], check=True, capture_output=True)
    return next(out.glob("casslink-*.whl"))


def test_wheel_installs_only_casslink_at_the_top_level(wheel: Path):
    with zipfile.ZipFile(wheel) as zf:
        tops = {n.split("/")[0] for n in zf.namelist()}
        names = set(zf.namelist())
    assert {t for t in tops if not t.endswith(".dist-info")} == {"casslink"}
    # package data travels with it: migrations, schemas, templates, layouts
    assert "casslink/db/migrations/env.py" in names
    assert any(n.startswith("casslink/db/migrations/versions/0001") for n in names)
    assert "casslink/parsers/onerecord/codelists.json" in names
    assert any(n.startswith("casslink/validators/templates/") for n in names)
    assert "casslink/portal/templates/payments/page.html" in names  # feature folders too
    assert "casslink/locales/de/LC_MESSAGES/payments.po" in names


def test_pypi_validators_imports_beside_casslink(wheel: Path, tmp_path: Path):
    """A venv holding the installed wheel and PyPI's ``validators``: both import."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True)
    # the dependencies (and PyPI's validators, a dev dependency) come from the dev venv,
    # appended after the scratch venv's own site-packages
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True,
                          check=True).stdout.strip()
    Path(site, "zz_dev_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = (
        "import validators, casslink, casslink.validators.engine, casslink.parsers.hot, "
        "casslink.settlement.run, casslink.outputs.deliver, casslink.sftp_gateway.server, "
        "casslink.app.cli.main\n"
        "assert validators.email('a@example.com') is True\n"
        f"assert casslink.__file__.startswith({site!r}), casslink.__file__\n"
        "print(validators.__file__)\n")
    result = subprocess.run([str(py), "-c", probe], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "site-packages/validators/" in result.stdout
