"""In-kernel 8254 PIT and port 0x61 (hvmm/kernel/pit.pxi), driven through ports.

Virtual time is the machine clock in ns; the PIT's 1,193,182 Hz input has
seen floor(ns * 1193182 / 10**9) clocks at time ns. Counts are checked
against the Intel 82C54 datasheet at known tick numbers: a count written
at tick T is loaded into the counting element by clock T+1 (which does not
decrement it), so at tick T+1+k a one-shot counter reads N-k.
"""

import pytest

from hvmm._core import Cpu

PIT_HZ = 1193182
CH0, CH1, CH2, CONTROL, PORT_B = 0x40, 0x41, 0x42, 0x43, 0x61

RW_LSB, RW_MSB, RW_WORD = 1, 2, 3
ST_OUT, ST_NULL = 0x80, 0x40


def ticks(ns):
    return ns * PIT_HZ // 10**9


def tick_ns(k):
    """The first nanosecond at which the PIT has seen k clocks."""
    return -(-k * 10**9 // PIT_HZ)


def outb(cpu, port, value):
    cpu.io_write(port, 1, value)


def inb(cpu, port):
    return cpu.io_read(port, 1)


def now_tick(cpu):
    return ticks(cpu.time_ns)


def to_tick(cpu, k):
    """Advance virtual time to the first ns of tick k."""
    target = tick_ns(k)
    assert target >= cpu.time_ns
    cpu.advance_time(target - cpu.time_ns)
    assert now_tick(cpu) == k


def program(cpu, ch, mode, count, bcd=False, rw=RW_WORD):
    """Control word then count; returns the tick of the write."""
    outb(cpu, CONTROL, (ch << 6) | (rw << 4) | (mode << 1) | int(bcd))
    if rw in (RW_LSB, RW_WORD):
        outb(cpu, CH0 + ch, count & 0xFF)
    if rw in (RW_MSB, RW_WORD):
        outb(cpu, CH0 + ch, (count >> 8) & 0xFF)
    return now_tick(cpu)


def latch(cpu, ch):
    """Counter latch command, then LSB and MSB."""
    outb(cpu, CONTROL, ch << 6)
    lo = inb(cpu, CH0 + ch)
    return lo | inb(cpu, CH0 + ch) << 8


def status(cpu, ch):
    """Read-back command, status only."""
    outb(cpu, CONTROL, 0xC0 | 0x20 | (2 << ch))
    return inb(cpu, CH0 + ch)


def out2(cpu):
    return (inb(cpu, PORT_B) >> 5) & 1


def take_irq0(cpu):
    """Acknowledge and EOI every pending IRQ0; returns how many."""
    n = 0
    while cpu.interrupt_pending():
        assert cpu.acknowledge_interrupt() == 0x08
        outb(cpu, 0x20, 0x20)
        n += 1
    return n


@pytest.fixture
def cpu(pic):
    c = Cpu(memory_size=1 << 20, model="386")
    pic.init(c, (0,))
    c.advance_time(1000)        # start off the tick grid
    return c


# --- mode 0: interrupt on terminal count ------------------------------------

def test_mode0_counts_down_and_interrupts_at_terminal_count(cpu):
    t = program(cpu, 0, 0, 1000)
    assert status(cpu, 0) == ST_NULL | 0x30          # OUT low, not yet loaded
    to_tick(cpu, t + 1 + 400)
    assert latch(cpu, 0) == 600
    assert status(cpu, 0) == 0x30                    # loaded, OUT still low
    cpu.advance_time(tick_ns(t + 1 + 1000) - 1 - cpu.time_ns)
    assert latch(cpu, 0) == 1
    assert not cpu.interrupt_pending()
    cpu.advance_time(1)                              # terminal count
    assert latch(cpu, 0) == 0
    assert status(cpu, 0) & ST_OUT
    assert take_irq0(cpu) == 1
    to_tick(cpu, t + 1 + 1005)                       # keeps counting, wraps
    assert latch(cpu, 0) == 0xFFFB
    cpu.advance_time(50_000_000)
    assert take_irq0(cpu) == 0                       # a one-shot: only once


def test_mode0_first_byte_of_a_new_count_stops_counting():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x01)                            # GATE2 high
    t = program(c, 2, 0, 100)
    to_tick(c, t + 200)
    assert out2(c) == 1
    outb(c, CH2, 0x34)                               # LSB only: OUT low, halted
    assert out2(c) == 0
    held = latch(c, 2)
    to_tick(c, t + 300)
    assert latch(c, 2) == held
    outb(c, CH2, 0x12)                               # MSB: 0x1234 loads next clock
    t2 = now_tick(c)
    to_tick(c, t2 + 1 + 0x34)
    assert latch(c, 2) == 0x1200
    assert out2(c) == 0


