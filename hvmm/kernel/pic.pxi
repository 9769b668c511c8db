# Dual Intel 8259A programmable interrupt controller, PC/AT cascade.
#
#   master  0x20 (command) / 0x21 (data)   IRQ 0-7,  INT -> CPU INTR
#   slave   0xA0 (command) / 0xA1 (data)   IRQ 8-15, INT -> master IR2
#   ELCR    0x4D0 (IRQ 0-7) / 0x4D1 (IRQ 8-15): edge/level control (PIIX/EISA)
#
# Included textually into hvmm/_core.pyx (first of the kernel devices: the
# others call pic_set_irq). Needs libc.stdint and libc.string (memset) from
# core/state.pxi. Everything is plain C; no Python object is touched.
#
# The core's view is two calls: pic_pending() (one cached C variable,
# PicState.intr, kept up to date by every state change) and pic_ack() (the
# two INTA cycles folded into one call: returns the vector).
#
# Behaviour follows the Intel 8259A datasheet (order no. 231468), with one
# deliberate difference on edge-triggered inputs, see pic_set_irq.

# --- register bits --------------------------------------------------------

cdef enum:
    PIC_MASTER_CMD = 0x20
    PIC_MASTER_DATA = 0x21
    PIC_SLAVE_CMD = 0xA0
    PIC_SLAVE_DATA = 0xA1
    PIC_ELCR_MASTER = 0x4D0
    PIC_ELCR_SLAVE = 0x4D1

    PIC_CASCADE_IR = 2          # the slave's INT is wired to master IR2

    # Command port writes are told apart by bits 4 and 3.
    PIC_ICW1_SEL = 0x10         # D4 = 1: ICW1 (starts initialisation)
    PIC_OCW3_SEL = 0x08         # D4 = 0, D3 = 1: OCW3; both 0: OCW2

    # ICW1
    PIC_ICW1_IC4 = 0x01         # ICW4 will follow
    PIC_ICW1_SNGL = 0x02        # single 8259A, no ICW3
    PIC_ICW1_ADI = 0x04         # call address interval (MCS-80 only)
    PIC_ICW1_LTIM = 0x08        # level-triggered mode for all inputs

    # ICW4
    PIC_ICW4_UPM = 0x01         # 8086/8088 mode (else MCS-80/85)
    PIC_ICW4_AEOI = 0x02        # automatic EOI at the end of INTA
    PIC_ICW4_MS = 0x04          # buffered mode master/slave select
    PIC_ICW4_BUF = 0x08         # buffered mode
    PIC_ICW4_SFNM = 0x10        # special fully nested mode

    # OCW2: R (rotate), SL (specific), EOI in D7-D5, level in D2-D0.
    PIC_OCW2_LEVEL = 0x07
    PIC_OCW2_CMD = 0xE0
    PIC_OCW2_ROTATE_AEOI_CLEAR = 0x00
    PIC_OCW2_EOI = 0x20             # non-specific EOI
    PIC_OCW2_NOP = 0x40
    PIC_OCW2_SPECIFIC_EOI = 0x60
    PIC_OCW2_ROTATE_AEOI_SET = 0x80
    PIC_OCW2_ROTATE_EOI = 0xA0      # rotate on non-specific EOI
    PIC_OCW2_SET_PRIORITY = 0xC0
    PIC_OCW2_ROTATE_SPECIFIC_EOI = 0xE0

    # OCW3
    PIC_OCW3_RIS = 0x01         # read ISR (else IRR) ...
    PIC_OCW3_RR = 0x02          # ... if RR is set; RR = 0: keep selection
    PIC_OCW3_POLL = 0x04        # next command-port read is a poll
    PIC_OCW3_SMM = 0x20         # special mask mode on/off ...
    PIC_OCW3_ESMM = 0x40        # ... if ESMM is set

    # Initialisation sequence: what the next data-port write is.
    PIC_INIT_READY = 0          # operational: data port writes are OCW1
    PIC_INIT_ICW2 = 1
    PIC_INIT_ICW3 = 2
    PIC_INIT_ICW4 = 3

    # ELCR bits that exist: IRQ 0, 1, 2 (timer, keyboard, cascade) and
    # IRQ 8, 13 (RTC, FPU) are ISA edge lines hard-wired on the PIIX.
    PIC_ELCR_MASK_MASTER = 0xF8
    PIC_ELCR_MASK_SLAVE = 0xDE

