# 16550A UART (NS PC16550D / TI TL16C550), as on a PC's COM1: ports
# base..base+7 (0x3F8-0x3FF), IRQ 4. COM2 (0x2F8, IRQ 3) is the same model
# with another base and line: see uart_init().
#
# Model (all deterministic, nothing per instruction):
#   * Transmission is instantaneous. A byte written to THR goes straight
#     into a 64 KiB C ring (tx_buf) that Python drains (uart_tx_drain ->
#     cpu.serial_drain()); THR and the transmitter are therefore empty again
#     at once, so LSR.THRE and LSR.TEMT always read 1 and the THR-empty
#     interrupt re-arms right after each write (the line drops and rises,
#     one new edge for the edge-triggered 8259A, as on a real part whose
#     idle shift register takes the byte at once). If Python does not drain
#     in time, bytes past 64 KiB are dropped and counted in tx_dropped.
#   * Reception. Python's bytes (uart_feed <- cpu.serial_feed) go into a
#     4 KiB C input queue standing for the far end of the cable; the
#     receiver FIFO (16 bytes, or the single RBR in 16450 mode) is filled
#     from it at once and refilled each time the guest reads RBR, like a
#     sender with hardware flow control: nothing fed is lost however slowly
#     the guest reads. Only what does not fit in the queue is lost: that
#     sets LSR.OE (an overrun: characters were lost) and uart_feed returns
#     how many it took, so a caller can keep the rest and retry.
#     Bytes that arrive "on the wire" with no queue in between (the
#     loopback path, and uart_rx_char for line errors) behave like the
#     datasheet: a full FIFO (or full RBR in 16450 mode) gives an overrun.
#   * Character timeout (FIFO mode): the interrupt is raised when the FIFO
#     holds at least one character and neither a character has arrived nor
#     the CPU has read one for 4 character times at the programmed line
#     settings (start + data + parity + stop bits, divisor, 1.8432 MHz
#     clock). It is evaluated from `now`; next_event() returns its deadline
#     when the interrupt is enabled so the core can raise it on time.
#   * Interrupt output: on a PC the INTR pin reaches the IRQ line through a
#     buffer enabled by the -OUT2 pin, so the line is raised only with
#     MCR.OUT2 set, and never in loopback mode (the datasheet forces the
#     modem-control output pins inactive there). IIR still reports the
#     sources, so a polling driver works in loopback.
#   * Modem inputs (not loopback): CTS, DSR and DCD asserted, RI not (a
#     live null-modem peer; BIOS INT 14h waits for DSR and CTS before
#     sending). uart_set_modem_inputs() changes them. In loopback they follow
#     MCR: CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2.
#   * Break and line errors on transmit are not signalled anywhere; the
#     break bit (LCR 6) is only stored.

# Register offsets from the base port.
cdef enum:
    UART_RBR = 0        # read, DLAB=0: receiver buffer
    UART_THR = 0        # write, DLAB=0: transmitter holding
    UART_DLL = 0        # DLAB=1: divisor latch, low byte
    UART_IER = 1        # DLAB=0: interrupt enable
    UART_DLM = 1        # DLAB=1: divisor latch, high byte
    UART_IIR = 2        # read: interrupt identification
    UART_FCR = 2        # write: FIFO control
    UART_LCR = 3        # line control
    UART_MCR = 4        # modem control
    UART_LSR = 5        # line status
    UART_MSR = 6        # modem status
    UART_SCR = 7        # scratch

# IER bits (bits 4-7 are 0 on the 16550A).
cdef enum:
    UART_IER_RDA = 0x01     # received data available (and char timeout)
    UART_IER_THRE = 0x02    # transmitter holding register empty
    UART_IER_RLS = 0x04     # receiver line status
    UART_IER_MS = 0x08      # modem status
    UART_IER_MASK = 0x0F

# IIR values (bits 0-3) in priority order, and the FIFO-enabled bits 6-7.
cdef enum:
    UART_IIR_NONE = 0x01    # bit 0 = 1: no interrupt pending
    UART_IIR_RLS = 0x06     # 1st: OE, PE, FE or BI (cleared by reading LSR)
    UART_IIR_RDA = 0x04     # 2nd: data at/above the trigger level
    UART_IIR_TIMEOUT = 0x0C # 2nd: character timeout (FIFO mode)
    UART_IIR_THRE = 0x02    # 3rd: THR empty (cleared by IIR read or THR write)
    UART_IIR_MS = 0x00      # 4th: CTS/DSR/RI/DCD change (cleared by MSR read)
    UART_IIR_FIFO = 0xC0    # both set when FCR bit 0 enables the FIFOs

