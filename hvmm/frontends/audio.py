"""PC speaker output as a WAV file.

The in-kernel PIT records every change of the speaker's tone as (virtual
time in ns, frequency in Hz, 0 for silence): `Cpu.speaker_log()`. This
renders that log as the square wave the speaker cone would follow, so a
run's sound can be listened to (`--audio out.wav`).
"""

from __future__ import annotations

import os
import wave
from array import array

from hvmm.errors import ConfigError

RATE = 22050          # samples per second
AMPLITUDE = 8000      # of 32767: a square wave is loud


def collect(cpu, log: list | None = None) -> list[tuple[int, float]]:
    """Drain the speaker log into `log` (kept across runs)."""
    log = [] if log is None else log
    log.extend(cpu.speaker_log())
    return log


def render(events: list[tuple[int, float]], end_ns: int, rate: int = RATE) -> array:
    """16-bit mono samples from tone events, up to virtual time `end_ns`."""
    samples = array("h")
    total = max(0, end_ns) * rate // 1_000_000_000
    events = sorted(events)
    hz = 0.0
    phase = 0.0
    i = 0
    for n in range(total):
        t = n * 1_000_000_000 // rate
        while i < len(events) and events[i][0] <= t:
            hz = events[i][1]
            i += 1
        if hz <= 0 or hz >= rate / 2:
            samples.append(0)           # silence, or above what the rate can carry
            continue
        phase = (phase + hz / rate) % 1.0
        samples.append(AMPLITUDE if phase < 0.5 else -AMPLITUDE)
    return samples


def write_wav(path, events: list[tuple[int, float]], end_ns: int, rate: int = RATE) -> int:
    """Write the speaker's sound up to `end_ns` to a WAV file; returns the
    number of samples."""
    samples = render(events, end_ns, rate)
    # The file is opened here, not by wave.open: a Wave_write whose open
    # failed complains again from its __del__.
    with open(path, "wb") as f, wave.open(f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return len(samples)


def check_path(path) -> None:
    """Raise ConfigError (one line) unless a WAV file can be written at
    ``path``: checked before the run, so that it is not wasted."""
    path = os.fspath(path)
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise ConfigError(f"cannot write {path}: no directory {parent}")
    if os.path.isdir(path):
        raise ConfigError(f"cannot write {path}: is a directory")
    if not os.access(parent, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ConfigError(f"cannot write {path}: permission denied")


def save(cpu, path) -> int:
    """Write what the speaker played since the machine started to ``path``
    (ConfigError, one line, if it cannot be)."""
    try:
        return write_wav(path, collect(cpu), cpu.time_ns)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
