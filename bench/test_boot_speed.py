"""Booting FreeDOS to its prompt: instructions and wall seconds.

Reference figures on this machine: 8086tiny 2.05 s, QEMU 2.9 s
(most of either a 2 s wait in the kernel that a virtual clock can skip).
Skipped where ../shared/images/freedos.img is absent.
"""

import os
from pathlib import Path

import pytest

# The ../shared test data (README, "Test data"); HVMM_SHARED points elsewhere.
SHARED = Path(os.environ.get("HVMM_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
IMAGE = SHARED / "images" / "freedos.img"


@pytest.mark.skipif(not IMAGE.exists(), reason=f"needs the FreeDOS floppy image, not found at "
                    f"{IMAGE} (the ../shared test data: README, 'Test data')")
@pytest.mark.parametrize("model", ["386", "8086"])
def test_boot_freedos_to_prompt(benchmark, model):
    from hvmm.disks import FloppyImage
    from hvmm.pc import PC

    counts = []

    def boot():
        pc = PC(FloppyImage(IMAGE), cpu=model)
        assert pc.wait_for_text("A:\\>", 400_000_000), pc.screen_text()
        counts.append(pc.cpu.instructions)

    benchmark.pedantic(boot, rounds=3, iterations=1)
    assert len(set(counts)) == 1            # deterministic: the same count every boot
    benchmark.extra_info["instructions_to_prompt"] = counts[0]
    if benchmark.stats is None:     # --benchmark-disable: a smoke run, no timings
        print(f"\nFreeDOS boot to A:\\> ({model}): {counts[0]} instructions")
        return
    benchmark.extra_info["wall_seconds_best"] = round(benchmark.stats.stats.min, 3)
    print(f"\nFreeDOS boot to A:\\> ({model}): {counts[0]} instructions, "
          f"{benchmark.stats.stats.min:.2f} s best wall")
