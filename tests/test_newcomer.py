"""The README's path for a newcomer, checked against what the code does:
the prerequisites it names, the quick benchmark smoke run it offers, and the
statistics table the docs describe."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
needs_checkout = pytest.mark.skipif(not (ROOT / "bench").is_dir() or not (ROOT / "docs").is_dir(),
                                    reason="not run from a checkout (no bench/ or docs/)")


def test_readme_starts_with_the_two_commands():
    install_and_run, tests = re.findall(r"^    (.+)$", README, re.M)[:2]
    assert install_and_run == "pip install . && hvmm run"
    # CI runs exactly the README's test command.
    assert tests.startswith("pip install -e '.[test]' && pytest")
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()


def test_readme_names_the_prerequisites_pyproject_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = re.fullmatch(r">=(\d+\.\d+)", project["requires-python"]).group(1)
    assert f"Python {minimum} or newer" in README
    assert "C compiler" in README and "headers" in README
    assert "about a minute" in README             # the first install compiles the core


@needs_checkout
def test_quick_bench_smoke_run_passes(tmp_path, hvmm_env):
    """`pytest bench/ --benchmark-disable`, as the README offers it: every
    benchmark runs once without timings (and must not need them)."""
    assert "pytest bench/ --benchmark-disable" in README
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "bench/", "--benchmark-disable"],
        cwd=ROOT, env=hvmm_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert re.search(r"\d+ passed", proc.stdout)


@needs_checkout
def test_devices_doc_describes_the_stats_table_as_printed(tmp_path, hvmm_cmd, no_traceback):
    """--stats times in-kernel accesses in the core: the table's legend
    says so, and docs/devices.md shows and explains that legend."""
    proc = hvmm_cmd("exec", ROOT / "hvmm" / "guests" / "bench.bin", "--stats", cwd=tmp_path)
    no_traceback(proc)
    legend = proc.stderr.strip().splitlines()[-1]
    assert legend.startswith("in-kernel time is measured")
    doc = (ROOT / "docs" / "devices.md").read_text()
    assert legend in doc
    assert "what `--stats` of `exec`, `boot` and `run` sets" in doc
