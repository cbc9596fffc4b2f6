"""The project's own promises: README commands, CI running exactly them, lint, the demo."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands():
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_opens_with_the_main_job_and_the_test_command():
    main_job, tests = readme_commands()[:2]
    assert main_job.startswith('pip install ".[cli]"') and main_job.endswith("matgrad train")
    assert tests.startswith('pip install -e ".[test]"') and "pytest" in tests


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in [line.strip() for line in ci]


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_file_the_package_reads_at_run_time_is_in_its_package_data():
    """A non-editable install (``pip install ".[playground]"``) copies only .py files and the
    package-data globs: a page or a font outside them would be missing from the wheel."""
    import tomllib

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["matgrad"]
    package = ROOT / "src" / "matgrad"
    data = [p for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    data = [p.relative_to(package).as_posix() for p in data if "__pycache__" not in p.parts]
    assert any(path.startswith("playground/static/vendor/katex/fonts/") for path in data)
    covered = {p.relative_to(package).as_posix() for glob in globs for p in package.glob(glob)}  # * stops at /
    missing = [path for path in data if path not in covered]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
