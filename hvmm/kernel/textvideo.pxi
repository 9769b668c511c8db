# Text-mode video ports: the IBM Color/Graphics Adapter (CGA, ports 0x3D0-
# 0x3DC) and Monochrome Display Adapter (MDA, 0x3B0-0x3BA), each built around
# a Motorola 6845 CRT controller.
#
# The frame buffers (B8000, 16 KiB on the CGA; B0000, 4 KiB on the MDA) are
# plain guest RAM: the console reads them directly, using the accessors at
# the end of this file for the CRTC state (start address, cursor, shape,
# mode control). Nothing here is per instruction and nothing interrupts (the
# CGA and MDA have no IRQ): the status ports compute the raster position
# from the virtual clock `now` when they are read.
#
# Raster model. The 6845 counts character clocks: R0+1 per scan line, of
# which R1 are displayed, horizontal sync from character R2 for R3; R9+1
# scan lines per character row, R4+1 rows plus R5 lines per frame, R6 rows
# displayed, vertical sync from row R7 for 16 scan lines (fixed on the
# MC6845). The character clock is the dot clock over the character width:
# CGA 14.31818 MHz / 8 (80 columns, mode control bit 0) or / 16 (40 columns
# and graphics), MDA 16.257 MHz / 9. Timing is recomputed from the
# registers on every CRTC or mode write, so a guest that reprograms the CRTC
# changes the refresh rate as on the real card. Until the registers are
# programmed (R0 or R4 zero, e.g. after reset) the BIOS values are used:
#   CGA 80x25: 114 chars x 558.73 ns = 63.70 us per line (15.70 kHz),
#              262 lines = 16.69 ms per frame (59.92 Hz), 200 displayed,
#              vertical sync on lines 224-239 (1.02 ms);
#   MDA:       98 chars x 553.61 ns = 54.25 us per line (18.43 kHz),
#              370 lines = 20.07 ms per frame (49.82 Hz), 350 displayed,
#              vertical sync on lines 350-365.
# Time 0 is the first displayed line of a frame; the position is
# ((now * 1000) mod frame_ps), exact in picoseconds, so a tight polling loop
# costs two 64-bit divisions per read and is deterministic. Interlace (R8)
# and the cursor/display skew of later 6845 variants are not modelled.
#
# Status port semantics:
#   CGA 0x3DA: bit 0 = 1 when the display is not enabled (horizontal or
#     vertical blanking: "memory can be accessed without snow"); bit 1 light
#     pen trigger latched; bit 2 light pen switch (1 = open: no pen);
#     bit 3 = 6845 vertical sync; bits 4-7 read 1 (not driven).
#   MDA 0x3BA: bit 0 = horizontal drive (the 6845 HSYNC pulse); bit 3 =
#     the black/white video signal, which on the real card follows the lit
#     dots; we do not look at the frame buffer, so it reads 1 over the
#     displayed part of each line and 0 in horizontal and vertical blanking
#     (so it is 0 throughout vertical retrace, as software that watches it
#     for retrace expects). Bits 4-7 read 1 and never toggle: in particular
#     bit 7 is constant, which is how Hercules detection tells an MDA.
#
# CRTC reads follow the MC6845: only R14-R17 (cursor, light pen) can be
# read; the other registers are write-only and read 0, and so does any index
# above 17. The index register itself is write-only: reading it returns
# 0xFF (nothing drives the bus). Write-only adapter registers (mode control,
# color select, light pen latch ports) also read 0xFF.

cdef enum:
    TV_CGA = 1                  # adapter bits for TextVideoState.present
    TV_MDA = 2
    TV_VGA = 4                  # with TV_CGA: the VGA registers (vga.pxi) too

cdef enum:
    TV_CGA_BASE = 0x3D0         # 0x3D0-0x3D7: CRTC index (even) / data (odd)
    TV_CGA_MODE = 0x3D8         # mode control (write only)
    TV_CGA_COLOR = 0x3D9        # color select (write only)
    TV_CGA_STATUS = 0x3DA       # status (read only)
    TV_CGA_LP_CLEAR = 0x3DB     # write: clear the light pen latch
    TV_CGA_LP_PRESET = 0x3DC    # write: set the light pen latch
    TV_MDA_BASE = 0x3B0         # 0x3B0-0x3B7: CRTC index (even) / data (odd)
    TV_MDA_MODE = 0x3B8         # mode control (write only)
    TV_MDA_STATUS = 0x3BA       # status (read only)

