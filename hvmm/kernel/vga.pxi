# The VGA's own registers, ports 0x3C0-0x3CF: attribute controller,
# miscellaneous output, sequencer, DAC (the 256-colour palette) and graphics
# controller. The 6845-compatible CRTC and the status port at 0x3DA are the
# CGA model in textvideo.pxi, which owns this state and routes the ports.
#
# What is modelled is what software reads back and what the screen needs to
# show modes 0-7 and 13h: every register stores and reads back as on the
# IBM VGA; the DAC's index/auto-increment protocol (three 6-bit writes or
# reads per entry, separate read and write indexes, state at 0x3C7); the
# attribute controller's index/data flip-flop, reset by reading the input
# status register 1 (0x3DA, or 0x3BA in mono mode). Memory is not planar:
# A0000-BFFFF is plain RAM, which is exactly mode 13h's chain-4 layout and
# the CGA modes' B8000 layout; the planar EGA/VGA modes (0Dh-12h) would
# need the sequencer's map mask and the graphics controller's read/write
# modes in the memory path, and are not supported.
#
# The screen side (screenshots) reads attribute register 10h: bit 0
# graphics, bit 6 8-bit colour (mode 13h); and the DAC through vga_dac().

cdef enum:
    VGA_ATTR = 0x3C0            # write: index, then data (flip-flop)
    VGA_ATTR_READ = 0x3C1
    VGA_MISC_WRITE = 0x3C2      # read: input status 0
    VGA_SEQ_INDEX = 0x3C4
    VGA_SEQ_DATA = 0x3C5
    VGA_PEL_MASK = 0x3C6
    VGA_DAC_READ_INDEX = 0x3C7  # read: DAC state (0 write mode, 3 read mode)
    VGA_DAC_WRITE_INDEX = 0x3C8
    VGA_DAC_DATA = 0x3C9
    VGA_FEATURE_READ = 0x3CA
    VGA_MISC_READ = 0x3CC
    VGA_GC_INDEX = 0x3CE
    VGA_GC_DATA = 0x3CF
    VGA_ATTR_NREGS = 0x15
    VGA_SEQ_NREGS = 5
    VGA_GC_NREGS = 9

ctypedef struct VgaRegs:
    uint8_t attr[VGA_ATTR_NREGS]
    uint8_t attr_index          # bits 0-4 index, bit 5 palette address source
    uint8_t attr_flipflop       # 0: next 0x3C0 write is the index
    uint8_t misc
    uint8_t feature
    uint8_t seq[VGA_SEQ_NREGS]
    uint8_t seq_index
    uint8_t gc[VGA_GC_NREGS]
    uint8_t gc_index
    uint8_t pel_mask
    uint8_t dac[768]            # 256 x (red, green, blue), 6 bits each
    uint8_t dac_read            # entry the next 0x3C9 read returns
    uint8_t dac_write           # entry the next 0x3C9 write fills
    uint8_t dac_component       # 0-2 within the entry
    uint8_t dac_state           # 0: last index written was the write index, 3: read
    uint8_t dac_latch[3]        # an entry is stored when its blue arrives


cdef void vga_reset(VgaRegs* v) noexcept nogil:
    memset(v, 0, sizeof(VgaRegs))
    v.pel_mask = 0xFF
    v.misc = 0x01               # colour I/O addresses (0x3Dx)


cdef inline void vga_attr_flipflop_reset(VgaRegs* v) noexcept nogil:
    v.attr_flipflop = 0


cdef int vga_read8(VgaRegs* v, uint32_t port, uint8_t* out) noexcept nogil:
    cdef uint32_t i
    if port == VGA_ATTR:
        out[0] = v.attr_index
    elif port == VGA_ATTR_READ:
        i = v.attr_index & 0x1F
        out[0] = v.attr[i] if i < VGA_ATTR_NREGS else 0
    elif port == VGA_MISC_WRITE:
        out[0] = 0x10           # input status 0: switch sense (colour monitor)
    elif port == VGA_SEQ_INDEX:
        out[0] = v.seq_index
    elif port == VGA_SEQ_DATA:
        out[0] = v.seq[v.seq_index] if v.seq_index < VGA_SEQ_NREGS else 0xFF
    elif port == VGA_PEL_MASK:
        out[0] = v.pel_mask
    elif port == VGA_DAC_READ_INDEX:
        out[0] = v.dac_state
    elif port == VGA_DAC_WRITE_INDEX:
        out[0] = v.dac_write
    elif port == VGA_DAC_DATA:
        out[0] = v.dac[v.dac_read * 3 + v.dac_component]
        v.dac_component += 1
        if v.dac_component == 3:
            v.dac_component = 0
            v.dac_read += 1     # wraps at 256 (uint8_t)
    elif port == VGA_FEATURE_READ:
        out[0] = v.feature
    elif port == VGA_MISC_READ:
        out[0] = v.misc
    elif port == VGA_GC_INDEX:
        out[0] = v.gc_index
    elif port == VGA_GC_DATA:
        out[0] = v.gc[v.gc_index] if v.gc_index < VGA_GC_NREGS else 0xFF
    else:
        out[0] = 0xFF           # 0x3CB, 0x3CD: nothing there
    return 1


cdef int vga_write8(VgaRegs* v, uint32_t port, uint8_t b) noexcept nogil:
    cdef uint32_t i
    if port == VGA_ATTR:
        if v.attr_flipflop == 0:
            v.attr_index = b & 0x3F
        else:
            i = v.attr_index & 0x1F
            if i < VGA_ATTR_NREGS:
                v.attr[i] = b
        v.attr_flipflop ^= 1
    elif port == VGA_MISC_WRITE:
        v.misc = b
    elif port == VGA_SEQ_INDEX:
        v.seq_index = b & 0x07
    elif port == VGA_SEQ_DATA:
        if v.seq_index < VGA_SEQ_NREGS:
            v.seq[v.seq_index] = b
    elif port == VGA_PEL_MASK:
        v.pel_mask = b
    elif port == VGA_DAC_READ_INDEX:
        v.dac_read = b
        v.dac_component = 0
        v.dac_state = 3
    elif port == VGA_DAC_WRITE_INDEX:
        v.dac_write = b
        v.dac_component = 0
        v.dac_state = 0
    elif port == VGA_DAC_DATA:
        v.dac_latch[v.dac_component] = b & 0x3F
        v.dac_component += 1
        if v.dac_component == 3:
            memcpy(&v.dac[v.dac_write * 3], v.dac_latch, 3)
            v.dac_component = 0
            v.dac_write += 1
    elif port == VGA_GC_INDEX:
        v.gc_index = b & 0x0F
    elif port == VGA_GC_DATA:
        if v.gc_index < VGA_GC_NREGS:
            v.gc[v.gc_index] = b
    # 0x3C1, 0x3C3, 0x3CA-0x3CD writes: ignored (0x3DA write is the
    # feature control register, handled by textvideo.pxi)
    return 1