def test_mode0_gate_low_suspends_counting():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x01)
    t = program(c, 2, 0, 500)
    to_tick(c, t + 1 + 100)
    outb(c, PORT_B, 0x00)                            # GATE2 low: hold at 400
    to_tick(c, t + 1 + 300)
    assert latch(c, 2) == 400
    outb(c, PORT_B, 0x01)
    to_tick(c, t + 1 + 350)
    assert latch(c, 2) == 350
    to_tick(c, t + 1 + 700)
    assert out2(c) == 1


# --- mode 1: hardware retriggerable one-shot --------------------------------

def test_mode1_one_shot_on_gate_trigger():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x00)
    t = program(c, 2, 1, 500)
    to_tick(c, t + 100)
    st = status(c, 2)
    assert st & ST_OUT and st & ST_NULL              # waiting for a trigger
    assert st & 0x3F == (RW_WORD << 4) | (1 << 1)
    outb(c, PORT_B, 0x01)                            # trigger
    tg = now_tick(c)
    to_tick(c, tg + 1)
    assert out2(c) == 0 and not status(c, 2) & ST_NULL
    to_tick(c, tg + 1 + 200)
    assert latch(c, 2) == 300
    assert out2(c) == 0
    to_tick(c, tg + 1 + 500)
    assert out2(c) == 1
    outb(c, PORT_B, 0x00)                            # retrigger
    outb(c, PORT_B, 0x01)
    tg = now_tick(c)
    to_tick(c, tg + 1 + 10)
    assert out2(c) == 0
    assert latch(c, 2) == 490


# --- mode 2: rate generator -------------------------------------------------

def test_mode2_count_sequence_and_out_pulse():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x01)
    n = 100
    t = program(c, 2, 2, n)
    for k in (0, 1, 37, 98, 99, 100, 101, 250):
        to_tick(c, t + 1 + k)
        assert latch(c, 2) == n - k % n
        assert out2(c) == (0 if k % n == n - 1 else 1)   # low while CE = 1


def test_mode2_irq0_rate(cpu):
    n = 1193                                         # ~1000.15 Hz
    t = program(cpu, 0, 2, n)
    start = cpu.time_ns
    count = 0
    for _ in range(2000):                            # 100 ms in 50 us steps
        cpu.advance_time(50_000)
        count += take_irq0(cpu)
    expected = (ticks(start + 100_000_000) - (t + 1)) // n
    assert count == expected
    assert 99 <= count <= 101


def test_mode2_new_count_waits_for_the_end_of_the_cycle():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x01)
    t = program(c, 2, 2, 100)
    to_tick(c, t + 1 + 30)
    outb(c, CH2, 50)
    outb(c, CH2, 0)
    assert status(c, 2) & ST_NULL                    # CR not yet in the CE
    to_tick(c, t + 1 + 60)
    assert latch(c, 2) == 40                         # old sequence continues
    to_tick(c, t + 1 + 100)
    assert latch(c, 2) == 50                         # reloaded with the new count
    assert not status(c, 2) & ST_NULL
    to_tick(c, t + 1 + 149)
    assert latch(c, 2) == 1 and out2(c) == 0
    to_tick(c, t + 1 + 150)
    assert latch(c, 2) == 50