# 6845 registers.
cdef enum:
    CRTC_H_TOTAL = 0
    CRTC_H_DISPLAYED = 1
    CRTC_H_SYNC_POS = 2
    CRTC_SYNC_WIDTH = 3
    CRTC_V_TOTAL = 4
    CRTC_V_TOTAL_ADJ = 5
    CRTC_V_DISPLAYED = 6
    CRTC_V_SYNC_POS = 7
    CRTC_INTERLACE = 8
    CRTC_MAX_SCANLINE = 9
    CRTC_CURSOR_START = 10      # bits 0-4 first line, bits 5-6 blink mode
    CRTC_CURSOR_END = 11
    CRTC_START_HI = 12
    CRTC_START_LO = 13
    CRTC_CURSOR_HI = 14
    CRTC_CURSOR_LO = 15
    CRTC_LPEN_HI = 16           # read only
    CRTC_LPEN_LO = 17           # read only
    CRTC_NREGS = 18
    CRTC_VSYNC_LINES = 16       # MC6845: vertical sync is 16 scan lines wide

# CGA mode control (0x3D8) and status bits.
cdef enum:
    TV_MODE_HIRES = 0x01        # 80x25 text: 8-dot character clock
    TV_MODE_GRAPHICS = 0x02
    TV_MODE_BW = 0x04
    TV_MODE_VIDEO = 0x08        # video enable
    TV_MODE_640 = 0x10
    TV_MODE_BLINK = 0x20        # attribute bit 7 = blink (else intensity)
    TV_MODE_MASK = 0x3F
    TV_STAT_NOT_DE = 0x01       # CGA: display not enabled (MDA: hsync)
    TV_STAT_LP_TRIGGER = 0x02
    TV_STAT_LP_SWITCH = 0x04    # 1 = switch open (no pen)
    TV_STAT_VSYNC = 0x08        # CGA: vertical sync (MDA: video)
    TV_STAT_FLOAT = 0xF0

# Character clock periods in picoseconds.
cdef enum:
    TV_CGA_CHAR_PS_80 = 558730      # 8 dots / 14.318181 MHz
    TV_CGA_CHAR_PS_40 = 1117460     # 16 dots / 14.318181 MHz
    TV_MDA_CHAR_PS = 553608         # 9 dots / 16.257 MHz

# Bits that exist in each 6845 register (the rest read/store as 0).
cdef uint8_t crtc_write_mask[CRTC_NREGS]
crtc_write_mask[:] = [0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0x1F, 0x7F, 0x7F, 0x03,
                      0x1F, 0x7F, 0x1F, 0x3F, 0xFF, 0x3F, 0xFF, 0x00, 0x00]

# What the BIOS programs (INT 10h mode 3, mode 1, MDA mode 7): used for the
# timing until the guest has programmed the registers.
cdef uint8_t crtc_default_cga80[10]
cdef uint8_t crtc_default_cga40[10]
cdef uint8_t crtc_default_mda[10]
crtc_default_cga80[:] = [0x71, 0x50, 0x5A, 0x0A, 0x1F, 0x06, 0x19, 0x1C, 0x02, 0x07]
crtc_default_cga40[:] = [0x38, 0x28, 0x2D, 0x0A, 0x1F, 0x06, 0x19, 0x1C, 0x02, 0x07]
crtc_default_mda[:] = [0x61, 0x50, 0x52, 0x0F, 0x19, 0x06, 0x19, 0x19, 0x02, 0x0D]


ctypedef struct TvCrtc:
    uint8_t index               # selected register (5 bits)
    uint8_t regs[CRTC_NREGS]    # as written, masked
    uint8_t mode                # mode control register
    uint8_t lp_latched          # CGA light pen trigger flip-flop
    uint8_t is_mda
    # Raster timing derived from the registers (tv_retime).
    uint64_t char_ps            # one character clock
    uint64_t line_ps            # one scan line
    uint64_t frame_ps           # one frame
    uint32_t h_total, h_displayed, hsync_start, hsync_end
    uint32_t v_lines, v_displayed, vsync_start, row_lines

ctypedef struct TextVideoState:
    uint32_t present            # TV_CGA | TV_MDA: which adapters answer
    TvCrtc cga
    TvCrtc mda
    uint8_t color_select        # CGA 0x3D9
    VgaRegs vga                 # ports 0x3C0-0x3CF when present has TV_VGA