# FCR bits.
cdef enum:
    UART_FCR_ENABLE = 0x01
    UART_FCR_CLEAR_RX = 0x02
    UART_FCR_CLEAR_TX = 0x04
    UART_FCR_DMA = 0x08     # DMA mode select: only changes -RXRDY/-TXRDY pins
    UART_FCR_TRIGGER = 0xC0 # RX trigger level: 1, 4, 8, 14 bytes

# LCR bits.
cdef enum:
    UART_LCR_WLEN = 0x03    # word length 5..8
    UART_LCR_STOP = 0x04    # 2 stop bits (1.5 with 5-bit words)
    UART_LCR_PARITY = 0x08
    UART_LCR_BREAK = 0x40
    UART_LCR_DLAB = 0x80

# MCR bits (bits 5-7 are 0 on the 16550A).
cdef enum:
    UART_MCR_DTR = 0x01
    UART_MCR_RTS = 0x02
    UART_MCR_OUT1 = 0x04
    UART_MCR_OUT2 = 0x08    # on a PC: enables the IRQ line driver
    UART_MCR_LOOP = 0x10
    UART_MCR_MASK = 0x1F

# LSR bits.
cdef enum:
    UART_LSR_DR = 0x01      # data ready
    UART_LSR_OE = 0x02      # overrun error
    UART_LSR_PE = 0x04      # parity error
    UART_LSR_FE = 0x08      # framing error
    UART_LSR_BI = 0x10      # break interrupt
    UART_LSR_THRE = 0x20    # THR (TX FIFO) empty
    UART_LSR_TEMT = 0x40    # THR and shift register empty
    UART_LSR_FIFOERR = 0x80 # FIFO mode: a character in the RX FIFO has PE/FE/BI
    UART_LSR_ERRORS = 0x1E  # OE | PE | FE | BI: the line-status interrupt sources
    UART_LSR_CHARERR = 0x1C # PE | FE | BI: errors that travel with a character

# MSR bits.
cdef enum:
    UART_MSR_DCTS = 0x01
    UART_MSR_DDSR = 0x02
    UART_MSR_TERI = 0x04    # trailing edge of RI (RI went 1 -> 0)
    UART_MSR_DDCD = 0x08
    UART_MSR_CTS = 0x10
    UART_MSR_DSR = 0x20
    UART_MSR_RI = 0x40
    UART_MSR_DCD = 0x80
    UART_MSR_DELTAS = 0x0F

cdef enum:
    UART_FIFO_SIZE = 16
    UART_TX_SIZE = 65536        # power of two (ring index masks)
    UART_RXQ_SIZE = 4096        # power of two
    UART_CLOCK_HZ = 1843200     # the PC's UART crystal; baud = clock / (16 * divisor)

ctypedef struct UartState:
    uint32_t base               # first port (0x3F8 for COM1)
    int irq                     # ISA IRQ line (4 for COM1)
    PicState* pic               # set by uart_init; may be NULL (no IRQ)

    uint8_t ier, lcr, mcr, scr
    uint8_t dll, dlm
    uint8_t fcr                 # last programmed FCR (bits 0, 3, 6-7)
    uint8_t fifo_enabled        # FCR bit 0
    uint8_t trigger             # RX trigger level in bytes (1, 4, 8, 14)

    # Receiver FIFO (one entry holds the RBR in 16450 mode).
    uint8_t rx_data[UART_FIFO_SIZE]
    uint8_t rx_err[UART_FIFO_SIZE]  # PE/FE/BI that arrived with each character
    uint32_t rx_head, rx_count
    uint8_t rbr_last            # what RBR reads when the FIFO is empty
    uint8_t lsr_latched         # OE, and PE/FE/BI of the character at the top
    uint64_t rx_activity        # time of the last char received or read (timeout)

    # Modem status.
    uint8_t msr_inputs          # CTS/DSR/RI/DCD from the outside (not loopback)
    uint8_t msr                 # current status (bits 4-7) + deltas (bits 0-3)

    # THR-empty interrupt: set when THR becomes empty, cleared by an IIR read
    # that reports it, by a THR write, or by disabling it in IER.
    uint8_t thre_pending

    int irq_level               # what we last drove onto the IRQ line

    # Transmit ring, drained by Python.
    uint8_t tx_buf[UART_TX_SIZE]
    uint32_t tx_head, tx_count
    uint64_t tx_total, tx_dropped

    # Input queue (the far end of the cable), fed by Python.
    uint8_t rxq_buf[UART_RXQ_SIZE]
    uint32_t rxq_head, rxq_count
    uint64_t rx_total, rx_dropped, overruns


