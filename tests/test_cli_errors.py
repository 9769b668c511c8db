"""Exit statuses, errors and limits of the `hvmm` command: one status table
(hvmm's own even, the guest's odd), one error boundary (one `hvmm:` line,
never a traceback unless asked for), every run bounded, no output lost
silently."""

import json
import os

import pytest

from hvmm.status import TABLE, ExitStatus, guest_status

LOOP = bytes([0xEB, 0xFE])                  # jmp $
PROMPT = "A:\\>"


def one_line(err):
    return len([line for line in err.splitlines() if line.strip()]) == 1


def test_hvmm_statuses_are_even_and_guest_statuses_odd():
    own = [int(s) for s in ExitStatus]
    assert len(set(own)) == len(own)
    assert all(s % 2 == 0 for s in own)
    assert all(guest_status(v) % 2 == 1 for v in range(256))
    assert {int(code) for code, _ in TABLE if code.isdigit()} == set(own)


def test_help_shows_the_status_table(hvmm_main):
    status, out, err = hvmm_main("--help")
    assert status == 0
    for code, text in TABLE:
        assert text[:40] in " ".join(out.split()), code
    assert "HVMM_DEBUG=1" in out


def test_readme_documents_the_status_table():
    from conftest import REPO

    readme = " ".join((REPO / "README.md").read_text().split())
    for code, text in TABLE:
        assert f"| {code} |" in readme, code


def test_boot_without_a_bootable_disk_is_not_success(write_floppy, hvmm_main, tmp_path):
    blank = write_floppy(tmp_path / "blank.img", b"")
    status, out, err = hvmm_main("boot", blank, "--headless")
    assert status == ExitStatus.NO_BOOT, err
    assert one_line(err) and "no bootable disk" in err


def test_unexpected_error_is_one_line_and_a_traceback_only_when_asked(
        tmp_path, hvmm_main, monkeypatch):
    import hvmm.commands.execute as execute

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(execute, "build_machine", broken)
    image = tmp_path / "loop.bin"
    image.write_bytes(LOOP)
    status, out, err = hvmm_main("exec", image)
    assert status == ExitStatus.INTERNAL
    assert one_line(err) and err.startswith("hvmm: internal error: RuntimeError: "
                                            "something inside broke")
    assert "Traceback" not in err
    status, out, err = hvmm_main("--debug", "exec", image)
    assert status == ExitStatus.INTERNAL and "Traceback" in err
    monkeypatch.setenv("HVMM_DEBUG", "1")
    status, out, err = hvmm_main("exec", image)
    assert "Traceback" in err


def test_exec_timeout(tmp_path, hvmm_main):
    image = tmp_path / "loop.bin"
    image.write_bytes(LOOP)
    status, out, err = hvmm_main("exec", image, "--timeout", "0.2")
    assert status == ExitStatus.TIMEOUT, err
    assert one_line(err) and "timed out after 0.2 s" in err


def test_exec_of_a_fifo_is_a_one_line_error(tmp_path, hvmm_main):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    status, out, err = hvmm_main("exec", fifo)        # no writer: reading would block
    assert status == ExitStatus.USAGE
    assert one_line(err) and "not a regular file" in err


@pytest.mark.parametrize("value", ["inf", "1e300", "nan", "-1", "0"])
def test_sleep_and_timeout_must_be_finite_and_positive(write_floppy, hvmm_main, tmp_path,
                                                       value):
    img = write_floppy(tmp_path / "loop.img", LOOP.ljust(510, b"\0") + b"\x55\xaa")
    status, out, err = hvmm_main("boot", img, "--headless", "--sleep", value)
    assert status == ExitStatus.USAGE, err
    assert one_line(err) and "--sleep" in err
    with pytest.raises(SystemExit):     # argparse: the usage line and the error
        from hvmm.cli import build_parser

        build_parser().parse_args(["exec", "x.bin", "--timeout", value])


def test_wait_after_cls(freedos, hvmm_main):
    status, out, err = hvmm_main("boot", freedos, "--headless", "--timeout", "120",
                                 "--wait", PROMPT, "--type", r"cls\r", "--wait", PROMPT,
                                 "--print-screen")
    assert status == ExitStatus.OK, err
    assert out.strip() == PROMPT


@pytest.mark.parametrize("args", [
    ("run",),
    ("exec", "hvmm/guests/bench.bin"),
    ("boot", "--floppy", "DEMO", "--headless"),
])
def test_stdout_on_a_full_disk_is_one_line(tmp_path, hvmm_popen, write_floppy, args):
    from conftest import REPO

    if "DEMO" in args:
        demo = (REPO / "hvmm" / "guests" / "demo.bin").read_bytes()
        args = tuple(str(write_floppy(tmp_path / "demo.img", demo)) if a == "DEMO" else a
                     for a in args)
    args = tuple(str(REPO / a) if a.startswith("hvmm/") else a for a in args)
    with open("/dev/full", "w") as full:
        proc = hvmm_popen(*args, cwd=tmp_path, stdout=full)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitStatus.OUTPUT_ERROR, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "hvmm: cannot write the output: No space left on device" in err


def test_bios_of_the_wrong_size_reports_its_real_size(tmp_path, hvmm_main):
    big = tmp_path / "big.rom"
    with open(big, "wb") as f:
        f.truncate(3 << 30)                 # sparse: never read whole
    status, out, err = hvmm_main("boot", "--bios", big, "--headless")
    assert status == ExitStatus.USAGE
    assert one_line(err) and f"this one is {3 << 30} bytes" in err


def test_audio_to_a_bad_path_is_a_usage_error_before_the_run(tmp_path, hvmm_cmd):
    proc = hvmm_cmd("run", "--audio", tmp_path / "no" / "such" / "dir" / "out.wav",
                    cwd=tmp_path)
    assert proc.returncode == ExitStatus.USAGE
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr
    assert "no directory" in proc.stderr and proc.stdout == ""


def test_stats_json(tmp_path, hvmm_main):
    path = tmp_path / "stats.json"
    status, out, err = hvmm_main("run", "--stats-json", path)
    assert status == ExitStatus.OK, err
    doc = json.loads(path.read_text())
    assert doc["status"] == 0 and doc["reason"] == "debug_exit"
    assert doc["instructions"] > 100_000 and doc["model"] == "686"      # run's default
    assert any(r["path"] == "in-kernel" for r in doc["rows"])


def test_a_closed_stdout_is_quiet(tmp_path, hvmm_popen):
    """`hvmm run | head -1`: the reader leaves; no traceback, no message."""
    proc = hvmm_popen("run", cwd=tmp_path)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    proc.stderr.close()
    assert "Traceback" not in err and "Exception ignored" not in err

