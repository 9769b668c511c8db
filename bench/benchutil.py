"""Helpers for the CPU speed benchmarks (`pytest bench/`).

Each benchmark records its MIPS (retired instructions / wall seconds / 1e6)
in benchmark.extra_info and in MIPS_RESULTS, which conftest.py prints as a
table at the end of the run.
"""

from hvmm import Cpu

LOAD = 0x7C00
MIPS_RESULTS = []
# test_io_speed.py: key -> (label, operations, best ns/op, mean ns/op, extra_info)
IO_RESULTS = {}


def io_ratios():
    """The I/O cost ratios the hybrid design is judged by, from whichever
    figures were measured:
    {'python_over_kernel': ..., 'kernel_over_register': ..., ...}."""
    best = {key: r[2] for key, r in IO_RESULTS.items()}
    ratios = {}
    for name, num, den in (
        ("python_over_kernel", "python", "kernel"),
        ("python_raw_over_kernel", "python_raw", "kernel"),
        ("kernel_over_register", "kernel", "register"),
        ("kernel_pic_over_register", "kernel_pic", "register"),
        ("python_over_register", "python", "register"),
    ):
        if num in best and den in best and best[den] > 0:
            ratios[name] = best[num] / best[den]
    return ratios


def load_guest(image, model="386", memory_size=1 << 20):
    """A fresh Cpu with the raw image at 0000:7C00, ready to run."""
    cpu = Cpu(memory_size=memory_size, model=model)
    cpu.memory[LOAD : LOAD + len(image)] = image
    cpu.cs = cpu.ds = cpu.es = cpu.ss = 0
    cpu.ip = LOAD
    cpu.sp = LOAD
    return cpu


def run_to_halt(cpu, budget=1 << 30, stop=("hlt",)):
    """Run until the guest stops with one of the exit reasons in `stop`
    ('hlt'; the bench guest ends with 'debug_exit', its write to port 0xF4)."""
    ex = cpu.run(budget)
    while ex.reason == "budget":
        ex = cpu.run(budget)
    assert ex.reason in stop, (ex.reason, ex.detail)
    return cpu


def record_mips(benchmark, name, instructions):
    """Put MIPS from the best and the mean round into extra_info."""
    if benchmark.stats is None:  # --benchmark-disable: a smoke run, no timings
        return
    stats = benchmark.stats.stats
    best = instructions / stats.min / 1e6
    mean = instructions / stats.mean / 1e6
    benchmark.extra_info["instructions"] = instructions
    benchmark.extra_info["mips_best"] = round(best, 2)
    benchmark.extra_info["mips_mean"] = round(mean, 2)
    MIPS_RESULTS.append((name, instructions, best, mean))
    print(f"\n{name}: {instructions} instructions, {best:.1f} MIPS best, {mean:.1f} MIPS mean")
