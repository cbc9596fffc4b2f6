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
    assert main_job.startswith("pip install .") and "python -m matgrad" in main_job
    assert tests.startswith('pip install -e ".[test]"') and "pytest" in tests


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in [line.strip() for line in ci]


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_demo_runs_and_its_gradients_agree_with_the_delta_equations():
    result = subprocess.run([sys.executable, "-m", "matgrad"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "gradcheck passed" in result.stdout and "∂C/∂W¹" in result.stdout


def test_demo_rejects_bad_sizes_with_one_clear_line():
    result = subprocess.run([sys.executable, "-m", "matgrad", "--sizes", "4,3"], capture_output=True, text=True)
    assert result.returncode == 2 and "three positive sizes" in result.stderr
    assert "Traceback" not in result.stderr
