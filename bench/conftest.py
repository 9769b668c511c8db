"""pytest configuration for bench/: the MIPS and port I/O summary tables, and
the `mips` fixture."""

import pytest
from benchutil import IO_RESULTS, MIPS_RESULTS, io_ratios, record_mips

RATIO_LABELS = {
    "python_over_kernel": "Python device (Machine) / in-kernel OUT",
    "python_raw_over_kernel": "Python device (bare core loop) / in-kernel OUT",
    "kernel_over_register": "in-kernel OUT / register instruction",
    "kernel_pic_over_register": "in-kernel OUT to the PIC / register instruction",
    "python_over_register": "Python device (Machine) / register instruction",
}
REQUIRED_PYTHON_OVER_KERNEL = 20  # the design: a Python exit costs >= 20x an in-kernel access


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    # Before pytest-benchmark writes --benchmark-json/--benchmark-save: put
    # the I/O ratios into the extra_info of every I/O benchmark.
    ratios = {k: round(v, 2) for k, v in io_ratios().items()}
    for *_, extra in IO_RESULTS.values():
        extra.update(ratios)
    yield


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    if MIPS_RESULTS:
        tr.section("hvmm CPU speed (MIPS = instructions / wall seconds / 1e6)")
        tr.write_line(f"{'benchmark':<34} {'instructions':>13} {'best':>8} {'mean':>8}")
        for name, n, best, mean in MIPS_RESULTS:
            tr.write_line(f"{name:<34} {n:>13} {best:>8.1f} {mean:>8.1f}")
    if IO_RESULTS:
        tr.section("hvmm port I/O (ns per operation)")
        tr.write_line(f"{'benchmark':<46} {'operations':>11} {'best':>9} {'mean':>9}")
        for label, n, best, mean, _ in IO_RESULTS.values():
            tr.write_line(f"{label:<46} {n:>11} {best:>9.1f} {mean:>9.1f}")
        ratios = io_ratios()
        if ratios:
            tr.write_line("ratios (best rounds):")
            for key, value in ratios.items():
                tr.write_line(f"  {RATIO_LABELS[key]:<52} {value:>8.1f}x")
        if "python_over_kernel" in ratios:
            ok = ratios["python_over_kernel"] >= REQUIRED_PYTHON_OVER_KERNEL
            tr.write_line(
                f"the hybrid design expects Python/in-kernel >= {REQUIRED_PYTHON_OVER_KERNEL}x: "
                + ("met" if ok else "NOT MET")
            )


@pytest.fixture
def mips():
    return record_mips
