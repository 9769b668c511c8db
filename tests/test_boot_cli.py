"""`hvmm boot`: booting a floppy image headless under a --wait/--type script.

The FreeDOS tests need ../shared/images/freedos.img (tests/shared_data.py)
and are skipped without it; the rest use images built here."""

import re
import subprocess
import sys
from importlib.resources import files

import pytest

from hvmm.headless import decode_keys, new_on_screen, run_script
from hvmm.keyboard import KEY_INTERVAL_NS
from hvmm.pc import PC
from shared_data import FREEDOS, needs_freedos
from test_cli import PACKAGE_PARENT, hvmm_cmd, no_traceback

FLOPPY_144 = 1_474_560
PROMPT = "A:\\>"


def hvmm_popen(*args, cwd):
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "hvmm", *map(str, args)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc):
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def retired(stderr):
    m = re.search(r"(\d+) instructions retired", stderr)
    assert m, stderr
    return int(m.group(1))


def write_floppy(path, data):
    path.write_bytes(bytes(data).ljust(FLOPPY_144, b"\0"))
    return path


# ---- FreeDOS ------------------------------------------------------------------

ACCEPTANCE = ["--headless", "--wait", PROMPT, "--type", r"ver\r", "--wait", PROMPT,
              "--print-screen", "--stats"]
# One boot checks dir (as waits: each must appear, or the exit status is 4)
# and mem, and ends with ver, so the final screen shows mem and ver.
COMBINED = ["--headless", "--timeout", "120",
            "--wait", PROMPT,
            "--type", r"dir\r", "--wait", "KERNEL   SYS", "--wait", "COMMAND  COM",
            "--wait", PROMPT,
            "--type", r"mem\r", "--wait", "Conventional", "--wait", PROMPT,
            "--type", r"ver\r", "--wait", "FreeCom version", "--wait", PROMPT,
            "--print-screen", "--stats"]


@needs_freedos
def test_freedos_boot_ver_dir_mem_deterministic(tmp_path):
    # Three boots at once (about 3 s each): the acceptance command,
    # and the combined script twice for determinism.
    procs = [hvmm_popen("boot", FREEDOS, *ACCEPTANCE, cwd=tmp_path)]
    procs += [hvmm_popen("boot", FREEDOS, *COMBINED, cwd=tmp_path) for _ in range(2)]
    (rc, out, err), *combined = [finish(p) for p in procs]

    assert "Traceback" not in out + err
    assert rc == 0, err
    screen = out.splitlines()
    assert "FreeDOS kernel" in out                     # the kernel's banner
    # The prompt after `ver`, not the one it was typed at: ver's output is
    # on screen and the last line is the new prompt.
    i = screen.index(PROMPT + "ver")
    assert any(line.startswith("FreeCom version") for line in screen[i + 1:])
    assert screen[-1] == PROMPT
    assert out.endswith(PROMPT + "\n")                 # trailing blank lines dropped

    counts = []
    for rc, out, err in combined:
        assert "Traceback" not in out + err
        assert rc == 0, err
        assert re.search(r"^Conventional\s+640K\s", out, re.M), out
        assert PROMPT + "ver" in out and "FreeCom version" in out
        assert out.rstrip().endswith(PROMPT)
        counts.append(retired(err))
    assert counts[0] == counts[1]


# ---- small images ---------------------------------------------------------------


def boot_sector(code: bytes) -> bytes:
    return code.ljust(510, b"\0") + b"\x55\xaa"


