"""Snapshots (hvmm/snapshot.py): Machine.save_state/load_state and
`hvmm boot --save-state/--load-state`."""

from __future__ import annotations

import io
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
    from hvmm.snapshot import FORMAT

    (tmp_path / "bad").write_bytes(b"HVMMSNAP" + FORMAT.to_bytes(4, "little") + b"\x04\0me")
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


# ---- protected mode with paging -------------------------------------------------------

PM_GUESTS = {
    # name: (image, instructions before the save, CPL then)
    "bench32": ("bench32.bin", 4_000_000, 0),       # the paged flat 32-bit loop
    "debug_pm": ("debug_pm.bin", 8_226, 0),         # higher-half loop, pi on the x87
    "pm_paging": ("pm/pm_paging.bin", 31_300, 3),   # #PFs, A/D bits, CR3, PSE, PGE
    "pm_rings": ("pm/pm_rings.bin", 1_850, 3),      # ring 3, call gates, TSS
}


def run_to_end(machine):
    machine.debug_stream = out = io.StringIO()
    stop = machine.run(50_000_000)
    return stop, out.getvalue()


@pytest.mark.parametrize("name", sorted(PM_GUESTS))
def test_protected_mode_saved_mid_run_runs_on_identically(tmp_path, name):
    """A protected-mode guest saved mid-run and loaded into a fresh machine
    ends with the output, instruction count, CPU state (control and table
    registers, segment and LDTR/TR caches, CPL, x87, MSRs) and memory of
    the uninterrupted run."""
    from hvmm.commands.execute import enter_flat_protected

    file, budget, cpl = PM_GUESTS[name]
    image = (REPO / "hvmm" / "guests" / file).read_bytes()

    def machine():
        if name == "debug_pm":                      # exec --protected
            m = build_machine(b"\x90")
            enter_flat_protected(m, image)
        else:                                       # boot sectors (exec --deliver-ud)
            m = build_machine(image)
            m.cpu.invalid_opcode_exits = False
        return m

    whole = machine()
    stop, text = run_to_end(whole)
    assert stop.reason == "debug_exit", stop
    first = machine()
    first.debug_stream = first_text = io.StringIO()
    assert first.run(budget).reason == "limit"
    assert first.cpu.protected_mode and first.cpu.cpl == cpl
    assert first.cpu.cr0 >> 31 or name == "pm_rings"        # paging on
    first.save_state(tmp_path / "s")
    second = build_machine(b"\0" * 512)
    second.load_state(tmp_path / "s")
    stop2, rest = run_to_end(second)
    assert (stop2.reason, stop2.value) == (stop.reason, stop.value)
    assert first_text.getvalue() + rest == text
    assert second.cpu.instructions == whole.cpu.instructions
    assert second.cpu.get_cpu_state() == whole.cpu.get_cpu_state()
    assert bytes(second.cpu.memory) == bytes(whole.cpu.memory)
    if name == "debug_pm":                          # 5 pi, from the x87 state saved
        assert second.cpu.read_linear(0xC0004004, 4) == (16).to_bytes(4, "little")


def test_cli_protected_mode_guest_saved_and_loaded_in_a_new_process(hvmm_cmd, tmp_path,
                                                                     write_floppy):
    """bench32 booted by the BIOS, stopped by --max-instructions inside its
    paged loop and saved; a new process loads it and runs to the end: the
    output and the instruction count of one uninterrupted run."""
    floppy = write_floppy(tmp_path / "b32.img", (REPO / "hvmm/guests/bench32.bin").read_bytes())

    def boot(*args, name):
        proc = hvmm_cmd("boot", floppy, "--headless", *args, "--stats-json",
                        tmp_path / f"{name}.json", cwd=tmp_path)
        stats = json.loads((tmp_path / f"{name}.json").read_text())
        return proc, stats["instructions"]

    state = tmp_path / "mid.hvmmstate"
    whole, count = boot(name="whole")              # it writes 0 to port 0xF4: status 1
    assert whole.returncode == 1 and "hvmm bench32: checksum" in whole.stdout, whole.stderr
    first, part1 = boot("--max-instructions", "5000000", "--save-state", state, name="first")
    assert first.returncode == 10 and first.stdout == "", first.stderr
    second, part2 = boot("--load-state", state, name="second")
    assert second.returncode == 1, second.stderr
    assert second.stdout == whole.stdout
    assert part1 + part2 == count
