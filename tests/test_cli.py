"""The `hvmm` command, run as a subprocess (`python -m hvmm`)."""

import os
import subprocess
import sys

import pytest

import hvmm
from shared_data import SST8086, needs_sst8086

BENCH = os.path.join(os.path.dirname(hvmm.__file__), "guests", "bench.bin")


# The subprocess imports the same hvmm as this test process: its parent
# directory goes first on PYTHONPATH, and cwd is a temporary directory.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(hvmm.__file__)))


def hvmm_cmd(*args, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "hvmm", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def lines(text):
    return [line for line in text.splitlines() if line.strip()]


def no_traceback(proc):
    assert "Traceback" not in proc.stderr + proc.stdout


BENCH_OUTPUT = "hvmm bench: checksum 93F6 8F0A\n"  # the guest's port 0xE9 text
BENCH_AT_EXIT = 10_000_902  # the write to port 0xF4 ends the run before cli; hlt


def test_exec_bench_with_stats(tmp_path):
    proc = hvmm_cmd("exec", BENCH, "--stats", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1, proc.stderr  # debug exit 0: (0 << 1) | 1
    assert proc.stdout == BENCH_OUTPUT
    assert "MIPS" in proc.stderr
    assert f"{BENCH_AT_EXIT} instructions" in proc.stderr


@pytest.mark.parametrize("cpu", ["8086", "386"])
def test_run_demo(tmp_path, cpu):
    """`hvmm run` boots the bundled demo guest (no files needed): its port
    0xE9 line and final screen on stdout, the stats table on stderr, exit 0
    because the demo ends itself through port 0xF4."""
    proc = hvmm_cmd("run", "--cpu", cpu, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("hvmm demo: ")          # the guest's port 0xE9 line
    assert "36 timer ticks in 1.977 s" in out[0]
    screen = "\n".join(out[1:])
    assert "hvmm demo" in screen and "╔" in screen
    assert "Memory     640 KB conventional" in screen
    assert "36/36 ticks" in screen
    assert ("8086/8088" if cpu == "8086" else "CPUID GenuineIntel") in screen
    err = lines(proc.stderr)
    assert err[0].startswith("hvmm: the demo ended itself (port 0xF4) after ")
    assert err[1].startswith("hvmm stats: ") and "MIPS" in err[1]
    assert f"{cpu} model" in err[1]
    assert any(line.startswith("device ") for line in err)


def test_run_demo_instruction_limit(tmp_path):
    proc = hvmm_cmd("run", "--max-instructions", "1000", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 3
    assert "the demo did not finish: instruction limit reached" in proc.stderr
    assert "hvmm stats: 1000 instructions retired" in proc.stderr


def test_invalid_opcode(tmp_path):
    image = tmp_path / "ud2.bin"
    image.write_bytes(bytes([0x90, 0x90, 0x0F, 0x0B]))  # nop; nop; ud2
    proc = hvmm_cmd("exec", image, "--cpu", "386", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1
    err = lines(proc.stderr)
    assert len(err) == 1, proc.stderr
    assert err[0].startswith("hvmm: invalid opcode at 0000:7C02 (linear 0x7C02)")
    assert "0F 0B" in err[0] and "ud2" in err[0]


def test_invalid_opcode_at_other_load_address(tmp_path):
    image = tmp_path / "bad.bin"
    image.write_bytes(bytes([0x0F, 0xFF]))  # ud0 on the 386
    proc = hvmm_cmd("exec", image, "--load-address", "1000:0100", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1
    err = lines(proc.stderr)
    assert len(err) == 1, proc.stderr
    assert "at 1000:0100 (linear 0x10100)" in err[0]
    assert "0F FF" in err[0]


def test_halt(tmp_path):
    image = tmp_path / "halt.bin"
    image.write_bytes(bytes([0xFA, 0xF4]))  # cli; hlt
    proc = hvmm_cmd("exec", image, "--cpu", "8086", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert len(lines(proc.stderr)) == 1


def test_halt_with_interrupts_enabled(tmp_path):
    image = tmp_path / "sti_hlt.bin"
    image.write_bytes(bytes([0xFB, 0xF4]))  # sti; hlt
    proc = hvmm_cmd("exec", image, cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert "interrupts enabled" in proc.stderr


@pytest.mark.parametrize("cpu", ["8086", "386"])
def test_max_instructions(tmp_path, cpu):
    image = tmp_path / "loop.bin"
    image.write_bytes(bytes([0xEB, 0xFE]))  # jmp $
    proc = hvmm_cmd(
        "exec", image, "--cpu", cpu, "--max-instructions", "3000000", "--stats",
        cwd=tmp_path,
    )
    no_traceback(proc)
    assert proc.returncode == 3
    err = lines(proc.stderr)
    assert err[0] == (
        "hvmm: instruction limit reached: 3000000 instructions, "
        "stopped at 0000:7C00"
    )
    assert "3000000 instructions retired" in err[1]


def test_missing_file(tmp_path):
    proc = hvmm_cmd("exec", tmp_path / "nope.bin", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert lines(proc.stderr) == [f"hvmm: {tmp_path / 'nope.bin'}: no such file"]
    assert proc.stdout == ""


@pytest.mark.parametrize("kind", ["empty", "directory", "too_large"])
def test_unloadable_file(tmp_path, kind):
    path = tmp_path / kind
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(bytes(0x100000))  # 1 MiB does not fit above 0x7C00
    proc = hvmm_cmd("exec", path, "--cpu", "8086", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert len(lines(proc.stderr)) == 1, proc.stderr


def test_bad_load_address(tmp_path):
    proc = hvmm_cmd("exec", BENCH, "--load-address", "12345", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2


def test_no_command(tmp_path):
    proc = hvmm_cmd(cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "exec" in proc.stderr


def test_main_in_process(capsys):
    """main() returns the status rather than exiting, for the console script."""
    from hvmm.cli import main

    assert main(["exec", BENCH, "--cpu", "8086"]) == 1  # debug exit 0
    out, err = capsys.readouterr()
    assert out.replace("\r\n", "\n") == BENCH_OUTPUT
    assert f"{BENCH_AT_EXIT} instructions" in err


def test_parse_seg_off():
    from hvmm.cli import parse_seg_off

    assert parse_seg_off("0000:7C00") == (0, 0x7C00)
    assert parse_seg_off("0x1000:0x0100") == (0x1000, 0x100)
    assert parse_seg_off("F000h:FFF0h") == (0xF000, 0xFFF0)


@needs_sst8086
def test_conformance_command(tmp_path):
    proc = hvmm_cmd("conformance", SST8086, "--cpu", "8086", "--filter", "00",
                    "--no-progress", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lines(proc.stdout)[-1] == "250 passed, 0 failed, 0 skipped"


def test_conformance_missing_directory(tmp_path):
    proc = hvmm_cmd("conformance", tmp_path / "nope", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
