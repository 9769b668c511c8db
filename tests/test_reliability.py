"""Random guests through `hvmm exec`: whatever a guest does, the run ends
with a clean status within its instruction budget, with no traceback and
no signal, and a --screenshot of whatever it left on the screen is written.

Five kinds of generated guests (raw binaries loaded at 0000:7C00, no BIOS):

* ``uniform``: uniformly random bytes;
* ``prefixes``: storms of prefixes (operand/address size, segment, REP,
  LOCK) before random opcodes;
* ``a32``: 32-bit registers loaded with wild values, then instructions with
  the address-size prefix and random ModRM/SIB/disp32 memory operands;
* ``rep``: REP string instructions (MOVS, STOS, LODS, CMPS, SCAS, INS,
  OUTS; 16- and 32-bit addressing, either direction) with large counts;
* ``video``: random writes to the video and device ports (CRTC, attribute,
  DAC, sequencer, CGA mode and colour, PIC, PIT, RTC, i8042, UART, POST)
  over random video memory, then a --screenshot.

Each guest is reproducible from its kind and seed.  The guests run in a
worker process that calls hvmm.cli.main() for each in turn (so a crash
shows as a signal, a hang as a timeout, both naming the guest).  CI runs a
sample of 500; HVMM_FUZZ_GUESTS=10000 runs that many (spread over the
kinds), HVMM_FUZZ_SEED=N starts the seeds elsewhere.  Guests of the sample
that hit a known defect left to other work go in KNOWN (name: reason) and
are left out of the sample until it is fixed; none is known today.
"""

import json
import os
import random
import select
import subprocess
import sys
import time

import pytest

import hvmm

#: The subprocesses import this checkout's hvmm.
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(hvmm.__file__)))

KINDS = ("uniform", "prefixes", "a32", "rep", "video")
GUESTS = int(os.environ.get("HVMM_FUZZ_GUESTS", "500"))
FIRST_SEED = int(os.environ.get("HVMM_FUZZ_SEED", "0"))
BUDGET = 200_000            # --max-instructions of every guest
GUEST_TIMEOUT = 10.0        # wall seconds one guest may take before it counts as hung
USAGE, INTERNAL, INTERRUPTED = 2, 70, 130   # statuses no guest may cause: hvmm's own failures


# ---- the guests ----------------------------------------------------------------------

PREFIXES = bytes.fromhex("6667f2f3262e363e6465f0")
CLI_HLT = b"\xfa\xf4"


def uniform(rng: random.Random) -> bytes:
    return rng.randbytes(rng.choice((16, 64, 512, 4096)))


def prefix_storm(rng: random.Random) -> bytes:
    out = bytearray()
    while len(out) < 2048:
        out += bytes(rng.choice(PREFIXES) for _ in range(rng.randrange(1, 20)))
        out += rng.randbytes(rng.randrange(1, 8))
    return bytes(out)


def load_registers(rng: random.Random, wild: bool) -> bytes:
    """mov e?x, imm32 for EAX..EDI but ESP (wild values or small ones)."""
    out = bytearray()
    for reg in (0, 1, 2, 3, 5, 6, 7):
        value = rng.getrandbits(32) if wild else rng.randrange(0x10000)
        out += bytes([0x66, 0xB8 + reg]) + value.to_bytes(4, "little")
    return bytes(out)


def a32_wild(rng: random.Random) -> bytes:
    out = bytearray(load_registers(rng, wild=True))
    for _ in range(200):
        if rng.random() < 0.3:
            out += bytes(rng.choice(PREFIXES[2:]) for _ in range(rng.randrange(3)))
        opcode = rng.choice((0x00, 0x01, 0x02, 0x03, 0x08, 0x20, 0x30, 0x38, 0x84, 0x86, 0x88,
                             0x89, 0x8A, 0x8B, 0x8D, 0xC6, 0xC7, 0xF6, 0xF7, 0xFE, 0xFF, 0xD1))
        modrm = rng.choice((0x00, 0x40, 0x80)) | rng.randrange(0x40)   # a memory operand
        rest = rng.randbytes(6)             # SIB, disp32, immediate: whatever they decode to
        out += (b"\x67" if rng.random() < 0.9 else b"") + bytes([opcode, modrm]) + rest
    return bytes(out) + CLI_HLT


STRING_OPS = bytes.fromhex("a4a5a6a7aaabacadaeaf6c6d6e6f")


