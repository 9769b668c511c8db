"""Device plugins: --device specs, the hvmm.devices entry points, and the
example plugin (examples/hvmm-example-device) installed with pip and used
through `hvmm exec --device`.

The example is installed with `pip install --target` into a temporary
directory (never into the running environment), which then goes on the
subprocess's PYTHONPATH: the entry point is found through the installed
.dist-info there, exactly as for a normal install.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hvmm
from hvmm.devices import PortDevice
from hvmm.errors import ConfigError
from hvmm.plugins import create_device, parse_device_spec, parse_value
from hvmm.status import ExitStatus

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hvmm-example-device"
DEMO_GUEST = EXAMPLE / "guest" / "counter-demo.bin"
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(hvmm.__file__)))

DEMO_OUTPUT = [
    "counter: 00 01 02",
    "block: 03 04 05 06 07 08 09 0A",
    "interrupts: 02 status: 02",
]
DEMO_STATUS = 5  # the guest writes 2 (interrupts handled) to port 0xF4


# ---- spec parsing -------------------------------------------------------------


@pytest.mark.parametrize("text, value", [
    ("0x510", 0x510), ("0X1f", 0x1F), ("42", 42), ("-3", -3), ("0b101", 5), ("0o17", 0o17),
    ("1_000", 1000), ("010", 10), ("2.5", 2.5), ("1e3", 1000.0),
    ("true", True), ("False", False), ("yes", True), ("NO", False),
    ("com1", "com1"), ("", ""), ("'7'", "7"), ('"a,b"', "a,b"), ("inf", "inf"), ("0x", "0x"),
])
def test_parse_value(text, value):
    got = parse_value(text)
    assert got == value and type(got) is type(value)


def test_parse_device_spec():
    assert parse_device_spec("pkg.mod:Cls") == ("pkg.mod:Cls", {})
    assert parse_device_spec("pkg.mod:Outer.Inner,port=0x520,irq=7,label='x,y',fast=yes") == (
        "pkg.mod:Outer.Inner", {"port": 0x520, "irq": 7, "label": "x,y", "fast": True},
    )
    assert parse_device_spec("example-counter,interval-us=250") == (
        "example-counter", {"interval_us": 250},
    )


@pytest.mark.parametrize("spec, message", [
    ("", "empty device spec"),
    (",port=1", "no device before the options"),
    ("pkg:Cls,port", "bad device option 'port'"),
    ("pkg:Cls,=3", "bad device option '=3'"),
    ("pkg:Cls,port=1,port=2", "given twice"),
    ("pkg:Cls,name='x", "unterminated quote"),
    ("pkg:", "expected package.module:Class"),
    ("a b", "expected package.module:Class"),
])
def test_bad_specs(spec, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_device_spec(spec)
    assert "\n" not in str(info.value)


class Knob(PortDevice):
    """A device for create_device(): options become keyword arguments."""

    ports = [0x520]

    def __init__(self, port=0x520, gain=1.0, label="k", on=False):
        if port < 0:
            raise ValueError("negative port")
        self.ports = [port]
        self.options = (port, gain, label, on)


def test_create_device_from_module_path():
    dev = create_device("test_plugin:Knob,port=0x530,gain=0.5,label=left,on=true")
    assert isinstance(dev, Knob)
    assert dev.options == (0x530, 0.5, "left", True)
    assert dev.name == "Knob"


@pytest.mark.parametrize("spec, message", [
    ("no_such_module_xyz:Dev", r"^device 'no_such_module_xyz:Dev': cannot import no_such_module_xyz: no module named 'no_such_module_xyz'$"),
    ("test_plugin:Nope", r"^device 'test_plugin:Nope': test_plugin has no 'Nope'$"),
    ("test_plugin:Knob,volume=3", r"^device 'test_plugin:Knob': got an unexpected keyword argument 'volume' \(options: port, gain, label, on\)$"),
    ("test_plugin:Knob,port=-1", r"^device 'test_plugin:Knob': ValueError: negative port$"),
    ("test_plugin:DEMO_STATUS", r"is not a class"),
    ("os.path:join", r"^device 'os.path:join': missing a required argument: 'a' \(options: a\)$"),
    ("test_plugin:NotADevice", r"^device 'test_plugin:NotADevice': NotADevice is not an hvmm device"),
    ("definitely-not-installed", r"^unknown device 'definitely-not-installed': not package.module:Class and not an installed 'hvmm.devices' entry point \(available: "),
])
def test_create_device_errors(spec, message):
    with pytest.raises(ConfigError, match=message) as info:
        create_device(spec)
    assert "\n" not in str(info.value)


class NotADevice:
    pass


def test_entry_point_lookup(monkeypatch):
    from importlib.metadata import EntryPoint

    import hvmm.plugins as plugins

    eps = {
        "knob": EntryPoint("knob", "test_plugin:Knob", "hvmm.devices"),
        "broken": EntryPoint("broken", "test_plugin:Missing", "hvmm.devices"),
    }
    monkeypatch.setattr(plugins, "device_entry_points", lambda: eps)
    dev = create_device("knob,port=0x540")
    assert isinstance(dev, Knob) and dev.options[0] == 0x540
    assert dev.name == "knob"  # the entry point's name
    with pytest.raises(ConfigError, match=r"^device 'broken' \(test_plugin:Missing\): test_plugin has no 'Missing'$"):
        create_device("broken")
    with pytest.raises(ConfigError, match=r"\(available: broken, knob\)$"):
        create_device("other")


# ---- the example plugin, installed with pip, through the command line ----------


def run_hvmm(*args, cwd, extra_path=()):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (PACKAGE_PARENT, *map(str, extra_path), env.get("PYTHONPATH")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "hvmm", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def example_site(tmp_path_factory):
    """examples/hvmm-example-device pip-installed into a temporary --target."""
    work = tmp_path_factory.mktemp("plugin")
    src = work / "src"
    # Build from a copy: pip builds in place and would leave build/ and
    # *.egg-info in the repository.
    shutil.copytree(EXAMPLE, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site"
    base = [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
            "--disable-pip-version-check", "--target", str(target), str(src)]
    # Offline first: the setuptools already installed builds it.
    proc = subprocess.run(base[:4] + ["--no-build-isolation"] + base[4:],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        proc = subprocess.run(base, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(target.glob("hvmm_example_device-*.dist-info"))
    return target


def stats_rows(stderr):
    """The --stats table rows as lists of cells, by device and path."""
    rows = {}
    for line in stderr.splitlines():
        cells = line.split()
        if len(cells) >= 4 and cells[1] in ("python", "in-kernel", "timer", "unclaimed"):
            rows[(cells[0], cells[1])] = cells
    return rows


def check_demo_run(proc):
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == DEMO_STATUS, proc.stderr
    assert proc.stdout.replace("\r\n", "\n").splitlines() == DEMO_OUTPUT
    rows = stats_rows(proc.stderr)
    # 3 INs, 1 REP INSB block, 2 commands, 1 status read: 7 exits to Python.
    python = rows[("example-counter", "python")]
    assert python[2] == "0x510-0x511" and python[3] == "7", proc.stderr
    assert rows[("example-counter", "timer")][2] == "1"
    assert "exits to Python: io 7" in proc.stderr
    assert "instructions retired" in proc.stderr and "MIPS" in proc.stderr


def test_example_through_its_entry_point(example_site, tmp_path):
    proc = run_hvmm("exec", DEMO_GUEST, "--device", "example-counter", "--stats",
                    cwd=tmp_path, extra_path=[example_site])
    check_demo_run(proc)


def test_example_through_its_module_path(example_site, tmp_path):
    proc = run_hvmm("exec", DEMO_GUEST, "--device", "hvmm_example_device:CounterDevice",
                    "--stats", cwd=tmp_path, extra_path=[example_site])
    check_demo_run(proc)


def test_devices_command_lists_the_example(example_site, tmp_path):
    proc = run_hvmm("devices", cwd=tmp_path, extra_path=[example_site])
    assert proc.returncode == 0, proc.stderr
    assert any(
        line.split()[:2] == ["example-counter", "hvmm_example_device:CounterDevice"]
        for line in proc.stdout.splitlines()
    ), proc.stdout


def test_example_options(example_site, tmp_path):
    # On another port the demo guest finds an empty bus (reads are all
    # ones) and waits in HLT for an interrupt nothing will raise: the run
    # ends there.
    proc = run_hvmm("exec", DEMO_GUEST, "--device", "example-counter,port=0x520,irq=7",
                    "--stats", cwd=tmp_path, extra_path=[example_site])
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stderr
    assert "HLT with interrupts enabled" in proc.stderr
    assert proc.stdout.splitlines()[0].strip() == "counter: FF FF FF"
    row = stats_rows(proc.stderr)[("example-counter", "python")]
    assert row[2:4] == ["0x520-0x521", "0"]
    assert stats_rows(proc.stderr)[("(none)", "unclaimed")][2] != "0"


@pytest.mark.parametrize("args, message", [
    (["--device", "example-counter", "--device", "example-counter"],
     "hvmm: devices 'example-counter' and 'example-counter#2' both claim port 0x0510"),
    (["--device", "example-counter,irq=4"],
     "hvmm: device 'example-counter': IRQ 4 is taken by the in-kernel COM1 UART"),
    (["--device", "example-counter,colour=red"],
     "hvmm: device 'example-counter': got an unexpected keyword argument 'colour' "
     "(options: port, irq, interval_us, start)"),
    (["--device", "no-such-device"],
     "hvmm: unknown device 'no-such-device': not package.module:Class and not an "
     "installed 'hvmm.devices' entry point (available: example-counter)"),
])
def test_device_errors_are_one_line(example_site, tmp_path, args, message):
    proc = run_hvmm("exec", DEMO_GUEST, *args, cwd=tmp_path, extra_path=[example_site])
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [message]


def test_failing_device_is_one_line(tmp_path):
    plugin = tmp_path / "faulty_dev.py"
    plugin.write_text(
        "from hvmm.devices import PortDevice\n"
        "class Faulty(PortDevice):\n"
        "    name = 'faulty'\n"
        "    ports = [0x511]\n"
        "    def io_read(self, port, size):\n"
        "        return {}[port]\n"
    )
    proc = run_hvmm("exec", DEMO_GUEST, "--device", "faulty_dev:Faulty",
                    cwd=tmp_path, extra_path=[tmp_path])
    assert proc.returncode == ExitStatus.DEVICE_ERROR
    err = proc.stderr.splitlines()
    assert err == [
        "hvmm: device 'faulty' failed on IN port 0x0511 (size 1): KeyError: 1297 "
        "(faulty_dev.py:6 in io_read)"
    ], proc.stderr


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm not installed")
def test_demo_guest_is_built_from_its_source(tmp_path):
    out = tmp_path / "counter-demo.bin"
    subprocess.run(["nasm", "-f", "bin", "-w+all", "-o", str(out),
                    str(EXAMPLE / "guest" / "counter-demo.asm")], check=True)
    assert out.read_bytes() == DEMO_GUEST.read_bytes(), "rebuild guest/counter-demo.bin"
