"""The `hvmm` command: exec, run, conformance; in-process through
hvmm.cli.main (the ``hvmm_main`` fixture) unless the process itself is the
point (the bench acceptance command, the console script's exit status)."""

import os

import pytest

import hvmm
from hvmm.status import ExitStatus

BENCH = os.path.join(os.path.dirname(hvmm.__file__), "guests", "bench.bin")


def lines(text):
    return [line for line in text.splitlines() if line.strip()]


BENCH_OUTPUT = "hvmm bench: checksum 93F6 8F0A\n"  # the guest's port 0xE9 text
BENCH_AT_EXIT = 10_003_422  # the write to port 0xF4 ends the run before cli; hlt
# (a REP iteration counts as one instruction)


def test_exec_bench_with_stats(tmp_path, hvmm_cmd, no_traceback):
    """The README's benchmark, as a real process: the guest's own status."""
    proc = hvmm_cmd("exec", BENCH, "--stats", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1, proc.stderr  # the guest wrote 0 to port 0xF4: (0 << 1) | 1
    assert proc.stdout == BENCH_OUTPUT
    assert "MIPS" in proc.stderr
    assert f"{BENCH_AT_EXIT} instructions" in proc.stderr


@pytest.mark.parametrize("cpu", ["8086", "386"])
def test_run_demo(hvmm_main, cpu):
    """`hvmm run` boots the bundled demo guest (no files needed): its port
    0xE9 line and final screen on stdout, the stats table on stderr, exit 0
    because the demo ends itself through port 0xF4."""
    status, out, err = hvmm_main("run", "--cpu", cpu)
    assert status == ExitStatus.OK, err
    out = out.splitlines()
    assert out[0].startswith("hvmm demo: ")          # the guest's port 0xE9 line
    assert "36 timer ticks in 1.977 s" in out[0]
    screen = "\n".join(out[1:])
    assert "hvmm demo" in screen and "╔" in screen
    assert "Memory     640 KB conventional" in screen
    assert "36/36 ticks" in screen
    assert ("8086/8088" if cpu == "8086" else "CPUID GenuineIntel") in screen
    err = lines(err)
    assert err[0].startswith("hvmm: the demo ended itself (port 0xF4) after ")
    assert err[1].startswith("hvmm stats: ") and "MIPS" in err[1]
    assert f"{cpu} model" in err[1]
    assert any(line.startswith("device ") for line in err)


def test_run_demo_instruction_limit(hvmm_main):
    status, out, err = hvmm_main("run", "--max-instructions", "1000")
    assert status == ExitStatus.LIMIT
    assert "the demo did not finish: instruction limit reached" in err
    assert "hvmm stats: 1000 instructions retired" in err


def test_invalid_opcode(tmp_path, hvmm_main):
    image = tmp_path / "ud2.bin"
    image.write_bytes(bytes([0x90, 0x90, 0x0F, 0x0B]))  # nop; nop; ud2
    status, out, err = hvmm_main("exec", image, "--cpu", "386")
    assert status == ExitStatus.GUEST_FAULT
    err = lines(err)
    assert len(err) == 1, err
    assert err[0].startswith("hvmm: invalid opcode at 0000:7C02 (linear 0x7C02, real mode)")
    assert "0F 0B" in err[0] and "ud2" in err[0]


def test_invalid_opcode_at_other_load_address(tmp_path, hvmm_main):
    image = tmp_path / "bad.bin"
    image.write_bytes(bytes([0x0F, 0xFF]))  # ud0 on the 386
    status, out, err = hvmm_main("exec", image, "--load-address", "1000:0100")
    assert status == ExitStatus.GUEST_FAULT
    err = lines(err)
    assert len(err) == 1, err
    assert "at 1000:0100 (linear 0x10100, real mode)" in err[0]
    assert "0F FF" in err[0]


def test_halt(tmp_path, hvmm_main):
    image = tmp_path / "halt.bin"
    image.write_bytes(bytes([0xFA, 0xF4]))  # cli; hlt
    status, out, err = hvmm_main("exec", image, "--cpu", "8086")
    assert status == ExitStatus.OK, err
    assert lines(err) == ["hvmm: guest halted with interrupts off at 0000:7C02 after 2 instructions"]


def test_halt_with_interrupts_enabled(tmp_path, hvmm_main):
    image = tmp_path / "sti_hlt.bin"
    image.write_bytes(bytes([0xFB, 0xF4]))  # sti; hlt
    status, out, err = hvmm_main("exec", image)
    assert status == ExitStatus.OK, err
    assert "interrupts enabled" in err


@pytest.mark.parametrize("cpu", ["8086", "386"])
def test_max_instructions(tmp_path, hvmm_main, cpu):
    image = tmp_path / "loop.bin"
    image.write_bytes(bytes([0xEB, 0xFE]))  # jmp $
    status, out, err = hvmm_main("exec", image, "--cpu", cpu, "--max-instructions", "3000000",
                                 "--stats")
    assert status == ExitStatus.LIMIT
    err = lines(err)
    assert err[0] == ("hvmm: instruction limit reached: 3000000 instructions, "
                      "stopped at 0000:7C00")
    assert "3000000 instructions retired" in err[1]


def test_missing_file(tmp_path, hvmm_main):
    status, out, err = hvmm_main("exec", tmp_path / "nope.bin")
    assert status == ExitStatus.USAGE
    assert lines(err) == [f"hvmm: {tmp_path / 'nope.bin'}: no such file"]
    assert out == ""


@pytest.mark.parametrize("kind", ["empty", "directory", "too_large"])
def test_unloadable_file(tmp_path, hvmm_main, kind):
    path = tmp_path / kind
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(bytes(0x100000))  # 1 MiB does not fit above 0x7C00
    status, out, err = hvmm_main("exec", path, "--cpu", "8086")
    assert status == ExitStatus.USAGE
    assert len(lines(err)) == 1, err


def test_bad_load_address(hvmm_main):
    status, out, err = hvmm_main("exec", BENCH, "--load-address", "12345")
    assert status == ExitStatus.USAGE
    assert "bad address" in err


def test_no_command(tmp_path, hvmm_cmd, no_traceback):
    proc = hvmm_cmd(cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "exec" in proc.stderr


def test_main_in_process(hvmm_main):
    """main() returns the status rather than exiting, for the console script."""
    status, out, err = hvmm_main("exec", BENCH, "--cpu", "8086")
    assert status == 1  # the guest's debug exit 0
    assert out.replace("\r\n", "\n") == BENCH_OUTPUT
    assert f"{BENCH_AT_EXIT} instructions" in err


def test_parse_seg_off():
    from hvmm.cli import parse_seg_off

    assert parse_seg_off("0000:7C00") == (0, 0x7C00)
    assert parse_seg_off("0x1000:0x0100") == (0x1000, 0x100)
    assert parse_seg_off("F000h:FFF0h") == (0xF000, 0xFFF0)


def test_conformance_command(hvmm_main, sst8086):
    status, out, err = hvmm_main("conformance", sst8086, "--cpu", "8086", "--filter", "00",
                                 "--no-progress")
    assert status == 0, out + err
    assert lines(out)[-1] == "250 passed, 0 failed, 0 skipped"


def test_conformance_missing_directory(tmp_path, hvmm_main):
    """Its errors are one `hvmm:` line on stderr, like every command's."""
    status, out, err = hvmm_main("conformance", tmp_path / "nope")
    assert status == ExitStatus.USAGE
    assert lines(err) == [f"hvmm: conformance directory not found: {tmp_path / 'nope'}"]


def test_default_cpus():
    """A PC boots a 686 (what Linux and memtest86+ need); raw binaries and
    the conformance suite run on the 386 (the models they were written for)."""
    from hvmm.cli import build_parser

    parser = build_parser()
    defaults = {cmd: parser.parse_args([cmd, "x"]).cpu for cmd in ("exec", "boot", "conformance")}
    defaults["run"] = parser.parse_args(["run"]).cpu
    assert defaults == {"exec": "386", "boot": "686", "conformance": "386", "run": "686"}