cdef void uart_init(UartState* s, PicState* pic, uint32_t base, int irq) noexcept nogil:
    """Wire the UART and reset it (call once): COM1 is base 0x3F8, irq 4."""
    memset(s, 0, sizeof(UartState))
    s.base = base
    s.irq = irq
    s.pic = pic
    s.msr_inputs = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD
    uart_reset(s)


cdef void uart_reset(UartState* s) noexcept nogil:
    """Master reset (datasheet table of reset states). Keeps the wiring, the
    host-side queues and the modem inputs."""
    s.ier = 0
    s.lcr = 0
    s.mcr = 0
    s.scr = 0
    # The divisor is undefined after a reset; 12 (9600 baud) keeps the
    # character time sane until a driver programs it.
    s.dll = 12
    s.dlm = 0
    s.fcr = 0
    s.fifo_enabled = 0
    s.trigger = 1
    s.rx_head = 0
    s.rx_count = 0
    s.rbr_last = 0
    s.lsr_latched = 0
    s.rx_activity = 0
    s.msr = s.msr_inputs          # no deltas after reset
    s.thre_pending = 0
    if s.irq_level:
        s.irq_level = 0
        if s.pic != NULL:
            pic_set_irq(s.pic, s.irq, 0)
    uart_refill(s, 0)


# ---------------------------------------------------------------- timing

cdef inline uint64_t uart_char_ns(UartState* s) noexcept nogil:
    """One character time in ns at the programmed divisor and frame format."""
    cdef uint64_t div = (<uint64_t>s.dlm << 8) | s.dll
    cdef uint64_t half_bits
    if div == 0:
        div = 65536             # divisor 0 is not allowed; take the slowest
    # In half bits, so that 1.5 stop bits is exact: start + data (+ parity),
    # then 1, 1.5 (5-bit words) or 2 stop bits.
    half_bits = 2 * (1 + 5 + (s.lcr & UART_LCR_WLEN) + (1 if s.lcr & UART_LCR_PARITY else 0))
    if s.lcr & UART_LCR_STOP:
        half_bits += 3 if (s.lcr & UART_LCR_WLEN) == 0 else 4
    else:
        half_bits += 2
    # bit time = 16 * div / clock; fits easily in 64 bits (< 2^55).
    return half_bits * div * 16 * 1000000000 // (2 * UART_CLOCK_HZ)


cdef inline uint64_t uart_timeout_deadline(UartState* s) noexcept nogil:
    return s.rx_activity + 4 * uart_char_ns(s)


cdef inline int uart_timeout_active(UartState* s, uint64_t now) noexcept nogil:
    return (s.fifo_enabled and s.rx_count > 0 and
            now >= uart_timeout_deadline(s))


# ---------------------------------------------------------- interrupts

cdef inline uint8_t uart_iir_source(UartState* s, uint64_t now) noexcept nogil:
    """The highest-priority enabled interrupt source, as IIR bits 0-3."""
    if (s.ier & UART_IER_RLS) and (s.lsr_latched & UART_LSR_ERRORS):
        return UART_IIR_RLS
    if s.ier & UART_IER_RDA:
        if s.fifo_enabled:
            if s.rx_count >= s.trigger:
                return UART_IIR_RDA
            if uart_timeout_active(s, now):
                return UART_IIR_TIMEOUT
        elif s.rx_count:
            return UART_IIR_RDA
    if (s.ier & UART_IER_THRE) and s.thre_pending:
        return UART_IIR_THRE
    if (s.ier & UART_IER_MS) and (s.msr & UART_MSR_DELTAS):
        return UART_IIR_MS
    return UART_IIR_NONE


