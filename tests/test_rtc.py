"""The in-kernel MC146818 RTC/CMOS (hvmm/kernel/rtc.pxi), driven through
ports 0x70/0x71 the way a BIOS and an OS do, on the virtual clock.

The tests set the clock the way a BIOS setup screen does (SET, write the
registers, clear SET) and pin the divider phase by taking the divider out
of reset (the first update then comes exactly 500 ms later), so they do
not depend on the machine's start time."""
import pytest

from hvmm import Cpu

NS = 1_000_000_000
MS = 1_000_000
US = 1_000


@pytest.fixture
def cpu(pic):
    c = Cpu(memory_size=1 << 20, model="386")
    pic.init(c, (8,))
    return c


def rd(cpu, index):
    cpu.io_write(0x70, 1, index)
    return cpu.io_read(0x71, 1)


def wr(cpu, index, value):
    cpu.io_write(0x70, 1, index)
    cpu.io_write(0x71, 1, value)


TIME_REGS = (0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32)


def set_clock(cpu, values, reg_b=0x02):
    """BIOS sequence: SET, format, the time/date registers, SET off; then
    restart the divider so that the next update is exactly 500 ms away.
    Returns the virtual time of that update."""
    wr(cpu, 0x0B, 0x80 | reg_b)
    for index, v in zip(TIME_REGS, values):
        wr(cpu, index, v)
    wr(cpu, 0x0A, 0x76)          # divider in reset
    wr(cpu, 0x0B, reg_b)
    wr(cpu, 0x0A, 0x26)          # 32.768 kHz, 1024 Hz periodic rate
    rd(cpu, 0x0C)
    return cpu.time_ns + 500 * MS


def read_clock(cpu):
    return [rd(cpu, i) for i in TIME_REGS]


# 2024-02-29 (Thursday) 23:59:58
LEAP_EVE_BCD = [0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20]
LEAP_EVE_BIN = [58, 59, 23, 5, 29, 2, 24, 20]


def test_registers_at_power_on(cpu):
    assert rd(cpu, 0x0A) & 0x7F == 0x26
    assert rd(cpu, 0x0B) & 0x7F == 0x02          # BCD, 24-hour (SET may vary)
    assert rd(cpu, 0x0D) == 0x80                 # VRT: battery good


def test_clock_runs_bcd(cpu):
    upd = set_clock(cpu, LEAP_EVE_BCD)
    assert read_clock(cpu) == LEAP_EVE_BCD
    cpu.advance_time(upd - cpu.time_ns + NS)     # two updates: Feb 29 -> Mar 1
    assert read_clock(cpu) == [0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24, 0x20]


def test_clock_runs_binary(cpu):
    upd = set_clock(cpu, LEAP_EVE_BIN, reg_b=0x06)
    assert read_clock(cpu) == LEAP_EVE_BIN
    cpu.advance_time(upd - cpu.time_ns)
    assert rd(cpu, 0x00) == 59
    cpu.advance_time(NS)
    assert read_clock(cpu) == [0, 0, 0, 6, 1, 3, 24, 20]


def test_12_hour_mode(cpu):
    upd = set_clock(cpu, [0x58, 0x59, 0x91, 0x05, 0x29, 0x02, 0x24, 0x20],
                    reg_b=0x00)                   # 11:59:58 PM, BCD, 12-hour
    assert rd(cpu, 0x04) == 0x91
    cpu.advance_time(upd - cpu.time_ns + NS)
    assert rd(cpu, 0x04) == 0x12                 # 12 AM
    cpu.advance_time(12 * 3600 * NS)
    assert rd(cpu, 0x04) == 0x92                 # 12 PM
    cpu.advance_time(3600 * NS)
    assert rd(cpu, 0x04) == 0x81                 # 1 PM


def test_set_bit_freezes_the_clock(cpu):
    upd = set_clock(cpu, LEAP_EVE_BCD)
    wr(cpu, 0x0B, 0x82)
    cpu.advance_time(5 * NS)
    assert rd(cpu, 0x00) == 0x58
    assert not rd(cpu, 0x0A) & 0x80              # no update cycles under SET


def test_uip_near_a_second_boundary(cpu):
    upd = set_clock(cpu, LEAP_EVE_BCD)
    cpu.advance_time(upd - 250 * US - cpu.time_ns)
    assert not rd(cpu, 0x0A) & 0x80
    cpu.advance_time(10 * US)                    # 240 us before the update
    assert rd(cpu, 0x0A) & 0x80
    assert rd(cpu, 0x00) == 0x58                 # still the old second
    cpu.advance_time(239 * US)
    assert rd(cpu, 0x0A) & 0x80
    cpu.advance_time(1 * US)                     # the update
    assert not rd(cpu, 0x0A) & 0x80
    assert rd(cpu, 0x00) == 0x59
    # A BIOS's read loop: wait for UIP clear, then read.
    cpu.advance_time(NS - 100 * US)
    spins = 0
    while rd(cpu, 0x0A) & 0x80:
        cpu.advance_time(10 * US)
        spins += 1
    assert spins == 10
    assert rd(cpu, 0x00) == 0x00


