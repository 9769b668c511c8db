"""Snapshots (hvmm/snapshot.py): Machine.save_state/load_state and
`hvmm boot --save-state/--load-state`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hvmm.commands.execute import build_machine
from hvmm.devices import PortDevice
from hvmm.disks import FloppyImage
from hvmm.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
GUEST = (REPO / "hvmm" / "guests" / "debug_demo.bin").read_bytes()


def test_freedos_saved_at_the_prompt_runs_on_in_a_new_process(hvmm_cmd, freedos, tmp_path):
    """Boot to A:\\>, save; a new process loads it, types ver: the same
    screen and instruction count as one uninterrupted run."""
    def boot(*args, name):
        proc = hvmm_cmd("boot", freedos, "--headless", *args, "--stats-json",
                        tmp_path / f"{name}.json", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout, json.loads((tmp_path / f"{name}.json").read_text())["instructions"]

    state = tmp_path / "prompt.hvmmstate"
    whole_screen, whole = boot("--wait", "A:\\>", "--type", "ver\\r", "--wait", "A:\\>",
                               "--print-screen", name="whole")
    _, first = boot("--wait", "A:\\>", "--save-state", state, name="first")
    screen, second = boot("--load-state", state, "--type", "ver\\r", "--wait", "A:\\>",
                          "--print-screen", name="second")
    assert "FreeCom version" in screen
    assert screen == whole_screen
    assert first + second == whole


def test_round_trip_in_process(tmp_path):
    whole = build_machine(GUEST)
    whole.run()
    first = build_machine(GUEST)
    first.run(20)
    first.save_state(tmp_path / "s")
    second = build_machine(b"\0" * 512)             # the image comes from the snapshot
    second.load_state(tmp_path / "s")
    stop = second.run()
    assert stop.reason == "debug_exit" and stop.value == 5
    assert second.cpu.instructions == whole.cpu.instructions == 52
    assert second.cpu.get_cpu_state() == whole.cpu.get_cpu_state()
    assert bytes(second.cpu.memory) == bytes(whole.cpu.memory)
    assert second.cpu.video_state() == whole.cpu.video_state()  # (raw kernel bytes hold pointers)


@pytest.mark.parametrize("damage", ["truncate", "format", "magic", "layout"])
def test_bad_files_are_one_line_errors(tmp_path, damage):
    m = build_machine(GUEST)
    path = tmp_path / "s"
    m.save_state(path)
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) // 2]
    elif damage == "format":
        blob[8] = 99
    elif damage == "magic":
        blob[0:8] = b"NOTSNAP!"
    path.write_bytes(bytes(blob))
    other = build_machine(GUEST, memory_mib=2) if damage == "layout" else build_machine(GUEST)
    with pytest.raises(ConfigError) as exc:
        other.load_state(path)
    message = str(exc.value)
    assert "\n" not in message
    assert {"truncate": "truncated", "format": "format 99", "magic": "not an hvmm snapshot",
            "layout": "this machine is a 386 with 2 MiB"}[damage] in message


def test_cli_load_state_error(hvmm_cmd, tmp_path, no_traceback):
    (tmp_path / "bad").write_bytes(b"HVMMSNAP\x01\0\0\0\x04\0me")
    floppy = tmp_path / "f.img"
    floppy.write_bytes(GUEST + bytes(1474560 - len(GUEST)))
    proc = hvmm_cmd("boot", floppy, "--headless", "--load-state", tmp_path / "bad", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("truncated or damaged snapshot")
    assert len(proc.stderr.splitlines()) == 1
    no_traceback(proc)


class Stateless(PortDevice):
    name = "stateless-widget"
    ports = [(0x300, 0x301)]


class Counter(PortDevice):
    name = "counter"
    ports = [(0x310, 0x310)]

    def __init__(self):
        self.value = 0

    def io_write(self, port, size, value):
        self.value += value

    def get_state(self):
        return {"value": self.value, "blob": b"\x00\xff"}

    def set_state(self, state):
        assert state["blob"] == b"\x00\xff"
        self.value = state["value"]


def test_python_devices_state_protocol(tmp_path):
    m = build_machine(GUEST, devices=[Counter()])
    m.device("counter").value = 7
    m.save_state(tmp_path / "s")
    n = build_machine(GUEST, devices=[Counter()])
    n.load_state(tmp_path / "s")
    assert n.device("counter").value == 7
    bad = build_machine(GUEST, devices=[Stateless()])
    with pytest.raises(ConfigError, match=r"device 'stateless-widget' \(Stateless\) has no get_state"):
        bad.save_state(tmp_path / "t")


def test_disk_overlay_saved_and_reverted(tmp_path):
    from hvmm.pc import PC

    path = tmp_path / "f.img"
    path.write_bytes(bytes(1474560))
    pc = PC(floppy=FloppyImage(path))
    image = pc.disk.drives[0]
    image.write(5, b"A" * 512)
    pc.save_state(tmp_path / "s")
    image.write(6, b"B" * 512)                      # after the snapshot
    pc.load_state(tmp_path / "s")
    assert image.read(5, 1) == b"A" * 512 and image.read(6, 1) == bytes(512)
    fresh = PC(floppy=FloppyImage(path))
    fresh.load_state(tmp_path / "s")
    assert fresh.disk.drives[0].read(5, 1) == b"A" * 512
    assert path.read_bytes() == bytes(1474560)      # the image file is untouched


def test_cpu_state_carries_protected_mode():
    # the CPL, the LDTR and TR caches and the exception counters survive a
    # JSON round trip into another machine
    m = build_machine(GUEST)
    state = json.loads(json.dumps(m.cpu.get_cpu_state()))
    state["cr"][0] |= 1
    state["seg"][3] = [0x10, 0x1000, 0xFFF, 0x4091]         # DS: read-only data
    state["pm"].update(cpl=3, ldtr=[0x28, 0x8000, 0x27, 0x82], tr=[0x30, 0x9000, 0x67, 0x8B],
                       mode_switches=2)
    state["pm"]["exc_by_vec"][13] = 4
    other = build_machine(GUEST)
    other.cpu.set_cpu_state(state)
    again = json.loads(json.dumps(other.cpu.get_cpu_state()))
    assert again["pm"] == state["pm"] and again["seg"] == state["seg"]
    assert again == state