cdef void tv_retime(TvCrtc* c) noexcept nogil:
    cdef const uint8_t* r = c.regs
    cdef uint32_t w
    if c.is_mda:
        c.char_ps = TV_MDA_CHAR_PS
    elif c.mode & TV_MODE_HIRES:
        c.char_ps = TV_CGA_CHAR_PS_80
    else:
        c.char_ps = TV_CGA_CHAR_PS_40
    if r[CRTC_H_TOTAL] == 0 or r[CRTC_V_TOTAL] == 0:
        if c.is_mda:
            r = crtc_default_mda
        elif c.mode & TV_MODE_HIRES:
            r = crtc_default_cga80
        else:
            r = crtc_default_cga40
    c.h_total = r[CRTC_H_TOTAL] + 1
    c.h_displayed = min(<uint32_t>r[CRTC_H_DISPLAYED], c.h_total)
    w = r[CRTC_SYNC_WIDTH] & 0x0F
    c.hsync_start = r[CRTC_H_SYNC_POS]
    c.hsync_end = c.hsync_start + (w if w else 16)
    c.row_lines = (r[CRTC_MAX_SCANLINE] & 0x1F) + 1
    c.v_lines = ((r[CRTC_V_TOTAL] & 0x7F) + 1) * c.row_lines + (r[CRTC_V_TOTAL_ADJ] & 0x1F)
    c.v_displayed = min((r[CRTC_V_DISPLAYED] & 0x7F) * c.row_lines, c.v_lines)
    c.vsync_start = (r[CRTC_V_SYNC_POS] & 0x7F) * c.row_lines
    c.line_ps = c.h_total * c.char_ps
    c.frame_ps = c.v_lines * c.line_ps


cdef void tv_crtc_reset(TvCrtc* c, int is_mda) noexcept nogil:
    memset(c, 0, sizeof(TvCrtc))
    c.is_mda = is_mda
    tv_retime(c)


cdef void textvideo_init(TextVideoState* s, uint32_t present) noexcept nogil:
    """present: TV_CGA, TV_MDA or both; an absent adapter's ports decline."""
    s.present = present
    textvideo_reset(s)


cdef void textvideo_reset(TextVideoState* s) noexcept nogil:
    tv_crtc_reset(&s.cga, 0)
    tv_crtc_reset(&s.mda, 1)
    s.color_select = 0
    vga_reset(&s.vga)


# ------------------------------------------------------------ raster

