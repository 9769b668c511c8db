# PC/AT port 0x61 (port B) and the PC speaker, around counters 1 and 2 of
# the 8254 (kernel/pit.pxi, included first: PitState holds port B and the
# speaker log, and routes port 0x61 here).
#
#   0x61       port B: bit 0 GATE2, bit 1 speaker data enable, bits 2-3
#              parity / I/O check enables (read back), bit 4 refresh toggle,
#              bit 5 OUT2
#
# Counter 1 is the DRAM refresh timer (its OUT only shows as the port B
# refresh toggle); counter 2 drives the PC speaker and its GATE is port B
# bit 0. Speaker changes are logged, with their virtual time, for Python.

cdef enum:
    PIT_PORT_B = 0x61
    PIT_REFRESH_TICKS = 18          # counter 1 as the BIOS sets it: 15.085 us

    # Port B
    PIT_B_GATE2 = 0x01
    PIT_B_SPEAKER = 0x02
    PIT_B_WRITABLE = 0x0F           # bits 0-3 are a latch, read back as written
    PIT_B_REFRESH = 0x10
    PIT_B_OUT2 = 0x20


cdef double pit_speaker_hz(PitState* s) noexcept nogil:
    # The tone: counter 2 in mode 3, gated on, speaker enabled.
    cdef PitChannel* c = &s.ch[2]
    cdef uint32_t n
    if (s.port_b & (PIT_B_GATE2 | PIT_B_SPEAKER)) != (PIT_B_GATE2 | PIT_B_SPEAKER):
        return 0.0
    if c.mode != 3 or c.base == PIT_NEVER or not c.run:
        return 0.0
    n = c.pending_n if c.pending else c.n
    if n < 2:
        return 0.0
    return <double>PIT_HZ / n


cdef void pit_speaker_update(PitState* s, uint64_t now) noexcept nogil:
    cdef double hz = pit_speaker_hz(s)
    cdef uint32_t i
    if hz == s.spk_hz:
        return
    s.spk_hz = hz
    if s.spk_len == PIT_SPK_RING:
        # Full: keep the newest, drop the oldest.
        s.spk_head = (s.spk_head + 1) % PIT_SPK_RING
        s.spk_len -= 1
        s.spk_dropped += 1
    i = (s.spk_head + s.spk_len) % PIT_SPK_RING
    s.spk_time[i] = now
    s.spk_freq[i] = hz
    s.spk_len += 1


cdef int pit_speaker_read(PitState* s, uint64_t* time_ns, double* hz) noexcept nogil:
    # Pop the oldest speaker change; 0 when the log is empty.
    if s.spk_len == 0:
        return 0
    time_ns[0] = s.spk_time[s.spk_head]
    hz[0] = s.spk_freq[s.spk_head]
    s.spk_head = (s.spk_head + 1) % PIT_SPK_RING
    s.spk_len -= 1
    return 1


cdef uint32_t pit_port61_read(PitState* s, uint64_t now) noexcept nogil:
    cdef uint64_t t = pit_ticks(now)
    cdef int64_t ce
    cdef int out
    pit_eval(&s.ch[2], t, &ce, &out)
    return ((s.port_b & PIT_B_WRITABLE) |
            (PIT_B_REFRESH if (t // PIT_REFRESH_TICKS) & 1 else 0) |
            (PIT_B_OUT2 if out else 0))


cdef void pit_port61_write(PitState* s, uint32_t v, uint64_t now) noexcept nogil:
    s.port_b = v & PIT_B_WRITABLE
    pit_set_gate(&s.ch[2], v & PIT_B_GATE2, pit_ticks(now))
    pit_speaker_update(s, now)