def test_mode2_gate_low_forces_out_high_and_trigger_reloads():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x01)
    t = program(c, 2, 2, 100)
    to_tick(c, t + 1 + 99)
    assert out2(c) == 0
    outb(c, PORT_B, 0x00)
    assert out2(c) == 1                              # at once
    to_tick(c, t + 1 + 150)
    assert latch(c, 2) == 1                          # held
    outb(c, PORT_B, 0x01)                            # trigger: reload next clock
    tg = now_tick(c)
    to_tick(c, tg + 1 + 10)
    assert latch(c, 2) == 90


# --- mode 3: square wave ----------------------------------------------------

@pytest.mark.parametrize("n", [10, 9])
def test_mode3_square_wave_counts(n):
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x01)
    t = program(c, 2, 3, n)
    high = (n + 1) // 2
    seen = []
    for k in range(2 * n):
        to_tick(c, t + 1 + k)
        seen.append((latch(c, 2), out2(c)))
    if n == 10:     # even: by 2 from N in each half, halves of N/2 clocks
        half = [(10, 1), (8, 1), (6, 1), (4, 1), (2, 1)]
        assert seen == (half + [(v, 0) for v, _ in half]) * 2
    else:           # odd: high (N+1)/2 = N, N-1, then by 2; low (N-1)/2 = N, N-3, by 2
        cycle = [(9, 1), (8, 1), (6, 1), (4, 1), (2, 1), (9, 0), (6, 0), (4, 0), (2, 0)]
        assert seen == cycle * 2
    assert sum(o for _, o in seen[:n]) == high


def test_mode3_irq0_rate_100hz(cpu):
    n = 11932
    t = program(cpu, 0, 3, n)
    start = cpu.time_ns
    count = 0
    for _ in range(1000):                            # 1 s in 1 ms steps
        cpu.advance_time(1_000_000)
        count += take_irq0(cpu)
    assert count == (ticks(start + 1_000_000_000) - (t + 1)) // n == 99


def test_bios_default_18_2_hz(cpu):
    t = program(cpu, 0, 3, 0)                        # count 0 = 65536
    start = cpu.time_ns
    count = 0
    for _ in range(200):                             # 10 s in 50 ms steps
        cpu.advance_time(50_000_000)
        count += take_irq0(cpu)
    assert count == (ticks(start + 10_000_000_000) - (t + 1)) // 65536 == 182


# --- modes 4 and 5: strobes -------------------------------------------------

def test_mode4_software_strobe_interrupts_at_strobe_end(cpu):
    n = 2000
    t = program(cpu, 0, 4, n)
    to_tick(cpu, t + 1 + 500)
    assert latch(cpu, 0) == 1500
    to_tick(cpu, t + 1 + n)
    assert latch(cpu, 0) == 0
    assert not status(cpu, 0) & ST_OUT               # the one-clock strobe
    assert not cpu.interrupt_pending()
    to_tick(cpu, t + 2 + n)                          # OUT rises: IRQ0
    assert status(cpu, 0) & ST_OUT
    assert latch(cpu, 0) == 0xFFFF
    assert take_irq0(cpu) == 1
    cpu.advance_time(100_000_000)
    assert take_irq0(cpu) == 0


def test_mode5_hardware_strobe():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x00)
    t = program(c, 2, 5, 300)
    to_tick(c, t + 50)
    assert out2(c) == 1
    outb(c, PORT_B, 0x01)                            # trigger
    tg = now_tick(c)
    to_tick(c, tg + 1 + 100)
    assert latch(c, 2) == 200
    to_tick(c, tg + 1 + 300)
    assert out2(c) == 0
    to_tick(c, tg + 2 + 300)
    assert out2(c) == 1


# --- BCD, access modes, latch, read-back ------------------------------------