@pytest.mark.parametrize("rate,hz", [(6, 1024), (3, 8192), (1, 256), (15, 2)])
def test_periodic_interrupt_rate(pic, cpu, rate, hz):
    set_clock(cpu, LEAP_EVE_BCD)
    wr(cpu, 0x0A, 0x20 | rate)
    rd(cpu, 0x0C)
    wr(cpu, 0x0B, 0x42)                          # PIE
    count = 0
    step = 50 * US                               # < the shortest period (122 us)
    for _ in range(NS // 2 // step):             # half a second
        cpu.advance_time(step)
        vec = pic.take_interrupt(cpu)
        if vec is not None:
            assert vec == 0x70                   # IRQ 8
            assert rd(cpu, 0x0C) & 0xC0 == 0xC0  # IRQF + PF; the read re-arms
            count += 1
    assert count == hz // 2


def test_register_c_clears_on_read(pic, cpu):
    upd = set_clock(cpu, LEAP_EVE_BCD)
    wr(cpu, 0x05, 0x12)                          # alarm at noon, not at midnight
    cpu.advance_time(upd - cpu.time_ns)
    # Flags are set whatever the enables: periodic and update-ended.
    assert rd(cpu, 0x0C) == 0x50
    assert rd(cpu, 0x0C) == 0x00
    assert pic.take_interrupt(cpu) is None           # nothing enabled
    cpu.advance_time(NS)
    wr(cpu, 0x0B, 0x12)                          # UIE with UF already set
    assert pic.take_interrupt(cpu) == 0x70
    assert rd(cpu, 0x0C) == 0xD0
    assert rd(cpu, 0x0C) == 0x00


def test_alarm_interrupt(pic, cpu):
    upd = set_clock(cpu, LEAP_EVE_BCD)
    wr(cpu, 0x01, 0x05)                          # alarm 00:00:05
    wr(cpu, 0x03, 0x00)
    wr(cpu, 0x05, 0x00)
    rd(cpu, 0x0C)
    wr(cpu, 0x0B, 0x22)                          # AIE
    due = upd + 6 * NS                           # 23:59:59 at upd, 00:00:05 six later
    cpu.advance_time(due - 1 - cpu.time_ns)
    assert pic.take_interrupt(cpu) is None
    assert rd(cpu, 0x0C) & 0x20 == 0
    cpu.advance_time(1)
    assert pic.take_interrupt(cpu) == 0x70
    assert rd(cpu, 0x0C) & 0xA0 == 0xA0
    assert rd(cpu, 0x00) == 0x05


def test_alarm_dont_care(pic, cpu):
    upd = set_clock(cpu, LEAP_EVE_BCD)
    wr(cpu, 0x01, 0xC0)                          # every second
    wr(cpu, 0x03, 0xC0)
    wr(cpu, 0x05, 0xC0)
    rd(cpu, 0x0C)
    wr(cpu, 0x0B, 0x22)
    n = 0
    cpu.advance_time(upd - cpu.time_ns)
    for _ in range(3):
        assert pic.take_interrupt(cpu) == 0x70
        assert rd(cpu, 0x0C) & 0x20
        n += 1
        cpu.advance_time(NS)
    assert n == 3


def test_update_ended_interrupt(pic, cpu):
    upd = set_clock(cpu, LEAP_EVE_BCD)
    wr(cpu, 0x0B, 0x12)                          # UIE
    cpu.advance_time(upd - 1 - cpu.time_ns)
    assert pic.take_interrupt(cpu) is None
    for k in range(4):
        cpu.advance_time(1 if k == 0 else NS)
        assert pic.take_interrupt(cpu) == 0x70
        assert rd(cpu, 0x0C) & 0x90 == 0x90
        assert pic.take_interrupt(cpu) is None
    wr(cpu, 0x0B, 0x92)                          # SET clears UIE
    assert rd(cpu, 0x0B) == 0x82


def test_nmi_mask_bit(cpu):
    cpu.io_write(0x70, 1, 0x8D)                  # index D, NMI masked
    assert cpu.io_read(0x71, 1) == 0x80          # bit 7 is not part of the index
    assert cpu.nmi_masked
    cpu.io_write(0x70, 1, 0x0D)
    assert not cpu.nmi_masked


def test_cmos_ram_and_checksum(cpu):
    for i in range(0x10, 0x2E):
        cpu.cmos_write(i, (i * 7) & 0xFF)
    cpu.cmos_update_checksum()
    total = sum((i * 7) & 0xFF for i in range(0x10, 0x2E))
    assert (rd(cpu, 0x2E) << 8) | rd(cpu, 0x2F) == total
    assert cpu.cmos_read(0x2E) == total >> 8
    wr(cpu, 0x50, 0xA5)                          # plain RAM up to 0x7F
    assert cpu.cmos_read(0x50) == 0xA5
    assert rd(cpu, 0x50) == 0xA5
