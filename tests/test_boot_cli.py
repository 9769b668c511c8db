"""`hvmm boot`: booting a floppy image headless under a --wait/--type script.

The FreeDOS tests need ../shared/images/freedos.img (next to the
repository) and are skipped without it; the rest use images built here."""

import re
from importlib.resources import files

import pytest

from hvmm.headless import decode_keys, new_on_screen, run_script
from hvmm.keyboard import KEY_INTERVAL_NS, key_bytes
from hvmm.pc import PC
from hvmm.status import ExitStatus

FLOPPY_144 = 1_474_560
PROMPT = "A:\\>"


def finish(proc):
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def retired(stderr):
    m = re.search(r"(\d+) instructions retired", stderr)
    assert m, stderr
    return int(m.group(1))


# ---- FreeDOS ------------------------------------------------------------------

ACCEPTANCE = ["--headless", "--wait", PROMPT, "--type", r"ver\r", "--wait", PROMPT,
              "--print-screen", "--stats"]
# One boot checks dir (as waits: each must appear, or the run fails)
# and mem, and ends with ver, so the final screen shows mem and ver.
COMBINED = ["--headless", "--timeout", "120",
            "--wait", PROMPT,
            "--type", r"dir\r", "--wait", "KERNEL   SYS", "--wait", "COMMAND  COM",
            "--wait", PROMPT,
            "--type", r"mem\r", "--wait", "Conventional", "--wait", PROMPT,
            "--type", r"ver\r", "--wait", "FreeCom version", "--wait", PROMPT,
            "--print-screen", "--stats"]


def test_freedos_boot_ver_dir_mem_deterministic(freedos, hvmm_popen, tmp_path):
    # Three boots at once (about 3 s each): the README's FreeDOS command,
    # and the combined script twice for determinism.
    procs = [hvmm_popen("boot", freedos, *ACCEPTANCE, cwd=tmp_path)]
    procs += [hvmm_popen("boot", freedos, *COMBINED, cwd=tmp_path) for _ in range(2)]
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


def test_boot_debug_exit_and_script_order(write_floppy, no_traceback, hvmm_cmd, tmp_path):
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


def test_boot_halt_limit_and_unmatched_wait(write_floppy, hvmm_main, tmp_path):
    img = write_floppy(tmp_path / "halt.img", boot_sector(b"\xfa\xf4"))  # cli; hlt
    status, out, err = hvmm_main("boot", img, "--headless")
    assert status == ExitStatus.OK, err
    assert "halted with interrupts off" in err
    status, out, err = hvmm_main("boot", img, "--headless", "--wait", "READY")
    assert status == ExitStatus.WAIT_FAILED, err
    assert err.count("\n") == 1 and "before 'READY' appeared" in err
    img = write_floppy(tmp_path / "loop.img", boot_sector(b"\xeb\xfe"))  # jmp $
    status, out, err = hvmm_main("boot", img, "--headless", "--max-instructions", "100000")
    assert status == ExitStatus.LIMIT, err
    status, out, err = hvmm_main("boot", img, "--headless", "--wait", "READY",
                                 "--max-instructions", "100000")
    assert status == ExitStatus.LIMIT, err
    assert err.count("\n") == 1 and "'READY' did not appear within 100000" in err
    status, out, err = hvmm_main("boot", img, "--headless", "--wait", "READY",
                                 "--timeout", "0.2")
    assert status == ExitStatus.TIMEOUT, err
    assert "timed out" in err and "'READY'" in err


@pytest.mark.parametrize("make, expect", [
    (None, "no such file"),
    (b"\0" * 1000, "1000 bytes is not a positive multiple of 512"),
    ("dir", "is a directory"),
])
def test_boot_bad_image(no_traceback, hvmm_cmd, tmp_path, make, expect):
    path = tmp_path / "disk.img"
    if make == "dir":
        path.mkdir()
    elif make is not None:
        path.write_bytes(make)
    proc = hvmm_cmd("boot", path, "--headless", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1 and expect in proc.stderr, proc.stderr


def test_boot_bad_arguments(write_floppy, no_traceback, hvmm_cmd, tmp_path):
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
    # Ctrl with a letter, named keys (E0-prefixed set 2 codes), on COM1 VT100 sequences
    assert key_bytes(decode_keys(r"\x0e")) == bytes([0x14, 0x31, 0xF0, 0x31, 0xF0, 0x14])
    assert [key_bytes(k) for k in decode_keys(r"\{Down}\{f1}")] == [
        bytes([0xE0, 0x72, 0xE0, 0xF0, 0x72]), bytes([0x05, 0xF0, 0x05])]
    assert decode_keys(r"\{up}\r", keyboard=False) == "\x1b[A\r"
    with pytest.raises(ValueError, match="unknown key"):
        decode_keys(r"\{nope}")
    assert decode_keys("A:\\>") == "A:\\>"
    with pytest.raises(ValueError):
        decode_keys(r"\x7f")              # DEL: no key on a PC keyboard


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


def test_new_on_screen_after_cls():
    """`cls` leaves the new prompt alone on the top row: not the old prompt
    (from the bottom row) scrolled up by 24 rows."""
    boot = [f"boot message {i}" for i in range(23)] + ["A:\\>"]
    assert new_on_screen("A:\\>", rows(*boot), rows("A:\\>"))
    assert not new_on_screen("A:\\>", rows(*boot), rows(*boot[:-1], "A:\\>cls"))


def test_sleep_runs_for_virtual_time(write_floppy, tmp_path):
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
