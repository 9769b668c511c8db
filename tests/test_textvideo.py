"""Text-mode video ports (hvmm/kernel/textvideo.pxi): the CGA's 6845 CRTC
at 0x3D4/0x3D5 (aliases 0x3D0-0x3D7), mode control 0x3D8, color select
0x3D9, status 0x3DA; the MDA's at 0x3B4/0x3B5, 0x3B8, 0x3BA when present.

Host side: cpu.video_state() -> dict with crtc (18 registers), mode_control,
color_select, cursor_offset, start_address, cursor_start, cursor_end.
"""
import pytest

from hvmm._core import Cpu

CRTC_INDEX, CRTC_DATA, MODE, COLOR, STATUS = 0x3D4, 0x3D5, 0x3D8, 0x3D9, 0x3DA

# INT 10h mode 3 (80x25 color text) CRTC parameters from the IBM BIOS.
MODE3 = [0x71, 0x50, 0x5A, 0x0A, 0x1F, 0x06, 0x19, 0x1C,
         0x02, 0x07, 0x06, 0x07, 0x00, 0x00, 0x00, 0x00]
MODE7 = [0x61, 0x50, 0x52, 0x0F, 0x19, 0x06, 0x19, 0x19,
         0x02, 0x0D, 0x0B, 0x0C, 0x00, 0x00, 0x00, 0x00]

CHAR_NS = 8 / 14.31818e6 * 1e9       # 80-column character clock: 558.73 ns
LINE_NS = 114 * CHAR_NS             # R0 + 1 = 114 characters: 63.70 us (15.70 kHz)
FRAME_NS = 262 * LINE_NS            # 262 lines: 16.69 ms (59.92 Hz)


def outb(cpu, port, value):
    cpu.io_write(port, 1, value)


def inb(cpu, port):
    return cpu.io_read(port, 1)


def crtc_write(cpu, reg, value, index=CRTC_INDEX):
    outb(cpu, index, reg)
    outb(cpu, index + 1, value)


def crtc_read(cpu, reg, index=CRTC_INDEX):
    outb(cpu, index, reg)
    return inb(cpu, index + 1)


def set_mode3(cpu):
    """What the BIOS does for INT 10h AX=0003h: video off, program the
    CRTC, mode control 29h (80x25, video on, blink), color select 30h."""
    outb(cpu, MODE, 0x25)
    for reg, value in enumerate(MODE3):
        crtc_write(cpu, reg, value)
    outb(cpu, MODE, 0x29)
    outb(cpu, COLOR, 0x30)


@pytest.fixture
def cpu():
    c = Cpu(memory_size=1 << 20, model="386")
    set_mode3(c)
    return c


def sample(cpu, port, step_ns, count):
    """Read the status port every step_ns of virtual time."""
    out = []
    for _ in range(count):
        out.append(inb(cpu, port))
        cpu.advance_time(step_ns)
    return out


def rising_edges(bits):
    return [i for i in range(1, len(bits)) if bits[i] and not bits[i - 1]]


def test_mode_registers_in_video_state(cpu):
    st = cpu.video_state()
    assert st["crtc"][:16] == MODE3
    assert len(st["crtc"]) == 18
    assert st["mode_control"] == 0x29
    assert st["color_select"] == 0x30
    assert st["cursor_start"] == 6 and st["cursor_end"] == 7
    assert st["cursor_offset"] == 0 and st["start_address"] == 0


def test_cursor_location_like_int10_ah02(cpu):
    row, col = 12, 40
    pos = row * 80 + col
    crtc_write(cpu, 14, pos >> 8)
    crtc_write(cpu, 15, pos & 0xFF)
    assert crtc_read(cpu, 14) == pos >> 8         # R14/R15 are readable
    assert crtc_read(cpu, 15) == pos & 0xFF
    assert cpu.video_state()["cursor_offset"] == pos


def test_word_out_writes_index_then_data(cpu):
    # out dx, ax with DX = 3D4h: AL -> 3D4h (index), AH -> 3D5h (data)
    cpu.io_write(CRTC_INDEX, 2, (0x07 << 8) | 14)
    cpu.io_write(CRTC_INDEX, 2, (0xD0 << 8) | 15)
    assert cpu.video_state()["cursor_offset"] == 0x7D0


def test_start_address_scrolls_the_page(cpu):
    # Page 1 of mode 3 starts at 4 KiB = 2048 character cells.
    crtc_write(cpu, 12, 0x08)
    crtc_write(cpu, 13, 0x00)
    assert cpu.video_state()["start_address"] == 0x800
    # MC6845: R12/R13 are write only and read 0.
    assert crtc_read(cpu, 12) == 0 and crtc_read(cpu, 13) == 0