ctypedef struct PicChip:
    uint8_t irr             # interrupt request register
    uint8_t isr             # in-service register
    uint8_t imr             # interrupt mask register (OCW1)
    uint8_t lines           # current level of the IR inputs (edge detection)
    uint8_t elcr            # 1 = level-triggered (ELCR port)
    uint8_t elcr_mask
    uint8_t priority_add    # IR with the highest priority (rotation)
    uint8_t irq_base        # ICW2 & 0xF8: vector of IR0
    uint8_t init_state      # PIC_INIT_*
    uint8_t icw1
    uint8_t icw3            # master: IRs with a slave; slave: its ID
    uint8_t icw4
    uint8_t read_isr        # OCW3: command-port read returns ISR (else IRR)
    uint8_t poll            # OCW3 P: next command-port read is a poll
    uint8_t special_mask    # OCW3 SMM
    uint8_t auto_eoi        # ICW4 AEOI
    uint8_t rotate_aeoi     # OCW2 rotate in automatic EOI mode
    uint8_t sfnm            # ICW4 special fully nested mode

ctypedef struct PicState:
    PicChip chip[2]         # 0 = master, 1 = slave
    int intr                # INTR line to the CPU (cached; see pic_pending)
    uint64_t spurious_master    # INTA cycles answered with IRQ 7
    uint64_t spurious_slave     # INTA cycles answered with IRQ 15


cdef inline uint8_t pic_level_mask(PicChip* c) noexcept nogil:
    # LTIM in ICW1 makes every input level-triggered; otherwise the ELCR.
    if c.icw1 & PIC_ICW1_LTIM:
        return 0xFF
    return c.elcr


cdef inline int pic_priority(PicChip* c, uint8_t mask) noexcept nogil:
    # Rank (0 = highest) of the highest-priority bit set in mask, 8 if none.
    # IR priority_add ranks 0, priority_add+1 ranks 1, ... (rotation).
    cdef int p
    if mask == 0:
        return 8
    p = 0
    while (mask & (1 << ((p + c.priority_add) & 7))) == 0:
        p += 1
    return p


cdef int pic_chip_irq(PicChip* c, int master) noexcept nogil:
    # The IR this chip would present on INTA, or -1: the highest-priority
    # unmasked request that is not blocked by an in-service level.
    cdef uint8_t req = c.irr & ~c.imr
    cdef int p, cur
    if req == 0:
        return -1
    if c.special_mask:
        # Special mask mode: any unmasked level not itself in service may
        # interrupt, lower priorities included (datasheet, OCW3 SMM).
        req &= ~c.isr
        if req == 0:
            return -1
        return (pic_priority(c, req) + c.priority_add) & 7
    p = pic_priority(c, req)
    cur = pic_priority(c, c.isr)
    if p < cur:
        return (p + c.priority_add) & 7
    # Special fully nested mode (master): a request from the slave is let
    # through while the slave is in service, so that a higher-priority slave
    # IR can nest; the slave's own priority logic decides.
    if master and c.sfnm and p == cur and ((p + c.priority_add) & 7) == PIC_CASCADE_IR:
        return PIC_CASCADE_IR
    return -1


cdef inline int pic_cascaded(PicState* s) noexcept nogil:
    cdef PicChip* m = &s.chip[0]
    return (m.icw1 & PIC_ICW1_SNGL) == 0 and (m.icw3 & (1 << PIC_CASCADE_IR)) != 0


