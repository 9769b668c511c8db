# Intel 8254 programmable interval timer: its ports, control word and IRQ0.
#
#   0x40-0x42  counters 0-2 (count in / count or status out)
#   0x43       control word: mode set, counter latch, read-back
#   0x61       port B: kernel/speaker.pxi (its reads and writes are routed
#              there)
#
# Counter 0 OUT drives IRQ0 (through pic_set_irq, so kernel/pic.pxi must be
# included first); counter 1 is the DRAM refresh timer (its OUT only shows
# as the port B refresh toggle); counter 2 drives the PC speaker and its
# GATE is port B bit 0. The input clock is 1,193,182 Hz (14.31818 MHz / 12).
#
# Each counter's model and programming are in kernel/pit_counter.pxi,
# included first; port 0x61 and the speaker log in kernel/speaker.pxi,
# included after this file.

cdef enum:
    PIT_PORT_CH0 = 0x40
    PIT_PORT_CH2 = 0x42
    PIT_PORT_CONTROL = 0x43

    PIT_SPK_RING = 4096             # speaker log entries kept for Python

    # Read-back command: 1 1 /COUNT /STATUS CNT2 CNT1 CNT0 0
    PIT_RB_NO_COUNT = 0x20
    PIT_RB_NO_STATUS = 0x10
    PIT_RB_CNT0 = 0x02

ctypedef struct PitState:
    PitChannel ch[3]
    PicState* pic           # set by the owner before use; IRQ0 goes there
    uint8_t port_b          # port 0x61 bits 0-3
    uint8_t irq_line        # level of IRQ0 last driven into the PIC
    uint64_t irq_tick       # tick up to which counter 0 edges were delivered
    # PC speaker: (time ns, frequency Hz, 0.0 = silent) at each change
    double spk_hz
    uint32_t spk_head
    uint32_t spk_len
    uint64_t spk_dropped    # oldest entries overwritten while Python did not drain
    uint64_t spk_time[PIT_SPK_RING]
    double spk_freq[PIT_SPK_RING]


# --- IRQ0 ----------------------------------------------------------------

cdef void pit_irq_sync(PitState* s, uint64_t t) noexcept nogil:
    # Bring the IRQ0 line up to tick t: a rising edge of OUT0 since the last
    # sync becomes a rising edge into the PIC (several coalesce into one, as
    # the 8259A's edge latch would), then the line follows OUT0's level.
    cdef int64_t ce
    cdef int out, rose = 0
    if s.pic == NULL:
        s.irq_tick = t
        return
    if t > s.irq_tick:
        rose = pit_next_rise(&s.ch[0], s.irq_tick) <= t
        s.irq_tick = t
    pit_eval(&s.ch[0], t, &ce, &out)
    if rose:
        if s.irq_line:
            pic_set_irq(s.pic, 0, 0)
        pic_set_irq(s.pic, 0, 1)
        s.irq_line = 1
    if out != s.irq_line:
        pic_set_irq(s.pic, 0, out)
        s.irq_line = out


# --- contract -------------------------------------------------------------

cdef void pit_reset(PitState* s) noexcept nogil:
    # Power-on: no counter programmed (each as after control word 0x36:
    # LSB/MSB, mode 3, binary, no count), OUT high, GATE2 low. Keeps `pic`.
    cdef PicState* pic = s.pic
    cdef int i
    memset(s, 0, sizeof(PitState))
    s.pic = pic
    for i in range(3):
        s.ch[i].gate = i != 2
        pit_set_mode(&s.ch[i], (PIT_RW_WORD << PIT_CW_RW_SHIFT) | (3 << PIT_CW_MODE_SHIFT), 0)
        s.ch[i].idle_ce = 0
    s.irq_line = 1
    s.irq_tick = 0
    s.spk_hz = 0.0


cdef uint32_t pit_read_byte(PitState* s, uint32_t port, uint64_t now) noexcept nogil:
    if port == PIT_PORT_B:
        return pit_port61_read(s, now)
    if port == PIT_PORT_CONTROL:
        return 0xFF     # the control word register cannot be read
    return pit_read_counter(&s.ch[port - PIT_PORT_CH0], pit_ticks(now))


cdef void pit_write_byte(PitState* s, uint32_t port, uint32_t v, uint64_t now) noexcept nogil:
    cdef uint64_t t = pit_ticks(now)
    cdef uint32_t sc, i
    cdef PitChannel* c
    if port == PIT_PORT_B:
        pit_port61_write(s, v, now)
        return
    if port == PIT_PORT_CONTROL:
        sc = v >> PIT_CW_SC_SHIFT
        if sc == PIT_CW_SC_READBACK:
            for i in range(3):
                if v & (PIT_RB_CNT0 << i):
                    if (v & PIT_RB_NO_COUNT) == 0:
                        pit_latch_count(&s.ch[i], t)
                    if (v & PIT_RB_NO_STATUS) == 0:
                        pit_latch_status(&s.ch[i], t)
            return
        c = &s.ch[sc]
        if ((v >> PIT_CW_RW_SHIFT) & 3) == PIT_RW_LATCH:
            pit_latch_count(c, t)
            return
        if sc == 0:
            pit_irq_sync(s, t)
        pit_catch_up(c, t)
        pit_set_mode(c, v, t)
    else:
        sc = port - PIT_PORT_CH0
        c = &s.ch[sc]
        if sc == 0:
            pit_irq_sync(s, t)
        pit_catch_up(c, t)
        pit_write_count(c, v, t)
    if sc == 0:
        pit_irq_sync(s, t)      # OUT0 may have changed level at once
    elif sc == 2:
        pit_speaker_update(s, now)


cdef inline int pit_owns(uint32_t port) noexcept nogil:
    return (port >= PIT_PORT_CH0 and port <= PIT_PORT_CONTROL) or port == PIT_PORT_B


cdef int pit_io_read(PitState* s, uint32_t port, uint32_t size,
                     uint32_t* value, uint64_t now) noexcept nogil:
    # Ports 0x40-0x43 and 0x61. Wider accesses are split into bytes as the
    # ISA bus does; bytes of ports that are not ours float high.
    cdef uint32_t i, v = 0, b
    if not pit_owns(port) or port == PIT_PORT_CONTROL:
        return 0        # a read of 0x43 is a no-op: left to the bus
    for i in range(size):
        b = pit_read_byte(s, port + i, now) if pit_owns(port + i) else 0xFF
        v |= b << (8 * i)
    value[0] = v
    return 1


cdef int pit_io_write(PitState* s, uint32_t port, uint32_t size,
                      uint32_t value, uint64_t now) noexcept nogil:
    cdef uint32_t i
    if not pit_owns(port):
        return 0
    for i in range(size):
        if pit_owns(port + i):
            pit_write_byte(s, port + i, (value >> (8 * i)) & 0xFF, now)
    return 1


cdef void pit_advance(PitState* s, uint64_t now) noexcept nogil:
    cdef uint64_t t = pit_ticks(now)
    cdef int i
    for i in range(3):
        pit_catch_up(&s.ch[i], t)
    pit_irq_sync(s, t)


cdef uint64_t pit_next_event(PitState* s, uint64_t now) noexcept nogil:
    # The next rising edge of OUT0 (an IRQ0), in ns. Counters 1 and 2 raise
    # nothing: their state is computed when read.
    if s.pic == NULL:
        return PIT_NEVER
    return pit_tick_ns(pit_next_rise(&s.ch[0], s.irq_tick))
