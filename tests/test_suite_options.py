"""The test suite's own options: the `slow` marker is skipped with a reason
unless --run-slow is given."""

from pathlib import Path


def test_slow_tests_run_only_with_run_slow(pytester):
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makepyfile(test_x="""
        import pytest

        @pytest.mark.slow
        def test_long():
            pass

        def test_short():
            pass
    """)
    result = pytester.runpytest("-p", "no:xdist", "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*slow: a long-running suite; run it with --run-slow*"])
    result = pytester.runpytest("-p", "no:xdist", "-p", "no:cacheprovider", "--run-slow")
    result.assert_outcomes(passed=2)