cdef void pic_update(PicState* s) noexcept nogil:
    # Propagate the slave's INT to master IR2, then recompute INTR.
    # IR2 is an edge input like the others: the rising edge of the slave's
    # INT latches master IRR2, which then stays set until INTA even if the
    # slave's request goes away; that is what makes a vanished slave request
    # come out as spurious IRQ 15 (with master ISR2 set) as on the real part.
    cdef PicChip* m = &s.chip[0]
    cdef int slave_int = pic_chip_irq(&s.chip[1], 0) >= 0
    if slave_int:
        if (m.lines & (1 << PIC_CASCADE_IR)) == 0:
            m.lines |= 1 << PIC_CASCADE_IR
            m.irr |= 1 << PIC_CASCADE_IR
    elif m.lines & (1 << PIC_CASCADE_IR):
        m.lines &= ~(1 << PIC_CASCADE_IR)
        if pic_level_mask(m) & (1 << PIC_CASCADE_IR):
            m.irr &= ~(1 << PIC_CASCADE_IR)
    s.intr = pic_chip_irq(m, 1) >= 0


cdef void pic_chip_reset(PicChip* c, uint8_t elcr_mask, uint8_t icw3) noexcept nogil:
    memset(c, 0, sizeof(PicChip))
    c.elcr_mask = elcr_mask
    # Power-on: not initialised (the BIOS sends ICW1-4), everything masked
    # so nothing reaches the CPU before that, the PC/AT cascade wired.
    c.imr = 0xFF
    c.icw3 = icw3
    c.icw4 = PIC_ICW4_UPM


cdef void pic_reset(PicState* s) noexcept nogil:
    pic_chip_reset(&s.chip[0], PIC_ELCR_MASK_MASTER, 1 << PIC_CASCADE_IR)
    pic_chip_reset(&s.chip[1], PIC_ELCR_MASK_SLAVE, PIC_CASCADE_IR)
    s.intr = 0
    s.spurious_master = 0
    s.spurious_slave = 0


cdef void pic_set_irq(PicState* s, int irq, int level) noexcept nogil:
    # Drive ISA IRQ line `irq` (0-15) to `level`.
    #
    # Edge-triggered input: a rising edge sets IRR, and IRR then stays set
    # until INTA (or ICW1) even if the line drops. The datasheet asks the
    # line to stay high until the first INTA; emulated devices pulse their
    # line instantly (set 1 then set 0), so the request is latched instead,
    # as QEMU and KVM do. Level-triggered input (ELCR or LTIM): IRR follows
    # the line, so a request withdrawn before INTA becomes a spurious IRQ 7.
    cdef PicChip* c
    cdef uint8_t bit
    if irq == PIC_CASCADE_IR:
        irq = 9     # the ISA bus's IRQ2 pin is wired to IRQ9 on the AT
    if irq < 0 or irq > 15:
        return
    c = &s.chip[irq >> 3]
    bit = 1 << (irq & 7)
    if level:
        if (c.lines & bit) == 0:
            c.lines |= bit
            c.irr |= bit
    elif c.lines & bit:
        c.lines &= ~bit
        if pic_level_mask(c) & bit:
            c.irr &= ~bit
    pic_update(s)


cdef inline int pic_pending(PicState* s) noexcept nogil:
    return s.intr


cdef void pic_intack(PicChip* c, int irq) noexcept nogil:
    # One chip's INTA: the IRR bit moves to the ISR; in AEOI mode the ISR
    # bit is cleared again at the end of the second INTA pulse, so it is
    # never set, but rotation in AEOI mode still happens.
    cdef uint8_t bit = 1 << irq
    if c.auto_eoi:
        if c.rotate_aeoi:
            c.priority_add = (irq + 1) & 7
    else:
        c.isr |= bit
    # A level-triggered request stays in IRR while its line is high.
    if (pic_level_mask(c) & bit) == 0 or (c.lines & bit) == 0:
        c.irr &= ~bit


cdef inline void pic_slave_acked(PicState* s) noexcept nogil:
    # The slave's INT falls while it is acknowledged; pic_update raises it
    # again (a new edge on master IR2) if another slave request is waiting,
    # so that it is not lost behind the master's edge latch.
    s.chip[0].lines &= ~(1 << PIC_CASCADE_IR)


