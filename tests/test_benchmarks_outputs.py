"""Benchmark commands write into a folder of the user's, never over the tracked results unless asked."""

import argparse
import contextlib
import io
from pathlib import Path

import pytest
from benchmarks import outputs


def parse(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    outputs.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_reports_go_to_a_results_folder_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = outputs.path(parse(), "RESULTS.md")
    assert target == Path("benchmark-results") / "RESULTS.md" and target.parent.is_dir()
    assert outputs.path(parse("--out-dir", str(tmp_path / "mine")), "RESULTS.md") == tmp_path / "mine" / "RESULTS.md"


def test_only_update_results_names_the_tracked_files(tmp_path):
    tracked = outputs.path(parse("--update-results"), "RESULTS.md")
    assert tracked == Path(outputs.__file__).resolve().parent / "RESULTS.md"
    explicit = tmp_path / "x" / "r.md"
    assert outputs.path(parse("--update-results", "--out", str(explicit)), "RESULTS.md", explicit) == explicit


@pytest.mark.parametrize("module", ["benchmarks.__main__", "benchmarks.memory"])
def test_every_benchmark_command_offers_the_folder_and_the_update(module):
    main = __import__(module, fromlist=["main"]).main
    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text), pytest.raises(SystemExit):
        main(["--help"])
    assert "--out-dir" in help_text.getvalue() and "--update-results" in help_text.getvalue()


def test_reuse_memory_sets_the_same_malloc_thresholds_for_every_worker():
    from benchmarks import environment
    from benchmarks.pool import REUSED_MEMORY, worker_environment

    plain = worker_environment(1, False, base={})
    reused = worker_environment(1, False, base={}, reuse_memory=True)
    assert not set(REUSED_MEMORY) & set(plain)
    assert all(reused[name] == value for name, value in REUSED_MEMORY.items())
    assert "reused in every worker" in environment.describe(1, False, reused)["memory"]
    assert "fresh pages" in environment.describe(1, False, plain)["memory"]