def test_cursor_shape(cpu):
    crtc_write(cpu, 10, 0x00)
    crtc_write(cpu, 11, 0x07)          # full block
    st = cpu.video_state()
    assert (st["cursor_start"], st["cursor_end"]) == (0, 7)
    crtc_write(cpu, 10, 0x20)          # BIOS "no cursor": blink field = 01
    assert cpu.video_state()["crtc"][10] == 0x20
    assert cpu.video_state()["cursor_start"] == 0


def test_write_masks(cpu):
    masks = [0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0x1F, 0x7F, 0x7F, 0x03,
             0x1F, 0x7F, 0x1F, 0x3F, 0xFF, 0x3F, 0xFF, 0x00, 0x00]
    for reg in range(18):
        crtc_write(cpu, reg, 0xFF)
    assert cpu.video_state()["crtc"] == masks
    assert crtc_read(cpu, 14) == 0x3F  # 14-bit cursor address
    assert crtc_read(cpu, 15) == 0xFF
    assert crtc_read(cpu, 16) == 0 and crtc_read(cpu, 17) == 0   # light pen: read only
    for reg in (0, 1, 9, 10):
        assert crtc_read(cpu, reg) == 0                          # write-only registers


def test_port_aliases(cpu):
    outb(cpu, 0x3D0, 15)               # even ports: index, odd ports: data
    outb(cpu, 0x3D1, 0x21)
    outb(cpu, 0x3D6, 14)
    outb(cpu, 0x3D3, 0x01)
    assert cpu.video_state()["cursor_offset"] == 0x121
    outb(cpu, 0x3D2, 15)
    assert inb(cpu, 0x3D7) == 0x21


def test_status_horizontal_retrace_period(cpu):
    # Bit 0 (display not enabled) rises once per scan line: 63.7 us apart
    # (15.7 kHz) during the displayed lines, and is set for the last 34 of
    # the 114 character times of each line.
    step = 250
    s = sample(cpu, STATUS, step, int(2 * FRAME_NS / step))
    bit0 = [v & 1 for v in s]
    edges = rising_edges(bit0)
    gaps = [b - a for a, b in zip(edges, edges[1:])]
    line_gaps = [g for g in gaps if abs(g * step - LINE_NS) <= step]
    assert len(line_gaps) >= 2 * 199 - 2
    # Exactly 200 rising edges per frame: one per displayed line (the last
    # one starts the vertical blanking interval).
    assert 399 <= len(edges) <= 401
    for v in s:
        assert v & 0xF0 == 0xF0        # bits 4-7 are not driven


def test_status_vertical_retrace_period_and_width(cpu):
    step = 5000
    s = sample(cpu, STATUS, step, int(3.2 * FRAME_NS / step))
    vs = [(v >> 3) & 1 for v in s]
    edges = rising_edges(vs)
    assert len(edges) >= 2
    for a, b in zip(edges, edges[1:]):
        assert abs((b - a) * step - FRAME_NS) <= step       # 16.69 ms: 59.92 Hz
    width = vs[edges[0]:].index(0)
    assert abs(width * step - 16 * LINE_NS) <= step          # 16 lines: 1.02 ms
    # During vertical retrace the display is blanked too (bit 0 set).
    for i in range(edges[0], edges[0] + width):
        assert s[i] & 0x01


def test_retrace_wait_loop_is_deterministic():
    # Two machines polling the status port at the same virtual times see the
    # same values.
    runs = []
    for _ in range(2):
        c = Cpu(memory_size=1 << 20, model="386")
        set_mode3(c)
        runs.append(sample(c, STATUS, 3331, 6000))
    assert runs[0] == runs[1]


def test_reprogrammed_crtc_changes_the_frame_rate(cpu):
    crtc_write(cpu, 4, 0x3F)           # 64 rows x 8 lines + 6: 518 lines per frame
    frame = 518 * LINE_NS
    step = 10000
    s = sample(cpu, STATUS, step, int(2.5 * frame / step))
    edges = rising_edges([(v >> 3) & 1 for v in s])
    assert len(edges) >= 2
    assert abs((edges[1] - edges[0]) * step - frame) <= step