cdef inline void tv_raster(TvCrtc* c, uint64_t now, uint32_t* line, uint32_t* ch) noexcept nogil:
    """Scan line in the frame and character clock in the line at `now`."""
    # (now * 1000) mod frame_ps without overflow: reduce first.
    cdef uint64_t t = ((now % c.frame_ps) * 1000) % c.frame_ps
    cdef uint64_t l = t // c.line_ps
    line[0] = <uint32_t>l
    ch[0] = <uint32_t>((t - l * c.line_ps) // c.char_ps)


cdef inline int tv_in_vsync(TvCrtc* c, uint32_t line) noexcept nogil:
    # The pulse starts at row R7 and may run past the end of the frame.
    if c.vsync_start >= c.v_lines:
        return 0                # R7 beyond R4: the 6845 never syncs
    if line >= c.vsync_start:
        return line - c.vsync_start < CRTC_VSYNC_LINES
    return line + c.v_lines - c.vsync_start < CRTC_VSYNC_LINES


cdef uint8_t tv_status(TvCrtc* c, uint64_t now) noexcept nogil:
    cdef uint32_t line, ch
    cdef int de
    cdef uint8_t v = TV_STAT_FLOAT
    tv_raster(c, now, &line, &ch)
    de = line < c.v_displayed and ch < c.h_displayed
    if c.is_mda:
        if c.hsync_start <= ch < c.hsync_end:
            v |= TV_STAT_NOT_DE         # +horizontal drive
        if de:
            v |= TV_STAT_VSYNC          # +video (approximation, see above)
        return v
    v |= TV_STAT_LP_SWITCH
    if c.lp_latched:
        v |= TV_STAT_LP_TRIGGER
    if not de:
        v |= TV_STAT_NOT_DE
    if tv_in_vsync(c, line):
        v |= TV_STAT_VSYNC
    return v


cdef void tv_light_pen_strobe(TvCrtc* c, uint64_t now) noexcept nogil:
    """Latch the refresh address the 6845 is at into R16/R17 (approximate:
    start + row * R1 + character clock in the line)."""
    cdef uint32_t line, ch, ma
    tv_raster(c, now, &line, &ch)
    ma = ((<uint32_t>c.regs[CRTC_START_HI] << 8) | c.regs[CRTC_START_LO])
    ma += (line // c.row_lines) * c.h_displayed + ch
    c.regs[CRTC_LPEN_HI] = (ma >> 8) & 0x3F
    c.regs[CRTC_LPEN_LO] = ma & 0xFF
    c.lp_latched = 1


# ------------------------------------------------------------ ports

cdef uint8_t tv_crtc_read(TvCrtc* c, uint32_t reg) noexcept nogil:
    if (reg & 1) == 0:
        return 0xFF                     # address register: write only
    if CRTC_CURSOR_HI <= c.index <= CRTC_LPEN_LO:
        return c.regs[c.index]
    return 0                            # write-only or nonexistent register


cdef void tv_crtc_write(TvCrtc* c, uint32_t reg, uint8_t v) noexcept nogil:
    if (reg & 1) == 0:
        c.index = v & 0x1F
    elif c.index < CRTC_NREGS:
        c.regs[c.index] = v & crtc_write_mask[c.index]
        if c.index <= CRTC_MAX_SCANLINE:
            tv_retime(c)


cdef inline uint32_t tv_vga_mono_port(TextVideoState* s, uint32_t port) noexcept nogil:
    # A VGA with miscellaneous output bit 0 clear (mode 7) answers its CRTC
    # and input status 1 at 0x3B4/0x3B5/0x3BA instead of 0x3D4/0x3D5/0x3DA;
    # with no MDA present, fold those ports onto the CRTC modelled here.
    # (The colour addresses keep answering too: a simplification.)
    if (s.present & (TV_VGA | TV_MDA)) == TV_VGA and not s.vga.misc & 1 and (
            TV_MDA_BASE <= port < TV_MDA_MODE or port == TV_MDA_STATUS):
        return port + (TV_CGA_BASE - TV_MDA_BASE)
    return port


cdef int tv_read8(TextVideoState* s, uint32_t port, uint8_t* v, uint64_t now) noexcept nogil:
    port = tv_vga_mono_port(s, port)
    if (s.present & TV_VGA) and VGA_ATTR <= port <= VGA_GC_DATA:
        return vga_read8(&s.vga, port, v)
    if (s.present & TV_CGA) and TV_CGA_BASE <= port <= TV_CGA_LP_PRESET:
        if port < TV_CGA_MODE:
            v[0] = tv_crtc_read(&s.cga, port - TV_CGA_BASE)
        elif port == TV_CGA_STATUS:
            v[0] = tv_status(&s.cga, now)
            vga_attr_flipflop_reset(&s.vga)     # input status 1 on a VGA
        else:
            v[0] = 0xFF                 # write-only registers
        return 1
    if (s.present & TV_MDA) and TV_MDA_BASE <= port <= TV_MDA_STATUS and port != TV_MDA_MODE + 1:
        if port < TV_MDA_MODE:
            v[0] = tv_crtc_read(&s.mda, port - TV_MDA_BASE)
        elif port == TV_MDA_STATUS:
            v[0] = tv_status(&s.mda, now)
            vga_attr_flipflop_reset(&s.vga)
        else:
            v[0] = 0xFF
        return 1
    return 0


cdef int tv_write8(TextVideoState* s, uint32_t port, uint8_t v, uint64_t now) noexcept nogil:
    port = tv_vga_mono_port(s, port)
    if (s.present & TV_VGA) and VGA_ATTR <= port <= VGA_GC_DATA:
        return vga_write8(&s.vga, port, v)
    if (s.present & TV_CGA) and TV_CGA_BASE <= port <= TV_CGA_LP_PRESET:
        if port < TV_CGA_MODE:
            tv_crtc_write(&s.cga, port - TV_CGA_BASE, v)
        elif port == TV_CGA_MODE:
            s.cga.mode = v & TV_MODE_MASK
            tv_retime(&s.cga)           # bit 0 changes the character clock
        elif port == TV_CGA_COLOR:
            s.color_select = v & 0x3F
        elif port == TV_CGA_LP_CLEAR:
            s.cga.lp_latched = 0
        elif port == TV_CGA_LP_PRESET:
            tv_light_pen_strobe(&s.cga, now)
        elif port == TV_CGA_STATUS:
            s.vga.feature = v           # VGA feature control (CGA: ignored)
        return 1
    if (s.present & TV_MDA) and TV_MDA_BASE <= port <= TV_MDA_STATUS and port != TV_MDA_MODE + 1:
        if port < TV_MDA_MODE:
            tv_crtc_write(&s.mda, port - TV_MDA_BASE, v)
        elif port == TV_MDA_MODE:
            s.mda.mode = v & TV_MODE_MASK
        return 1
    return 0


cdef int textvideo_io_read(TextVideoState* s, uint32_t port, uint32_t size,
                           uint32_t* value, uint64_t now) noexcept nogil:
    """Ports 0x3B0-0x3BA and 0x3D0-0x3DC (only those of present adapters).
    A 16/32-bit access is split into byte accesses on consecutive ports, as
    the ISA bus does for an 8-bit card (`out dx, ax` to 0x3D4 writes the
    index from AL and the data from AH)."""
    cdef uint32_t i, v = 0
    cdef uint8_t b
    if not tv_read8(s, port, &b, now):
        return 0
    v = b
    for i in range(1, size):
        if not tv_read8(s, port + i, &b, now):
            b = 0xFF
        v |= <uint32_t>b << (8 * i)
    value[0] = v
    return 1


cdef int textvideo_io_write(TextVideoState* s, uint32_t port, uint32_t size,
                            uint32_t value, uint64_t now) noexcept nogil:
    cdef uint32_t i
    if not tv_write8(s, port, value & 0xFF, now):
        return 0
    for i in range(1, size):
        tv_write8(s, port + i, (value >> (8 * i)) & 0xFF, now)
    return 1


cdef void textvideo_advance(TextVideoState* s, uint64_t now) noexcept nogil:
    pass                                # no timers: status is computed on read


cdef uint64_t textvideo_next_event(TextVideoState* s, uint64_t now) noexcept nogil:
    return <uint64_t>0xFFFFFFFFFFFFFFFF  # NO_EVENT: no interrupts on CGA/MDA


# ------------------------------------------------------------ console side
# For the console: the adapter shown is the CGA if present, else the MDA.

cdef inline TvCrtc* textvideo_crtc(TextVideoState* s) noexcept nogil:
    return &s.cga if s.present & TV_CGA else &s.mda


cdef uint32_t textvideo_frame_buffer(TextVideoState* s) noexcept nogil:
    """Physical address of the shown adapter's text frame buffer (a VGA in
    mono mode, miscellaneous output bit 0 clear, shows B0000 as mode 7)."""
    if s.present & TV_VGA and not s.vga.misc & 1:
        return 0xB0000
    return 0xB8000 if s.present & TV_CGA else 0xB0000


cdef uint32_t textvideo_cursor(TextVideoState* s) noexcept nogil:
    """Cursor location (R14:R15): a character-cell index counted by the CRTC
    from the start of the frame buffer (byte offset = 2 * index, wrapping at
    16 KiB on the CGA, 4 KiB on the MDA). Subtract textvideo_start() for the
    position on screen."""
    cdef TvCrtc* c = textvideo_crtc(s)
    return (<uint32_t>c.regs[CRTC_CURSOR_HI] << 8) | c.regs[CRTC_CURSOR_LO]


cdef uint32_t textvideo_start(TextVideoState* s) noexcept nogil:
    """Display start address (R12:R13), in character cells like the cursor."""
    cdef TvCrtc* c = textvideo_crtc(s)
    return (<uint32_t>c.regs[CRTC_START_HI] << 8) | c.regs[CRTC_START_LO]


cdef uint8_t textvideo_cursor_start(TextVideoState* s) noexcept nogil:
    """First scan line of the cursor (R10 bits 0-4)."""
    return textvideo_crtc(s).regs[CRTC_CURSOR_START] & 0x1F


cdef uint8_t textvideo_cursor_end(TextVideoState* s) noexcept nogil:
    """Last scan line of the cursor (R11)."""
    return textvideo_crtc(s).regs[CRTC_CURSOR_END] & 0x1F


cdef uint8_t textvideo_cursor_mode(TextVideoState* s) noexcept nogil:
    """R10 bits 5-6: 0 steady, 1 hidden, 2 blink at 1/16, 3 at 1/32 of the
    field rate. (The BIOS hides the cursor with R10 = 0x20.)"""
    return (textvideo_crtc(s).regs[CRTC_CURSOR_START] >> 5) & 3


cdef uint8_t textvideo_max_scanline(TextVideoState* s) noexcept nogil:
    """R9: scan lines per character row minus one (the cursor's cell height)."""
    return textvideo_crtc(s).regs[CRTC_MAX_SCANLINE]


cdef uint8_t textvideo_mode_control(TextVideoState* s) noexcept nogil:
    """Mode control register (0x3D8, or 0x3B8 on an MDA)."""
    return textvideo_crtc(s).mode
