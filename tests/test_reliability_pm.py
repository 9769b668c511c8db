"""Random protected-mode guests through `hvmm exec --protected` (issue 9:
"10,000 random protected-mode guests ... all end with a clean exit: no
signal, no traceback, no run past its budget or timeout"). The guests
(tests/random_pm_guests.py) install random GDT, LDT, IDT, TSS and page
tables, turn paging on with random CR0/CR4 bits and jump into random code
mixed with system instructions, at ring 0, ring 3 or in virtual-8086
mode. They run in worker processes as test_reliability's guests do (a
crash shows as a signal, a hang as a timeout, both naming the guest).

CI runs a sample (HVMM_FUZZ_PM_GUESTS, default 400, half on the 386 and
half on the 686 model); HVMM_FUZZ_PM_GUESTS=10000 runs the acceptance
figure, HVMM_FUZZ_SEED=N starts the seeds elsewhere.
"""
import collections
import os
import random
import time

from random_pm_guests import pm_guest, pm_guest_and_kind
from test_reliability import BUDGET, FIRST_SEED, problem, run_guests

PM_GUESTS = int(os.environ.get("HVMM_FUZZ_PM_GUESTS", "400"))
BATCH = 500                 # guests whose images are on disk at a time


def guest_argv(tmp_path, seed: int, kinds: dict):
    cpu = "686" if seed % 2 else "386"
    path = tmp_path / f"pm-{seed}.bin"
    image, kinds[f"pm-{seed}"] = pm_guest_and_kind(random.Random(f"pm-{seed}"), cpu)
    path.write_bytes(image)
    return ["exec", "--protected", str(path), "--max-instructions", str(BUDGET), "--stats",
            "--cpu", cpu] + (["--deliver-ud"] if seed % 3 else [])


def test_random_protected_mode_guests_end_cleanly(tmp_path):
    bad, statuses, slowest, kinds = {}, collections.Counter(), 0.0, {}
    by_kind = collections.defaultdict(collections.Counter)
    t0 = time.monotonic()
    seeds = range(FIRST_SEED, FIRST_SEED + PM_GUESTS)
    for start in range(0, len(seeds), BATCH):
        batch = [(f"pm-{s}", guest_argv(tmp_path, s, kinds)) for s in seeds[start:start + BATCH]]
        results = run_guests(batch, tmp_path)
        for name, _ in batch:
            (tmp_path / f"{name}.bin").unlink()
        for name, r in results.items():
            if (p := problem(r)):
                bad[name] = p
            statuses[r.get("status")] += 1
            by_kind[kinds[name]][r.get("status")] += 1
            slowest = max(slowest, r.get("seconds", 0))
    print(f"protected: {PM_GUESTS} guests in {time.monotonic() - t0:.0f} s, statuses "
          f"{dict(sorted(statuses.items(), key=str))}, slowest {slowest:.2f} s")
    for kind, counts in sorted(by_kind.items()):
        print(f"  {kind}: {sum(counts.values())} guests, statuses "
              f"{dict(sorted(counts.items(), key=str))}")
    assert not bad, f"{len(bad)} of {PM_GUESTS} protected-mode guests: " + "; ".join(
        f"{n}: {p}" for n, p in list(bad.items())[:10])
    # the guests reach protected-mode code, not only the first fault
    assert statuses[10] > PM_GUESTS // 10


def test_protected_mode_guests_are_reproducible():
    assert pm_guest(random.Random("pm-7")) == pm_guest(random.Random("pm-7")) \
        != pm_guest(random.Random("pm-8"))