cdef inline int uart_irq_wanted(UartState* s, uint64_t now) noexcept nogil:
    # INTR reaches the ISA line only through the OUT2-enabled driver, and the
    # -OUT2 pin is forced inactive in loopback.
    if (s.mcr & (UART_MCR_OUT2 | UART_MCR_LOOP)) != UART_MCR_OUT2:
        return 0
    return uart_iir_source(s, now) != UART_IIR_NONE


cdef void uart_update_irq(UartState* s, uint64_t now) noexcept nogil:
    cdef int level = uart_irq_wanted(s, now)
    if level != s.irq_level:
        s.irq_level = level
        if s.pic != NULL:
            pic_set_irq(s.pic, s.irq, level)


# ------------------------------------------------------------ receiver

cdef inline uint8_t uart_trigger_bytes(uint8_t fcr) noexcept nogil:
    cdef uint8_t t = fcr >> 6
    if t == 0:
        return 1
    elif t == 1:
        return 4
    elif t == 2:
        return 8
    return 14


cdef inline uint32_t uart_rx_capacity(UartState* s) noexcept nogil:
    return UART_FIFO_SIZE if s.fifo_enabled else 1


cdef void uart_rx_char(UartState* s, uint8_t byte, uint8_t errors, uint64_t now) noexcept nogil:
    """A character arriving at the receiver shift register, with PE/FE/BI in
    `errors` (a break is a 0 byte with BI). Overrun as on the part: in FIFO
    mode the new character is lost, in 16450 mode it overwrites RBR."""
    cdef uint32_t i
    errors &= UART_LSR_CHARERR
    s.rx_activity = now
    s.rx_total += 1
    if s.rx_count >= uart_rx_capacity(s):
        s.lsr_latched |= UART_LSR_OE
        s.overruns += 1
        if not s.fifo_enabled:
            s.rx_data[s.rx_head] = byte
            s.rx_err[s.rx_head] = errors
            s.lsr_latched |= errors
        return
    i = (s.rx_head + s.rx_count) % UART_FIFO_SIZE
    s.rx_data[i] = byte
    s.rx_err[i] = errors
    s.rx_count += 1
    if s.rx_count == 1:
        # It is at the top of the FIFO: its errors show in LSR now.
        s.lsr_latched |= errors


cdef void uart_refill(UartState* s, uint64_t now) noexcept nogil:
    """Move queued input into the receiver while it has room (the sender is
    flow-controlled). The serial input is disconnected in loopback."""
    if s.mcr & UART_MCR_LOOP:
        return
    while s.rxq_count and s.rx_count < uart_rx_capacity(s):
        uart_rx_char(s, s.rxq_buf[s.rxq_head], 0, now)
        s.rxq_head = (s.rxq_head + 1) & (UART_RXQ_SIZE - 1)
        s.rxq_count -= 1


cdef uint8_t uart_read_rbr(UartState* s, uint64_t now) noexcept nogil:
    if s.rx_count == 0:
        return s.rbr_last
    s.rbr_last = s.rx_data[s.rx_head]
    s.rx_head = (s.rx_head + 1) % UART_FIFO_SIZE
    s.rx_count -= 1
    s.rx_activity = now             # a CPU read restarts the timeout
    uart_refill(s, now)
    if s.rx_count:
        s.lsr_latched |= s.rx_err[s.rx_head]   # the new top's errors
    return s.rbr_last


cdef void uart_clear_rx(UartState* s, uint64_t now) noexcept nogil:
    s.rx_head = 0
    s.rx_count = 0
    s.rx_activity = now
    uart_refill(s, now)
    if s.rx_count:
        s.lsr_latched |= s.rx_err[s.rx_head]


cdef uint8_t uart_read_lsr(UartState* s) noexcept nogil:
    cdef uint8_t v = s.lsr_latched | UART_LSR_THRE | UART_LSR_TEMT
    cdef uint32_t i
    if s.rx_count:
        v |= UART_LSR_DR
    if s.fifo_enabled:
        for i in range(s.rx_count):
            if s.rx_err[(s.rx_head + i) % UART_FIFO_SIZE]:
                v |= UART_LSR_FIFOERR
                break
    # Reading LSR clears OE and the PE/FE/BI indication (and with it the
    # line-status interrupt).
    s.lsr_latched = 0
    return v


# ------------------------------------------------------------ modem

