"""Helpers for the CPU speed benchmarks (`pytest bench/`).

Each benchmark records its MIPS (retired instructions / wall seconds / 1e6)
in benchmark.extra_info and in MIPS_RESULTS, which conftest.py prints as a
table at the end of the run.
"""

from hvmm import Cpu

LOAD = 0x7C00
MIPS_RESULTS = []


def load_guest(image, model="386", memory_size=1 << 20):
    """A fresh Cpu with the raw image at 0000:7C00, ready to run."""
    cpu = Cpu(memory_size=memory_size, model=model)
    cpu.memory[LOAD : LOAD + len(image)] = image
    cpu.cs = cpu.ds = cpu.es = cpu.ss = 0
    cpu.ip = LOAD
    cpu.sp = LOAD
    return cpu


def run_to_halt(cpu, budget=1 << 30):
    ex = cpu.run(budget)
    while ex.reason == "budget":
        ex = cpu.run(budget)
    assert ex.reason == "hlt", (ex.reason, ex.detail)
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
