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


BEEP_SECTOR = bytes.fromhex(
    "B0B6 E643"          # mov al, 0xB6; out 0x43, al: channel 2, mode 3
    "B84C05 E642 88E0 E642"  # count 1356 (880 Hz), low then high byte
    "E461 0C03 E661"     # speaker on (port 0x61 bits 0 and 1)
    "B486 B90100 BAA086 CD15"  # INT 15h AH=86h: wait 100,000 us
    "E461 24FC E661"     # speaker off
    "30C0 E6F4 FAF4"     # exit port 0xF4 with 0; cli; hlt
    .replace(" ", "")
)


def test_boot_audio_writes_the_beep(tmp_path):
    """hvmm boot --audio: a boot sector's 100 ms beep at 880 Hz, in the WAV."""
    import subprocess
    import sys

    sector = BEEP_SECTOR.ljust(510, b"\0") + b"\x55\xaa"
    image = tmp_path / "beep.img"
    image.write_bytes(sector.ljust(1474560, b"\0"))
    out = tmp_path / "beep.wav"
    proc = subprocess.run([sys.executable, "-m", "hvmm", "boot", str(image), "--headless",
                           "--audio", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr        # (0 << 1) | 1 from port 0xF4
    with wave.open(str(out)) as w:
        samples = array("h", w.readframes(w.getnframes()))
    loud = [i for i, s in enumerate(samples) if s]
    assert loud, "no sound in the WAV"
    seconds = (loud[-1] - loud[0]) / RATE
    assert 0.095 <= seconds <= 0.105                # the INT 15h wait
    tone = samples[loud[0]:loud[-1]]
    rises = sum(1 for a, b in zip(tone, tone[1:]) if a < 0 <= b)
    assert abs(rises / seconds - 880) < 15