cdef inline uint8_t uart_modem_lines(UartState* s) noexcept nogil:
    """CTS/DSR/RI/DCD as MSR bits 4-7: the outside, or MCR in loopback."""
    cdef uint8_t m
    if s.mcr & UART_MCR_LOOP:
        m = 0
        if s.mcr & UART_MCR_RTS:
            m |= UART_MSR_CTS
        if s.mcr & UART_MCR_DTR:
            m |= UART_MSR_DSR
        if s.mcr & UART_MCR_OUT1:
            m |= UART_MSR_RI
        if s.mcr & UART_MCR_OUT2:
            m |= UART_MSR_DCD
        return m
    return s.msr_inputs


cdef void uart_update_msr(UartState* s) noexcept nogil:
    cdef uint8_t old = s.msr & 0xF0
    cdef uint8_t new = uart_modem_lines(s)
    cdef uint8_t changed = old ^ new
    cdef uint8_t d = s.msr & UART_MSR_DELTAS
    if changed & UART_MSR_CTS:
        d |= UART_MSR_DCTS
    if changed & UART_MSR_DSR:
        d |= UART_MSR_DDSR
    if (old & UART_MSR_RI) and not (new & UART_MSR_RI):
        d |= UART_MSR_TERI
    if changed & UART_MSR_DCD:
        d |= UART_MSR_DDCD
    s.msr = new | d


cdef void uart_set_modem_inputs(UartState* s, uint8_t lines, uint64_t now) noexcept nogil:
    """The outside world's CTS/DSR/RI/DCD, as MSR bits 4-7."""
    s.msr_inputs = lines & 0xF0
    uart_update_msr(s)
    uart_update_irq(s, now)


# ------------------------------------------------------------ transmitter

cdef void uart_transmit(UartState* s, uint8_t byte, uint64_t now) noexcept nogil:
    if s.mcr & UART_MCR_LOOP:
        # The shift register output is looped to the receiver input.
        uart_rx_char(s, byte, 0, now)
        return
    s.tx_total += 1
    if s.tx_count == UART_TX_SIZE:
        s.tx_dropped += 1
        return
    s.tx_buf[(s.tx_head + s.tx_count) & (UART_TX_SIZE - 1)] = byte
    s.tx_count += 1


# ------------------------------------------------------------ port access

cdef uint8_t uart_read8(UartState* s, uint32_t reg, uint64_t now) noexcept nogil:
    cdef uint8_t v
    if reg == UART_RBR:
        if s.lcr & UART_LCR_DLAB:
            return s.dll
        return uart_read_rbr(s, now)
    elif reg == UART_IER:
        if s.lcr & UART_LCR_DLAB:
            return s.dlm
        return s.ier
    elif reg == UART_IIR:
        v = uart_iir_source(s, now)
        if v == UART_IIR_THRE:
            s.thre_pending = 0      # reading IIR while THRE is the source
        if s.fifo_enabled:
            v |= UART_IIR_FIFO
        return v
    elif reg == UART_LCR:
        return s.lcr
    elif reg == UART_MCR:
        return s.mcr
    elif reg == UART_LSR:
        return uart_read_lsr(s)
    elif reg == UART_MSR:
        v = s.msr
        s.msr &= ~UART_MSR_DELTAS
        return v
    return s.scr


cdef void uart_write8(UartState* s, uint32_t reg, uint8_t v, uint64_t now) noexcept nogil:
    cdef uint8_t old
    if reg == UART_THR:
        if s.lcr & UART_LCR_DLAB:
            s.dll = v
            return
        # Writing THR clears the THRE interrupt ...
        s.thre_pending = 0
        uart_update_irq(s, now)
        uart_transmit(s, v, now)
        # ... and the byte leaves at once: THR is empty again, which raises
        # the THRE interrupt anew (a fresh edge for the PIC).
        s.thre_pending = 1
    elif reg == UART_IER:
        if s.lcr & UART_LCR_DLAB:
            s.dlm = v
            return
        old = s.ier
        s.ier = v & UART_IER_MASK
        if (s.ier ^ old) & UART_IER_THRE:
            # Enabling it while THR is empty (always, here) interrupts at
            # once; drivers rely on this to start transmitting.
            s.thre_pending = 1 if s.ier & UART_IER_THRE else 0
    elif reg == UART_FCR:
        if (v ^ s.fifo_enabled) & UART_FCR_ENABLE:
            # Switching FIFO mode clears both FIFOs.
            s.fifo_enabled = v & UART_FCR_ENABLE
            uart_clear_rx(s, now)
        if not (v & UART_FCR_ENABLE):
            # The other bits are only programmed with bit 0 set.
            s.fcr = 0
            s.trigger = 1
        else:
            s.fcr = v & (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIGGER)
            s.trigger = uart_trigger_bytes(v)
            if v & UART_FCR_CLEAR_RX:
                # Clears the FIFO, not the shift register or LSR errors.
                uart_clear_rx(s, now)
            # UART_FCR_CLEAR_TX: the TX FIFO is always empty here.
    elif reg == UART_LCR:
        s.lcr = v
    elif reg == UART_MCR:
        old = s.mcr
        s.mcr = v & UART_MCR_MASK
        if (old ^ s.mcr) & UART_MCR_LOOP:
            uart_refill(s, now)     # reconnected to the outside
        uart_update_msr(s)
    elif reg == UART_LSR:
        pass                        # factory test register: writes ignored
    elif reg == UART_MSR:
        pass
    else:
        s.scr = v
    uart_update_irq(s, now)