cdef int pic_ack(PicState* s) noexcept nogil:
    # INTA cycle: returns the vector the PIC puts on the bus.
    cdef PicChip* m = &s.chip[0]
    cdef PicChip* sl = &s.chip[1]
    cdef int irq = pic_chip_irq(m, 1)
    cdef int irq2, vector
    if irq < 0:
        # The request went away (masked, or a level line dropped) between
        # INTR and INTA: the 8259A answers IR7 without setting ISR7.
        s.spurious_master += 1
        vector = m.irq_base + 7
    elif irq == PIC_CASCADE_IR and pic_cascaded(s):
        pic_intack(m, PIC_CASCADE_IR)
        irq2 = pic_chip_irq(sl, 0)
        if irq2 < 0:
            # Spurious on the slave: vector of IR15, slave ISR untouched; the
            # master did acknowledge IR2, so its ISR2 is set (not in AEOI)
            # and the handler must send the master an EOI.
            s.spurious_slave += 1
            vector = sl.irq_base + 7
        else:
            pic_intack(sl, irq2)
            vector = sl.irq_base + irq2
        pic_slave_acked(s)
    else:
        pic_intack(m, irq)
        vector = m.irq_base + irq
    pic_update(s)
    return vector & 0xFF


cdef uint32_t pic_poll(PicState* s, PicChip* c) noexcept nogil:
    # Poll command: this read is the interrupt acknowledge. Returns
    # 0x80 | level if a request is pending (its ISR bit set as by INTA),
    # else 0. Polling the master for a slave request gives 0x82; software
    # then polls the slave.
    cdef int irq = pic_chip_irq(c, c == &s.chip[0])
    c.poll = 0
    if irq < 0:
        return 0
    pic_intack(c, irq)
    if c == &s.chip[1]:
        pic_slave_acked(s)
    pic_update(s)
    return 0x80 | irq


cdef void pic_write_cmd(PicState* s, PicChip* c, uint32_t v) noexcept nogil:
    cdef int irq, level
    cdef uint32_t cmd
    if v & PIC_ICW1_SEL:
        # ICW1: start of initialisation. The edge sense circuit is reset (an
        # input must go low to high again), IMR and ISR cleared, IR7 lowest
        # priority, special mask off, IRR selected for reading, and without
        # IC4 all ICW4 functions are zero.
        c.icw1 = v
        c.irr = c.lines & pic_level_mask(c)
        c.isr = 0
        c.imr = 0
        c.priority_add = 0
        c.read_isr = 0
        c.poll = 0
        c.special_mask = 0
        c.auto_eoi = 0
        c.rotate_aeoi = 0
        c.sfnm = 0
        c.icw4 = 0
        c.init_state = PIC_INIT_ICW2
    elif v & PIC_OCW3_SEL:
        if v & PIC_OCW3_RR:
            c.read_isr = v & PIC_OCW3_RIS
        if v & PIC_OCW3_ESMM:
            c.special_mask = (v & PIC_OCW3_SMM) != 0
        c.poll = (v & PIC_OCW3_POLL) != 0
    else:
        cmd = v & PIC_OCW2_CMD
        level = v & PIC_OCW2_LEVEL
        if cmd == PIC_OCW2_EOI or cmd == PIC_OCW2_ROTATE_EOI:
            # Non-specific EOI: clear the highest-priority ISR bit.
            if c.isr:
                irq = (pic_priority(c, c.isr) + c.priority_add) & 7
                c.isr &= ~(1 << irq)
                if cmd == PIC_OCW2_ROTATE_EOI:
                    c.priority_add = (irq + 1) & 7
        elif cmd == PIC_OCW2_SPECIFIC_EOI or cmd == PIC_OCW2_ROTATE_SPECIFIC_EOI:
            c.isr &= ~(1 << level)
            if cmd == PIC_OCW2_ROTATE_SPECIFIC_EOI:
                c.priority_add = (level + 1) & 7
        elif cmd == PIC_OCW2_SET_PRIORITY:
            # Level L becomes the lowest priority.
            c.priority_add = (level + 1) & 7
        elif cmd == PIC_OCW2_ROTATE_AEOI_SET:
            c.rotate_aeoi = 1
        elif cmd == PIC_OCW2_ROTATE_AEOI_CLEAR:
            c.rotate_aeoi = 0
        # PIC_OCW2_NOP: nothing
    pic_update(s)