def rep_strings(rng: random.Random) -> bytes:
    out = bytearray(load_registers(rng, wild=rng.random() < 0.5))
    for _ in range(rng.randrange(1, 6)):
        a32 = rng.random() < 0.6
        count = rng.randrange(1 << 21) if a32 else rng.randrange(0x10000)
        out += b"\x66\xb9" + count.to_bytes(4, "little")            # mov ecx, count
        out += rng.choice((b"\xfc", b"\xfd"))                       # cld / std
        if rng.random() < 0.5:                                      # a port for INS/OUTS
            out += b"\xba" + rng.choice((0x80, 0xE9, 0x3D5, 0x3F8, 0x20, 0x60,
                                         rng.randrange(0x10000))).to_bytes(2, "little")
        if rng.random() < 0.3:
            out += bytes([rng.choice(PREFIXES[4:10])])               # a segment override
        out += (b"\x67" if a32 else b"") + bytes([rng.choice((0xF3, 0xF2)),
                                                  rng.choice(STRING_OPS)])
        if rng.random() < 0.3:
            out += b"\x66"                                           # o32 on the next op
    return bytes(out) + CLI_HLT


VIDEO_PORTS = (list(range(0x3B0, 0x3E0)) + [0x3D4, 0x3D5] * 8 + [0x3C0] * 6
               + [0x3C4, 0x3C5, 0x3CE, 0x3CF, 0x3C8, 0x3C9] * 3 + [0x3D8, 0x3D9, 0x3B8] * 6)
DEVICE_PORTS = [0x20, 0x21, 0xA0, 0xA1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x60, 0x64, 0x70, 0x71,
                0x80, 0x92] + list(range(0x3F8, 0x400))


def video_and_ports(rng: random.Random) -> bytes:
    data = rng.randbytes(4000)
    # Copy the random data to B800:0000 (CGA text) and B000:0000 (MDA):
    # mov ax, seg; mov es, ax; xor di, di; mov si, data; mov cx, 2000; cld; rep movsw
    head = bytearray()
    body = bytearray()
    for _ in range(rng.randrange(20, 300)):
        port = rng.choice(VIDEO_PORTS) if rng.random() < 0.8 else rng.choice(DEVICE_PORTS)
        value = rng.randrange(256)
        if port == 0x92:
            value &= 0xFE                   # not the reset bit (that ends the run early)
        body += b"\xba" + port.to_bytes(2, "little") + bytes([0xB0, value, 0xEE])
    copy_len = 2 * 15 + 1                   # cld and the two copies below
    data_at = 0x7C00 + copy_len + len(body) + len(CLI_HLT)
    for seg in (0xB800, 0xB000):
        head += (b"\xb8" + seg.to_bytes(2, "little") + b"\x8e\xc0\x31\xff\xbe"
                 + data_at.to_bytes(2, "little") + b"\xb9\xd0\x07\xf3\xa5")
    head = b"\xfc" + head
    assert len(head) == copy_len
    return bytes(head + body + CLI_HLT + data)


GENERATORS = {"uniform": uniform, "prefixes": prefix_storm, "a32": a32_wild,
              "rep": rep_strings, "video": video_and_ports}


def guest(kind: str, seed: int) -> bytes:
    return GENERATORS[kind](random.Random(f"{kind}-{seed}"))


# ---- running them ---------------------------------------------------------------------

# The worker: reads the guest list (JSON) from argv[1]; for each, says
# "start", runs hvmm.cli.main() with stdout/stderr captured, and says how it
# ended (status, stderr, instructions from --stats, an escaped exception).
WORKER = r"""
import io, json, re, sys, time, traceback
from hvmm.cli import main
guests = json.load(open(sys.argv[1]))
out = sys.stdout
for g in guests:
    print(json.dumps({"start": g["name"]}), file=out, flush=True)
    sys.stdout = io.TextIOWrapper(io.BytesIO(), encoding="latin-1", write_through=True)
    sys.stderr = io.StringIO()
    t0 = time.monotonic()
    error = None
    try:
        status = main(g["argv"])
    except SystemExit as exc:
        status = exc.code
    except BaseException:
        status, error = None, traceback.format_exc()
    err = sys.stderr.getvalue()
    sys.stdout, sys.stderr = out, sys.__stderr__
    m = re.search(r"(\d+) instructions retired", err)
    print(json.dumps({"name": g["name"], "status": status, "error": error, "stderr": err,
                      "instructions": int(m.group(1)) if m else None,
                      "seconds": time.monotonic() - t0}), file=out, flush=True)
"""


