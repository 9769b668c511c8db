"""The PC speaker, from PIT channel 2 through port 0x61 to a WAV file."""

import wave
from array import array

from hvmm._core import Cpu
from hvmm.frontends.audio import RATE, collect, write_wav


def beep(cpu, hz):
    """What a BIOS beep does: channel 2 in mode 3, then speaker on."""
    count = round(1193182 / hz)
    cpu.io_write(0x43, 1, 0xB6)
    cpu.io_write(0x42, 1, count & 0xFF)
    cpu.io_write(0x42, 1, count >> 8)
    cpu.io_write(0x61, 1, cpu.io_read(0x61, 1) | 0x03)


def test_a_beep_becomes_a_square_wave_of_its_pitch(tmp_path):
    cpu = Cpu()
    log = []
    beep(cpu, 880)
    cpu.advance_time(100_000_000)                 # 100 ms of tone
    cpu.io_write(0x61, 1, cpu.io_read(0x61, 1) & ~0x03)
    cpu.advance_time(50_000_000)                  # then 50 ms of silence
    collect(cpu, log)
    assert [round(hz) for _, hz in log] == [880, 0]
    out = tmp_path / "beep.wav"
    n = write_wav(out, log, cpu.time_ns)
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        assert w.getnframes() == n == cpu.time_ns * RATE // 1_000_000_000
        samples = array("h", w.readframes(n))
    tone = samples[: RATE // 10]
    rises = sum(1 for a, b in zip(tone, tone[1:]) if a < 0 <= b)
    assert 86 <= rises <= 90                      # 880 Hz over 100 ms
    assert not any(samples[RATE // 10 + 10:])     # silent afterwards