def test_bcd_counting():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x01)
    t = program(c, 2, 0, 0x1000, bcd=True)           # 1000 decimal
    to_tick(c, t + 1 + 1)
    assert latch(c, 2) == 0x0999
    to_tick(c, t + 1 + 358)
    assert latch(c, 2) == 0x0642
    to_tick(c, t + 1 + 1001)
    assert latch(c, 2) == 0x9999                     # wraps in decimal
    assert status(c, 2) & 0x01


def test_bcd_zero_is_ten_thousand(cpu):
    t = program(cpu, 0, 2, 0x0000, bcd=True)
    to_tick(cpu, t + 1 + 1)
    assert latch(cpu, 0) == 0x9999
    to_tick(cpu, t + 1 + 10000)
    assert latch(cpu, 0) == 0x0000
    assert take_irq0(cpu) == 1


def test_lsb_only_and_msb_only_access():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x01)
    t = program(c, 2, 0, 0x40, rw=RW_LSB)
    to_tick(c, t + 1 + 0x10)
    assert inb(c, CH2) == 0x30
    assert inb(c, CH2) == 0x30                       # every read is the LSB
    t = program(c, 2, 0, 0x0200, rw=RW_MSB)
    to_tick(c, t + 1 + 0x100)
    assert inb(c, CH2) == 0x01
    outb(c, CONTROL, 0x80)                           # latch: one byte, the MSB
    to_tick(c, t + 1 + 0x180)
    assert inb(c, CH2) == 0x01
    assert inb(c, CH2) == 0x00                       # unlatched again


def test_counter_latch_holds_until_read():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x01)
    t = program(c, 2, 0, 5000)
    to_tick(c, t + 1 + 100)
    outb(c, CONTROL, 0x80)
    to_tick(c, t + 1 + 200)
    outb(c, CONTROL, 0x80)                           # ignored: not read yet
    assert inb(c, CH2) == (4900 & 0xFF)
    to_tick(c, t + 1 + 300)
    assert inb(c, CH2) == 4900 >> 8
    assert latch(c, 2) == 4700                       # a new latch
    # unlatched word reads alternate LSB, MSB
    to_tick(c, t + 1 + 1000)
    lo = inb(c, CH2)
    hi = inb(c, CH2)
    assert lo | hi << 8 == 4000


def test_read_back_several_counters(cpu):
    t0 = program(cpu, 0, 2, 1000)
    t1 = program(cpu, 1, 2, 18, rw=RW_LSB)
    outb(cpu, PORT_B, 0x01)
    t2 = program(cpu, 2, 3, 0x0500, bcd=True)
    k = now_tick(cpu) + 100
    to_tick(cpu, k)
    outb(cpu, CONTROL, 0xCE)                         # count + status, CNT0-2
    to_tick(cpu, k + 50)                             # latched values do not move
    k0 = (k - t0 - 1) % 1000
    assert inb(cpu, CH0) == (0 if k0 == 999 else ST_OUT) | 0x34   # LSB/MSB, mode 2
    assert inb(cpu, CH0) | inb(cpu, CH0) << 8 == 1000 - k0
    k1 = (k - t1 - 1) % 18
    assert inb(cpu, CH1) == (0 if k1 == 17 else ST_OUT) | 0x14    # LSB only, mode 2
    assert inb(cpu, CH1) == 18 - k1                  # one byte
    k2 = (k - t2 - 1) % 500
    st2 = inb(cpu, CH2)
    assert st2 == (ST_OUT if k2 < 250 else 0) | 0x37  # LSB/MSB, mode 3, BCD
    v = inb(cpu, CH2) | inb(cpu, CH2) << 8
    assert v == int(str(500 - 2 * (k2 % 250)), 16)


def test_read_back_status_then_count_order(cpu):
    t = program(cpu, 0, 2, 1000)
    to_tick(cpu, t + 1 + 10)
    outb(cpu, CONTROL, 0xC2)                         # count and status, CNT0
    assert inb(cpu, CH0) == 0xB4
    assert inb(cpu, CH0) | inb(cpu, CH0) << 8 == 990
    outb(cpu, CONTROL, 0xE2)                         # status only
    assert inb(cpu, CH0) == 0xB4
    outb(cpu, CONTROL, 0xD2)                         # count only
    assert inb(cpu, CH0) | inb(cpu, CH0) << 8 == 990