def run_guests(guests, tmp_path, timeout=GUEST_TIMEOUT) -> dict:
    """Run [(name, argv)] in worker processes; {name: result}.  A guest that
    takes longer than ``timeout`` is recorded as hung and its worker killed
    (the rest go on in a new one); a worker killed by a signal records the
    signal against the guest it was running."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    results = {}
    pending = list(guests)
    while pending:
        listing = tmp_path / "guests.json"
        listing.write_text(json.dumps([{"name": n, "argv": a} for n, a in pending]))
        with open(tmp_path / "worker.err", "w") as err:
            proc = subprocess.Popen([sys.executable, "-c", WORKER, str(listing)], cwd=tmp_path,
                                    env=env, stdout=subprocess.PIPE, stderr=err)
        current = None
        fd = proc.stdout.fileno()
        buffered = b""                              # read, not yet a whole line
        deadline = time.monotonic() + 60            # start-up
        while True:
            if b"\n" not in buffered:
                ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    proc.kill()
                    proc.wait()
                    results[current] = {"hung": timeout}
                    break
                data = os.read(fd, 65536)
                if not data:
                    status = proc.wait()
                    if current is not None and current not in results:
                        results[current] = {"signal": -status if status < 0 else None,
                                            "exit": status}
                    break
                buffered += data
                continue
            line, buffered = buffered.split(b"\n", 1)
            msg = json.loads(line)
            if "start" in msg:
                current = msg["start"]
                deadline = time.monotonic() + timeout
            else:
                results[msg["name"]] = msg
        proc.stdout.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        done = len(guests) - len(pending)
        pending = [(n, a) for n, a in pending if n not in results]
        if current is None and len(guests) - len(pending) == done:
            raise RuntimeError((tmp_path / "worker.err").read_text()[-2000:])
    return results


def problem(result: dict) -> str | None:
    """What is wrong with how a guest's run ended, or None."""
    if "hung" in result:
        return f"no end after {result['hung']} s"
    if "signal" in result or "exit" in result:
        return f"worker died: {result}"
    if result["error"]:
        return "exception: " + result["error"].strip().splitlines()[-1]
    err, status = result["stderr"], result["status"]
    if "Traceback" in err:
        return "traceback on stderr"
    if not isinstance(status, int) or status < 0 or status in (USAGE, INTERNAL, INTERRUPTED):
        return f"status {status}: {err.strip().splitlines()[:1]}"
    if result["instructions"] is None or result["instructions"] > BUDGET:
        return f"{result['instructions']} instructions, budget {BUDGET}"
    # One-line "hvmm: ..." messages, then the --stats table.
    messages = err.split("hvmm stats:")[0].splitlines()
    stray = [line for line in messages if line.strip() and not line.startswith("hvmm: ")]
    if stray:
        return f"unexpected stderr: {stray[:2]}"
    return None


# Guests of the CI sample that hit defects known and left to other work;
# each is run on its own below and expected to fail until that is done.
KNOWN: dict[str, str] = {}


def guest_argv(tmp_path, kind: str, seed: int) -> list[str]:
    path = tmp_path / f"{kind}-{seed}.bin"
    path.write_bytes(guest(kind, seed))
    argv = ["exec", str(path), "--max-instructions", str(BUDGET), "--stats",
            "--cpu", "8086" if seed % 4 == 3 else "386"]
    if kind == "video":
        argv += ["--screenshot", str(tmp_path / f"{kind}-{seed}.png")]
    return argv


def seeds_for(kind: str) -> range:
    n = max(1, GUESTS // len(KINDS) + (KINDS.index(kind) < GUESTS % len(KINDS)))
    return range(FIRST_SEED, FIRST_SEED + n)


@pytest.mark.parametrize("kind", KINDS)
def test_random_guests_end_cleanly(tmp_path, kind):
    guests = [(f"{kind}-{seed}", guest_argv(tmp_path, kind, seed)) for seed in seeds_for(kind)
              if f"{kind}-{seed}" not in KNOWN]
    results = run_guests(guests, tmp_path)
    bad = {name: p for name, r in results.items() if (p := problem(r))}
    if kind == "video":
        bad.update({name: "no screenshot" for name, _ in guests
                    if name not in bad and not (tmp_path / f"{name}.png").stat().st_size})
    statuses = {}
    for r in results.values():
        statuses[r.get("status")] = statuses.get(r.get("status"), 0) + 1
    print(f"{kind}: {len(guests)} guests, statuses {dict(sorted(statuses.items(), key=str))}, "
          f"slowest {max(r.get('seconds', 0) for r in results.values()):.2f} s")
    assert not bad, f"{len(bad)} of {len(guests)} {kind} guests: " + "; ".join(
        f"{n}: {p}" for n, p in list(bad.items())[:10])



def test_guests_are_reproducible():
    for kind in KINDS:
        assert guest(kind, 7) == guest(kind, 7) != guest(kind, 8)


# A REP with a 32-bit count near 2^32 (a32 rep movsd, ECX = FFFFFFF0h): each
# iteration is a step against the budget, so the run stops at the limit
# (it used to run as one instruction for most of a minute).
HUGE_REP = (b"\x66\xb9\xf0\xff\xff\xff"      # mov ecx, FFFFFFF0h
            b"\xfc\x67\xf3\x66\xa5"          # cld; a32 rep movsd
            + CLI_HLT)


def test_rep_with_a_32_bit_count_honours_the_budget(tmp_path):
    path = tmp_path / "huge-rep.bin"
    path.write_bytes(HUGE_REP)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, "-m", "hvmm", "exec", str(path),
                           "--max-instructions", "1000"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=5)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 10 and "instruction limit reached: 1000" in proc.stderr, proc.stderr