cdef int uart_io_read(UartState* s, uint32_t port, uint32_t size,
                      uint32_t* value, uint64_t now) noexcept nogil:
    """Ports base..base+7; a 16/32-bit access is split into byte accesses on
    consecutive ports, as the ISA bus does for an 8-bit device."""
    cdef uint32_t i, reg, v = 0
    if port - s.base >= 8:
        return 0
    for i in range(size):
        reg = port + i - s.base
        if reg < 8:
            v |= <uint32_t>uart_read8(s, reg, now) << (8 * i)
        else:
            v |= <uint32_t>0xFF << (8 * i)
    uart_update_irq(s, now)
    value[0] = v
    return 1


cdef int uart_io_write(UartState* s, uint32_t port, uint32_t size,
                       uint32_t value, uint64_t now) noexcept nogil:
    cdef uint32_t i, reg
    if port - s.base >= 8:
        return 0
    for i in range(size):
        reg = port + i - s.base
        if reg < 8:
            uart_write8(s, reg, (value >> (8 * i)) & 0xFF, now)
    return 1


cdef void uart_advance(UartState* s, uint64_t now) noexcept nogil:
    # The only timed event is the character timeout, evaluated from `now`.
    uart_update_irq(s, now)


cdef uint64_t uart_next_event(UartState* s, uint64_t now) noexcept nogil:
    cdef uint64_t t
    if s.irq_level != uart_irq_wanted(s, now):
        return now                  # the line is out of date: advance now
    if (s.fifo_enabled and s.rx_count and (s.ier & UART_IER_RDA) and
            (s.mcr & (UART_MCR_OUT2 | UART_MCR_LOOP)) == UART_MCR_OUT2):
        t = uart_timeout_deadline(s)
        if t > now:
            return t
    return <uint64_t>0xFFFFFFFFFFFFFFFF  # NO_EVENT


# ------------------------------------------------------------ host side

cdef uint32_t uart_feed(UartState* s, const uint8_t* data, uint32_t n, uint64_t now) noexcept nogil:
    """Python -> guest: queue received bytes. Returns how many were taken;
    the rest are lost and set LSR.OE."""
    cdef uint32_t i, taken = 0
    for i in range(n):
        if s.rxq_count == UART_RXQ_SIZE:
            uart_refill(s, now)     # the receiver may still have room
        if s.rxq_count == UART_RXQ_SIZE:
            s.rx_dropped += n - i
            s.lsr_latched |= UART_LSR_OE
            break
        s.rxq_buf[(s.rxq_head + s.rxq_count) & (UART_RXQ_SIZE - 1)] = data[i]
        s.rxq_count += 1
        taken += 1
    uart_refill(s, now)
    uart_update_irq(s, now)
    return taken


cdef uint32_t uart_tx_drain(UartState* s, uint8_t* out, uint32_t maxlen) noexcept nogil:
    """Guest -> Python: copy out (and remove) up to maxlen transmitted bytes."""
    cdef uint32_t n = 0
    while n < maxlen and s.tx_count:
        out[n] = s.tx_buf[s.tx_head]
        s.tx_head = (s.tx_head + 1) & (UART_TX_SIZE - 1)
        s.tx_count -= 1
        n += 1
    return n
