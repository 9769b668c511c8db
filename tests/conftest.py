"""Shared fixtures, data paths and options of the test suite.

Test modules get their helpers from here, as fixtures, never by importing
another test module:

* ``hvmm_cmd(*args, cwd=...)``: run ``python -m hvmm`` as a subprocess
  (when the process itself is the point: exit codes of the real command,
  terminals, signals, output to a closed or full stdout);
  ``hvmm_popen`` the same without waiting; ``hvmm_main(*args)`` runs
  ``hvmm.cli.main`` in-process, returning ``(status, stdout, stderr)``;
* ``no_traceback(proc)``: assert that a run printed no traceback;
* ``freedos``: ../shared/images/freedos.img (the test skips without it);
* ``write_floppy(path, data)``: a 1.44 MB floppy image from a boot sector;
* ``pic``: program the in-kernel 8259As as a BIOS does, take interrupts;
* ``fake``: the scripted stand-in core (``fake.Cpu``, ``fake.Exit``) and
  recording devices (tests/fakes.py).

``--run-slow`` runs the tests marked ``slow`` (skipped by default).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import hvmm

REPO = Path(__file__).resolve().parents[1]
#: Read-only data beside the checkout (conformance suites, disk images), or
#: the directory HVMM_SHARED names (README, "Test data").
SHARED = Path(os.environ.get("HVMM_SHARED") or REPO.parent / "shared")
FREEDOS = SHARED / "images" / "freedos.img"
SST8086 = SHARED / "conformance" / "sst8086"
#: The directory the subprocesses import hvmm from: this checkout's.
PACKAGE_PARENT = str(Path(hvmm.__file__).resolve().parents[1])
GUESTS = Path(hvmm.__file__).resolve().parent / "guests"
FLOPPY_144 = 1_474_560


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (long-running suites)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: a long-running suite; run it with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# ---- the command ------------------------------------------------------------------------

def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    env.pop("HVMM_DEBUG", None)
    return env


def run_hvmm(*args, cwd, timeout=300, **kwargs):
    return subprocess.run([sys.executable, "-m", "hvmm", *map(str, args)], cwd=cwd,
                          env=_env(), capture_output=True, text=True, timeout=timeout, **kwargs)


@pytest.fixture
def hvmm_env():
    """The environment for a subprocess that imports this checkout's hvmm."""
    return _env()


@pytest.fixture
def hvmm_cmd():
    """``hvmm_cmd(*args, cwd=DIR)``: ``python -m hvmm ARGS`` with this
    checkout's hvmm; a CompletedProcess with text stdout and stderr."""
    return run_hvmm


@pytest.fixture
def hvmm_popen():
    def popen(*args, cwd, **kwargs):
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        kwargs.setdefault("text", True)
        return subprocess.Popen([sys.executable, "-m", "hvmm", *map(str, args)],
                                cwd=cwd, env=_env(), **kwargs)

    return popen


@pytest.fixture
def hvmm_main(capsys, monkeypatch):
    """``hvmm_main(*args)``: ``hvmm.cli.main`` in this process; returns
    ``(status, stdout, stderr)``."""
    from hvmm.cli import main

    monkeypatch.delenv("HVMM_DEBUG", raising=False)

    def run(*args):
        capsys.readouterr()
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def _no_traceback(proc):
    out = proc.stdout + proc.stderr
    if isinstance(out, bytes):
        out = out.decode("latin-1")
    assert "Traceback" not in out, out


@pytest.fixture
def no_traceback():
    return _no_traceback


# ---- data -------------------------------------------------------------------------------

@pytest.fixture
def freedos():
    """The FreeDOS floppy image from ../shared (skips the test without it)."""
    if not FREEDOS.is_file():
        pytest.skip(f"needs the FreeDOS 1.44 MB boot floppy: {FREEDOS} not found "
                    "(the ../shared test data, see README 'Test data'; HVMM_SHARED=DIR looks elsewhere)")
    return FREEDOS


@pytest.fixture
def sst8086():
    """The SingleStepTests 8086 suite from ../shared (skips without it)."""
    if not (SST8086 / "metadata.json").is_file():
        pytest.skip(f"needs the SingleStepTests 8086 CPU tests: {SST8086} not found "
                    "(the ../shared test data, see README 'Test data'; HVMM_SHARED=DIR looks elsewhere)")
    return SST8086


def _write_floppy(path, data):
    path = Path(path)
    path.write_bytes(bytes(data).ljust(FLOPPY_144, b"\0"))
    return path


@pytest.fixture
def write_floppy():
    """``write_floppy(path, data)``: ``data`` at the start of a 1.44 MB image."""
    return _write_floppy


# ---- devices ----------------------------------------------------------------------------

class Pic:
    """The firmware-style setup device tests share: the two 8259As
    programmed as a PC BIOS does, and taking an interrupt as a CPU would."""

    @staticmethod
    def init(cpu, unmasked=()):
        """ICW1-4 for the AT pair (master at vector 0x08, slave at 0x70,
        slave on IRQ 2), then unmask only the IRQs listed (IRQ 2 too if any
        is on the slave)."""
        for port, base, icw3 in ((0x20, 0x08, 0x04), (0xA0, 0x70, 0x02)):
            cpu.io_write(port, 1, 0x11)         # ICW1: edge, cascade, ICW4 follows
            cpu.io_write(port + 1, 1, base)     # ICW2: vector base
            cpu.io_write(port + 1, 1, icw3)     # ICW3: cascade wiring
            cpu.io_write(port + 1, 1, 0x01)     # ICW4: 8086 mode, normal EOI
        irqs = set(unmasked)
        if any(irq >= 8 for irq in irqs):
            irqs.add(2)
        cpu.io_write(0x21, 1, 0xFF & ~sum(1 << i for i in irqs if i < 8))
        cpu.io_write(0xA1, 1, 0xFF & ~sum(1 << (i - 8) for i in irqs if i >= 8))

    @staticmethod
    def take_interrupt(cpu):
        """INTA plus the handler's EOI; returns the vector, or None."""
        if not cpu.interrupt_pending():
            return None
        vec = cpu.acknowledge_interrupt()
        if vec >= 0x70:
            cpu.io_write(0xA0, 1, 0x20)
        cpu.io_write(0x20, 1, 0x20)
        return vec


@pytest.fixture
def pic():
    return Pic


@pytest.fixture
def fake():
    """The fakes of tests/fakes.py: ``fake.Cpu(script)`` (a scripted
    stand-in for ``hvmm._core.Cpu``), ``fake.Exit(reason, ...)``, the
    recording devices ``fake.Recorder``, ``fake.BlockRecorder``,
    ``fake.IrqDevice`` (on ``fake.PORT``) and ``fake.python_row(stats,
    device)``."""
    import fakes

    return SimpleNamespace(Cpu=fakes.FakeCpu, Exit=fakes.FakeExit, PORT=fakes.PORT,
                           Recorder=fakes.Recorder, BlockRecorder=fakes.BlockRecorder,
                           IrqDevice=fakes.IrqDevice, python_row=fakes.python_row)