def test_boot_debug_exit_and_script_order(tmp_path):
    hello = files("hvmm").joinpath("guests/hello_boot.bin").read_bytes()
    img = write_floppy(tmp_path / "hello.img", hello)
    proc = hvmm_cmd("boot", img, "--headless", "--wait", "Press a key:", "--type", "x",
                    "--wait", "never shown", "--max-instructions", "5000000",
                    "--print-screen", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == (ord("x") << 1 | 1) & 0xFF, proc.stderr
    assert "port 0xF4" in proc.stderr and "'never shown'" in proc.stderr
    assert "Press a key: x" in proc.stdout.splitlines()
    # Without --headless and without a terminal: no console, one line.
    proc = hvmm_cmd("boot", "--floppy", img, "--type", "y",
                    "--max-instructions", "5000000", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "use --headless" in proc.stderr


def test_boot_halt_limit_and_unmatched_wait(tmp_path):
    img = write_floppy(tmp_path / "halt.img", boot_sector(b"\xfa\xf4"))  # cli; hlt
    proc = hvmm_cmd("boot", img, "--headless", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert "halted with interrupts off" in proc.stderr
    img = write_floppy(tmp_path / "loop.img", boot_sector(b"\xeb\xfe"))  # jmp $
    proc = hvmm_cmd("boot", img, "--headless", "--max-instructions", "100000", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    proc = hvmm_cmd("boot", img, "--headless", "--wait", "READY",
                    "--max-instructions", "100000", cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "'READY'" in proc.stderr
    proc = hvmm_cmd("boot", img, "--headless", "--wait", "READY", "--timeout", "0.2",
                    cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert "timed out" in proc.stderr and "'READY'" in proc.stderr


@pytest.mark.parametrize("make, expect", [
    (None, "no such file"),
    (b"\0" * 1000, "1000 bytes is not a positive multiple of 512"),
    ("dir", "is a directory"),
])
def test_boot_bad_image(tmp_path, make, expect):
    path = tmp_path / "disk.img"
    if make == "dir":
        path.mkdir()
    elif make is not None:
        path.write_bytes(make)
    proc = hvmm_cmd("boot", path, "--headless", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and expect in proc.stderr, proc.stderr


def test_boot_bad_arguments(tmp_path):
    img = write_floppy(tmp_path / "halt.img", boot_sector(b"\xfa\xf4"))
    for args in ([], [img, "--floppy", img], [img, "--type", "\u00e9"], [img, "--sleep", "0"],
                 [img, "--sleep", "soon"]):
        proc = hvmm_cmd("boot", *args, cwd=tmp_path)
        no_traceback(proc)
        assert proc.returncode == 2, (args, proc.stderr)
        assert len(proc.stderr.splitlines()) == 1, proc.stderr


# ---- the script pieces ------------------------------------------------------------


def test_decode_keys():
    assert decode_keys(r"ver\r") == "ver\r"
    assert decode_keys(r"\e\t\x1b\\") == "\x1b\t\x1b\\"
    assert decode_keys(r"cd \dos\r") == "cd \\dos\r"   # unknown escapes stay
    assert decode_keys("A:\\>") == "A:\\>"
    with pytest.raises(ValueError):
        decode_keys(r"\x01")


def rows(*lines):
    return [line.ljust(80) for line in lines] + [" " * 80] * (25 - len(lines))


def test_new_on_screen_allows_for_echo_and_scroll():
    old = rows("banner", "", "A:\\>")
    assert not new_on_screen("A:\\>", old, rows("banner", "", "A:\\>ver"))
    assert new_on_screen("A:\\>", old, rows("banner", "", "A:\\>ver", "", "A:\\>"))
    full = [f"line {i}" for i in range(24)] + ["A:\\>"]
    typed = full[1:] + ["A:\\>"]          # scrolled one row
    assert not new_on_screen("A:\\>", rows(*full), rows(*full[:-1], "A:\\>ver"))
    assert not new_on_screen("A:\\>", rows(*full), rows(*typed[:-2], "A:\\>ver", ""))
    assert new_on_screen("A:\\>", rows(*full), rows(*typed[:-2], "A:\\>ver", "A:\\>"))
    assert not new_on_screen("nope", old, old)


def test_sleep_runs_for_virtual_time(tmp_path):
    # The hello guest waits for a key in INT 16h (HLT): a sleep step runs the
    # machine for that much virtual time, the same on every run.
    hello = files("hvmm").joinpath("guests/hello_boot.bin").read_bytes()
    img = write_floppy(tmp_path / "hello.img", hello)
    counts = []
    for _ in range(2):
        pc = PC(str(img), debug_stream=None)
        result = run_script(pc, [("sleep", 0.25), ("type", "z")], max_instructions=10**8)
        assert result.status == (ord("z") << 1 | 1) & 0xFF, result.message
        assert 250_000_000 <= pc.cpu.time_ns < 260_000_000 + 10 * KEY_INTERVAL_NS
        counts.append(result.instructions)
    assert counts[0] == counts[1]
