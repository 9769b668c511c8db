"""hvmm's pytest plugin (hvmm/testing.py): the example suite under
examples/pytest-demo under pytest-xdist, and the report of a failed test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_example_suite_passes_under_xdist(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "hvmm.testing", "-p", "xdist", "-n", "2",
         "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "t"),
         "examples/pytest-demo"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout and " failed" not in proc.stdout


def test_failed_test_report_has_screen_and_screenshot(pytester, tmp_path):
    pytester.makepyfile(test_fails=f'''
        from pathlib import Path
        BOOT = Path({str(REPO / "hvmm" / "guests" / "hello_boot.bin")!r}).read_bytes()

        def test_wrong_greeting(hvmm_machine):
            pc = hvmm_machine(floppy=BOOT)
            pc.expect_screen("Press a key:")
            assert "Goodbye" in pc.screen()
    ''')
    result = pytester.runpytest("-p", "hvmm.testing", "--hvmm-artifacts", str(tmp_path))
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "hvmm machine 1: screen at" in text
    assert "Hello from the boot sector" in text
    shots = list(tmp_path.glob("*.png"))
    assert len(shots) == 1 and f"screenshot: {shots[0]}" in text
    from PIL import Image

    assert Image.open(shots[0]).size == (640, 400)


def test_expect_screen_names_the_stop(pytester):
    pytester.makepyfile(test_stop=f'''
        from pathlib import Path
        GUEST = Path({str(REPO / "hvmm" / "guests" / "debug_demo.bin")!r}).read_bytes()

        def test_never_there(hvmm_machine):
            pc = hvmm_machine(floppy=GUEST)
            pc.expect_screen("never printed")
    ''')
    result = pytester.runpytest("-p", "hvmm.testing")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the guest stopped (debug_exit*before 'never printed' appeared*"])