def test_null_count_flag(cpu):
    outb(cpu, CONTROL, 0x34)
    assert status(cpu, 0) & ST_NULL                  # set by the control word
    outb(cpu, CH0, 0x00)
    outb(cpu, CH0, 0x10)
    assert status(cpu, 0) & ST_NULL                  # written, not yet loaded
    to_tick(cpu, now_tick(cpu) + 1)
    assert not status(cpu, 0) & ST_NULL


def test_mode_6_and_7_are_modes_2_and_3(cpu):
    t = program(cpu, 0, 6, 100)
    to_tick(cpu, t + 1 + 99)
    assert status(cpu, 0) & 0x0E == 0x0C             # status shows M2-M0 as written
    assert not status(cpu, 0) & ST_OUT               # behaves as mode 2
    to_tick(cpu, t + 1 + 100)
    assert take_irq0(cpu) == 1


# --- port 0x61 --------------------------------------------------------------

def test_port61_latch_bits_and_refresh_toggle():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0xFF)
    assert inb(c, PORT_B) & 0xCF == 0x0F             # bits 0-3 read back, 6-7 zero
    outb(c, PORT_B, 0x0C)
    assert inb(c, PORT_B) & 0x0F == 0x0C
    # bit 4 toggles every 18 clocks (15.085 us), the AT refresh request
    k = (now_tick(c) // 18 + 1) * 18
    seen = []
    for i in range(4):
        to_tick(c, k + 18 * i)
        seen.append((inb(c, PORT_B) >> 4) & 1)
        to_tick(c, k + 18 * i + 17)
        assert (inb(c, PORT_B) >> 4) & 1 == seen[-1]
    assert seen in ([0, 1, 0, 1], [1, 0, 1, 0])


def test_port61_out2_follows_counter2():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x00)
    program(c, 2, 0, 50)
    assert out2(c) == 0                              # mode 0, gate low: held
    c.advance_time(1_000_000)
    assert out2(c) == 0
    outb(c, PORT_B, 0x01)
    c.advance_time(100_000)                          # 119 clocks > 51
    assert out2(c) == 1


# --- speaker ----------------------------------------------------------------

def test_speaker_log_records_tone_changes():
    c = Cpu(memory_size=1 << 20, model="386")
    c.speaker_log()
    outb(c, PORT_B, 0x00)
    program(c, 2, 3, 1193)
    assert c.speaker_log() == []                     # not enabled yet
    c.advance_time(1_000_000)
    t1 = c.time_ns
    outb(c, PORT_B, 0x03)                            # gate + speaker data
    c.advance_time(250_000_000)
    t2 = c.time_ns
    outb(c, CH2, 2386 & 0xFF)                        # lower the pitch
    outb(c, CH2, 2386 >> 8)
    c.advance_time(250_000_000)
    t3 = c.time_ns
    outb(c, PORT_B, 0x01)                            # speaker off
    log = c.speaker_log()
    assert [t for t, _ in log] == [t1, t2, t3]
    assert log[0][1] == pytest.approx(PIT_HZ / 1193)
    assert log[1][1] == pytest.approx(PIT_HZ / 2386)
    assert log[2][1] == 0
    assert c.speaker_log() == []                     # drained


def test_speaker_needs_mode3_and_both_enable_bits():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, PORT_B, 0x02)                            # data enable, gate low
    program(c, 2, 3, 1000)
    assert c.speaker_log() == []
    outb(c, PORT_B, 0x03)
    assert [hz for _, hz in c.speaker_log()] == [pytest.approx(1193.182)]
    program(c, 2, 2, 1000)                           # rate generator: a click, not a tone
    assert [hz for _, hz in c.speaker_log()] == [0]