cdef void pic_write_data(PicState* s, PicChip* c, uint32_t v) noexcept nogil:
    if c.init_state == PIC_INIT_ICW2:
        c.irq_base = v & 0xF8       # 8086 mode: T7-T3; the IR number is ORed in
        if (c.icw1 & PIC_ICW1_SNGL) == 0:
            c.init_state = PIC_INIT_ICW3
        elif c.icw1 & PIC_ICW1_IC4:
            c.init_state = PIC_INIT_ICW4
        else:
            c.init_state = PIC_INIT_READY
    elif c.init_state == PIC_INIT_ICW3:
        c.icw3 = v
        c.init_state = PIC_INIT_ICW4 if c.icw1 & PIC_ICW1_IC4 else PIC_INIT_READY
    elif c.init_state == PIC_INIT_ICW4:
        c.icw4 = v
        c.auto_eoi = (v & PIC_ICW4_AEOI) != 0
        c.sfnm = (v & PIC_ICW4_SFNM) != 0
        c.init_state = PIC_INIT_READY
    else:
        c.imr = v       # OCW1
    pic_update(s)


cdef uint32_t pic_read_byte(PicState* s, uint32_t port) noexcept nogil:
    cdef PicChip* c
    if port == PIC_ELCR_MASTER:
        return s.chip[0].elcr
    if port == PIC_ELCR_SLAVE:
        return s.chip[1].elcr
    c = &s.chip[0] if port < PIC_SLAVE_CMD else &s.chip[1]
    if port & 1:
        return c.imr
    if c.poll:
        return pic_poll(s, c)
    return c.isr if c.read_isr else c.irr


cdef void pic_write_byte(PicState* s, uint32_t port, uint32_t v) noexcept nogil:
    cdef PicChip* c
    cdef uint8_t lvl
    if port == PIC_ELCR_MASTER or port == PIC_ELCR_SLAVE:
        c = &s.chip[port - PIC_ELCR_MASTER]
        c.elcr = v & c.elcr_mask
        # Inputs now level-triggered take their IRR from the line.
        lvl = pic_level_mask(c)
        c.irr = (c.irr & ~lvl) | (c.lines & lvl)
        pic_update(s)
        return
    c = &s.chip[0] if port < PIC_SLAVE_CMD else &s.chip[1]
    if port & 1:
        pic_write_data(s, c, v & 0xFF)
    else:
        pic_write_cmd(s, c, v & 0xFF)


cdef inline int pic_owns(uint32_t port) noexcept nogil:
    return (port == PIC_MASTER_CMD or port == PIC_MASTER_DATA or
            port == PIC_SLAVE_CMD or port == PIC_SLAVE_DATA or
            port == PIC_ELCR_MASTER or port == PIC_ELCR_SLAVE)


cdef int pic_io_read(PicState* s, uint32_t port, uint32_t size,
                     uint32_t* value, uint64_t now) noexcept nogil:
    # A 16- or 32-bit access to these 8-bit registers is split by the ISA
    # bus into byte accesses at port, port+1, ...; bytes of ports that are
    # not ours float high.
    cdef uint32_t i, v = 0, b
    if not pic_owns(port):
        return 0
    for i in range(size):
        b = pic_read_byte(s, port + i) if pic_owns(port + i) else 0xFF
        v |= b << (8 * i)
    value[0] = v
    return 1


cdef int pic_io_write(PicState* s, uint32_t port, uint32_t size,
                      uint32_t value, uint64_t now) noexcept nogil:
    cdef uint32_t i
    if not pic_owns(port):
        return 0
    for i in range(size):
        if pic_owns(port + i):
            pic_write_byte(s, port + i, (value >> (8 * i)) & 0xFF)
    return 1
