"""hvmm's pytest plugin: test boot sectors, bootloaders and kernels with
pytest (registered as ``hvmm.testing`` under the ``pytest11`` entry point;
``-p hvmm.testing`` where hvmm is not installed).  See docs/testing.md.

    def test_boot_sector(hvmm_machine):
        pc = hvmm_machine(floppy=Path("boot.bin").read_bytes())
        pc.expect_screen("Hello")                 # run until it is on screen

Fixtures:

* ``hvmm_machine(floppy=, hda=, hdb=, bios=, cpu=, memory_mb=, snapshot=)``
  makes a :class:`TestPC` (a :class:`hvmm.pc.PC` with test helpers) and
  closes it at teardown.  ``floppy``/``hda``: paths, or bytes (a boot
  sector or an image, zero-padded to 1.44 MB for a floppy); ``bios``: a
  path or bytes; ``snapshot``: start from a :class:`Snapshot`.
* ``hvmm_snapshot(name, setup, **machine)`` (session-scoped): builds a
  machine with those arguments once per session (per xdist worker), runs
  ``setup(pc)`` (the costly boot) and saves it; returns a
  :class:`Snapshot` that ``hvmm_machine(snapshot=...)`` restores per test.

When a test that made machines fails, its report gets each machine's text
screen and the path of a PNG screenshot (in ``--hvmm-artifacts DIR``,
default the temporary directory's ``hvmm-failures``).  Machines share no
state between tests or processes, so everything runs under pytest-xdist.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hvmm.pc import PC

FLOPPY_SIZE = 1_474_560
#: Default instruction budget of the waiting helpers (about 20 s of a 100-MIPS PC).
DEFAULT_BUDGET = 2_000_000_000


class TestPC(PC):
    """A PC with helpers for tests (all deterministic: budgets are in
    instructions, never wall time)."""

    __test__ = False        # not a test class, whatever its name says

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.serial_output = ""

    def run_slice(self, instructions: int = 20_000):
        stop = self.run(instructions)
        data = self.cpu.serial_drain()
        if data:
            self.serial_output += data.decode("latin-1")
        return stop

    def _until(self, found, what: str, max_instructions: int) -> None:
        done = 0
        while not found():
            if done >= max_instructions:
                raise AssertionError(f"{what} did not appear within {max_instructions} "
                                     f"instructions; the screen:\n{self.screen_text()}")
            stop = self.run_slice(min(20_000, max_instructions - done))
            done += stop.instructions
            if stop.reason != "limit" and not found():
                raise AssertionError(f"the guest stopped ({stop.reason}: {stop.error or ''}) "
                                     f"before {what} appeared; the screen:\n{self.screen_text()}")

    def expect_screen(self, text: str, max_instructions: int = DEFAULT_BUDGET) -> None:
        """Run until ``text`` is on the text screen (AssertionError, with the
        screen, if the guest stops or the budget runs out first)."""
        self._until(lambda: text in self.screen_text(), repr(text), max_instructions)

    def expect_serial(self, text: str, max_instructions: int = DEFAULT_BUDGET) -> None:
        """Run until ``text`` has been sent to COM1 (kept in ``serial_output``)."""
        self._until(lambda: text in self.serial_output, f"{text!r} on COM1", max_instructions)

    def type_and_run(self, keys: str) -> None:
        """Type ``keys`` and run until they have all been delivered."""
        self.type(keys)
        while self.typing:
            self.run_slice()

    def screen(self) -> str:
        return self.screen_text()


@dataclass
class Snapshot:
    """A machine saved after its setup: ``path``, and the arguments that
    build a machine it fits."""

    path: Path
    machine: dict = field(default_factory=dict)


def _disk(value, floppy: bool):
    from hvmm.disks import FloppyImage, HardDiskImage

    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        if floppy and len(data) < FLOPPY_SIZE:
            data += bytes(FLOPPY_SIZE - len(data))
        kind = FloppyImage if floppy else HardDiskImage
        return kind.from_bytes(data)
    return value


def make_machine(floppy=None, hda=None, hdb=None, bios=None, cpu="386", memory_mb=None,
                 snapshot: Snapshot | None = None, **kwargs) -> TestPC:
    """A :class:`TestPC` (what the ``hvmm_machine`` fixture makes)."""
    if snapshot is not None:
        args = dict(snapshot.machine) | {k: v for k, v in dict(
            floppy=floppy, hda=hda, hdb=hdb, bios=bios, memory_mb=memory_mb).items()
            if v is not None}
        pc = make_machine(**args)
        pc.load_state(snapshot.path)
        return pc
    if isinstance(bios, (str, os.PathLike)):
        bios = Path(bios).read_bytes()
    return TestPC(floppy=_disk(floppy, True), hda=_disk(hda, False), hdb=_disk(hdb, False),
                  bios=bios, cpu=cpu, memory_mb=memory_mb, **kwargs)


def _close(pc) -> None:
    pc.close()
    for image in getattr(pc.disk, "drives", {}).values():
        image.close()


@pytest.fixture
def hvmm_machine(request):
    """Factory: ``hvmm_machine(floppy=..., hda=..., bios=..., cpu=...)``."""
    made = []
    request.node.stash[_MACHINES] = made

    def factory(**kwargs) -> TestPC:
        pc = make_machine(**kwargs)
        made.append(pc)
        return pc

    yield factory
    for pc in made:
        _close(pc)


@pytest.fixture(scope="session")
def hvmm_snapshot(tmp_path_factory):
    """Factory: ``hvmm_snapshot(name, setup, **machine) -> Snapshot``, once
    per session (and xdist worker) for each name."""
    done: dict[str, Snapshot] = {}

    def factory(name: str, setup, **machine) -> Snapshot:
        if name not in done:
            pc = make_machine(**machine)
            try:
                setup(pc)
                path = tmp_path_factory.mktemp("hvmm-snapshots") / f"{name}.hvmmstate"
                pc.save_state(path)
            finally:
                _close(pc)
            done[name] = Snapshot(path, machine)
        return done[name]

    return factory


_MACHINES = pytest.StashKey[list]()


def pytest_addoption(parser):
    parser.addoption("--hvmm-artifacts", metavar="DIR", default=None,
                     help="hvmm.testing: where screenshots of failed tests go "
                     "(default: the temporary directory's hvmm-failures)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    machines = item.stash.get(_MACHINES, None)
    if not machines or not report.failed or report.when != "call":
        return
    folder = Path(item.config.getoption("hvmm_artifacts")
                  or Path(tempfile.gettempdir()) / "hvmm-failures")
    stem = re.sub(r"[^\w.-]+", "_", item.nodeid)[-120:]
    for i, pc in enumerate(machines, 1):
        text = pc.screen_text()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            shot = folder / f"{stem}-{i}.png"
            pc.screenshot(shot)
            text += f"\n\nscreenshot: {shot}"
        except Exception as exc:  # the report must not fail over a screenshot
            text += f"\n\n(no screenshot: {exc})"
        report.sections.append((f"hvmm machine {i}: screen at {pc.cpu.instructions} "
                                "instructions", text))