def test_mda_ports_when_present():
    c = Cpu(memory_size=1 << 20, model="386")
    if inb(c, 0x3BA) == 0xFF:
        pytest.skip("no MDA in this machine")
    for reg, value in enumerate(MODE7):
        crtc_write(c, reg, value, index=0x3B4)
    outb(c, 0x3B8, 0x29)
    crtc_write(c, 15, 0x42, index=0x3B4)
    assert crtc_read(c, 15, index=0x3B4) == 0x42
    # 3BAh: bit 0 horizontal drive, bit 3 video; bit 7 never toggles.
    s = sample(c, 0x3BA, 1000, 25000)
    assert any(v & 1 for v in s) and not all(v & 1 for v in s)
    assert any(v & 8 for v in s) and not all(v & 8 for v in s)
    assert all(v & 0xF0 == 0xF0 for v in s)


# ---- the VGA registers (hvmm/kernel/vga.pxi) -------------------------------

def test_vga_dac_write_and_read_protocol():
    cpu = Cpu()
    outb(cpu, 0x3C8, 250)                       # write index
    for v in (1, 2, 3, 4, 5, 6, 7, 8, 0x7F):    # entries 250-252; 6-bit values
        outb(cpu, 0x3C9, v)
    assert inb(cpu, 0x3C7) == 0                 # DAC state: write mode
    assert inb(cpu, 0x3C8) == 253               # the write index advanced
    outb(cpu, 0x3C7, 251)                       # read index
    assert inb(cpu, 0x3C7) == 3                 # read mode
    assert [inb(cpu, 0x3C9) for _ in range(6)] == [4, 5, 6, 7, 8, 0x3F]
    dac = cpu.video_state()["vga"]["dac"]
    assert dac[250 * 3: 253 * 3] == bytes([1, 2, 3, 4, 5, 6, 7, 8, 0x3F])
    # An entry is stored when its third component arrives.
    outb(cpu, 0x3C8, 0)
    outb(cpu, 0x3C9, 9)
    outb(cpu, 0x3C9, 9)
    assert cpu.video_state()["vga"]["dac"][:3] == b"\0\0\0"


def test_vga_attribute_flipflop_reset_by_status_read():
    cpu = Cpu()
    inb(cpu, STATUS)                            # flip-flop to "index"
    outb(cpu, 0x3C0, 0x10)                      # index: mode control
    outb(cpu, 0x3C0, 0x41)                      # data (mode 13h's value)
    outb(cpu, 0x3C0, 0x11)                      # index again: overscan
    inb(cpu, STATUS)                            # reset: next write is an index
    outb(cpu, 0x3C0, 0x12)
    outb(cpu, 0x3C0, 0x0F)
    attr = cpu.video_state()["vga"]["attr"]
    assert attr[0x10] == 0x41 and attr[0x11] == 0 and attr[0x12] == 0x0F
    outb(cpu, 0x3C0, 0x30)                      # index 10h, palette source on
    assert inb(cpu, 0x3C1) == 0x41 and inb(cpu, 0x3C0) == 0x30


def test_vga_sequencer_graphics_misc_read_back():
    cpu = Cpu()
    for index_port, regs in ((0x3C4, [0x03, 0x01, 0x0F, 0x00, 0x0E]),
                             (0x3CE, [0, 0, 0, 0, 0, 0x40, 0x05, 0x0F, 0xFF])):
        for i, v in enumerate(regs):
            outb(cpu, index_port, i)
            outb(cpu, index_port + 1, v)
        for i, v in enumerate(regs):
            outb(cpu, index_port, i)
            assert inb(cpu, index_port + 1) == v
    assert cpu.video_state()["frame_buffer"] == 0xB8000
    outb(cpu, 0x3C2, 0x62)                      # misc output: mono addressing
    assert inb(cpu, 0x3CC) == 0x62
    assert cpu.video_state()["frame_buffer"] == 0xB0000


def test_vga_mono_mode_moves_crtc_to_3b4():
    cpu = Cpu()
    crtc_write(cpu, 14, 0x01, index=0x3B4)      # no MDA, colour mode: unclaimed
    assert crtc_read(cpu, 14) == 0
    outb(cpu, 0x3C2, 0x66)                      # mono addressing (mode 7)
    crtc_write(cpu, 14, 0x02, index=0x3B4)
    crtc_write(cpu, 15, 0x34, index=0x3B4)
    assert crtc_read(cpu, 15, index=0x3B4) == 0x34
    assert cpu.video_state()["cursor_offset"] == 0x234
    inb(cpu, 0x3BA)                             # input status 1 at 0x3BA
    outb(cpu, 0x3C0, 0x10)
    outb(cpu, 0x3C0, 0x0E)
    assert cpu.video_state()["vga"]["attr"][0x10] == 0x0E
