"""pytest configuration for bench/: a MIPS summary table and the `mips` fixture."""

import pytest
from benchutil import MIPS_RESULTS, record_mips


def pytest_terminal_summary(terminalreporter):
    if not MIPS_RESULTS:
        return
    tr = terminalreporter
    tr.section("hvmm CPU speed (MIPS = instructions / wall seconds / 1e6)")
    tr.write_line(f"{'benchmark':<34} {'instructions':>13} {'best':>8} {'mean':>8}")
    for name, n, best, mean in MIPS_RESULTS:
        tr.write_line(f"{name:<34} {n:>13} {best:>8.1f} {mean:>8.1f}")


@pytest.fixture
def mips():
    return record_mips
