# Intel 8042 keyboard controller ("KBC", ports 0x60/0x64) with a PS/2
# keyboard on its first port and a PS/2 mouse on its auxiliary port.
#
# Three parts, as on a real board:
#   - the controller: status register, command byte, output port (A20 gate
#     and CPU reset line), a one-byte output buffer that the guest reads at
#     0x60, and the set 2 -> set 1 scancode translation;
#   - the keyboard and the mouse: each answers the bytes the guest sends it
#     and keeps its own FIFO of bytes waiting to be clocked into the
#     controller (a real device holds them while the controller inhibits
#     its clock line, which is what "interface disabled" means);
#   - the IRQ lines: IRQ1 = output buffer holds keyboard data AND command
#     byte bit 0; IRQ12 = output buffer holds mouse data AND bit 1. The
#     lines follow that level, so each byte that becomes available is one
#     rising edge at the (edge-triggered) PIC, and reading 0x60 drops it.
#
# Everything is instantaneous: a command's reply is in the output buffer as
# soon as the OUT returns, IBF never reads as set, the keyboard's BAT after
# a reset takes no time. That keeps runs deterministic and has no timers,
# so advance()/next_event() are trivial.
#
# The core reads two fields after every write: `a20` (0/1, the output
# port's A20 gate) and `reset_request` (1 = the guest pulsed the CPU reset
# line: the core resets the CPU and clears the field).
#
# The keyboard and the mouse (their commands, FIFOs and host input) are in
# kernel/ps2.pxi, included right after this file; their state is part of
# I8042State below.
#
# Needs, from the including module: libc.stdint types, memset, PicState
# and pic_set_irq (kernel/pic.pxi).

cdef enum:
    I8042_PORT_DATA = 0x60
    I8042_PORT_CMD = 0x64       # write: controller command; read: status

    # Status register (read at 0x64).
    KBC_ST_OBF = 0x01           # output buffer full: a byte waits at 0x60
    KBC_ST_IBF = 0x02           # input buffer full: never, writes are consumed at once
    KBC_ST_SYS = 0x04           # system flag: command byte bit 2 (set once POST passed)
    KBC_ST_CMD = 0x08           # last write was to 0x64 (1) or 0x60 (0)
    KBC_ST_UNLOCKED = 0x10      # keylock switch: keyboard not inhibited
    KBC_ST_AUXOBF = 0x20        # the byte in the output buffer came from the mouse
    KBC_ST_TIMEOUT = 0x40       # (never: both devices are always present)
    KBC_ST_PARITY = 0x80        # (never)

    # Command byte (controller RAM byte 0; 0x20 reads it, 0x60 writes it).
    KBC_CB_KBDINT = 0x01        # IRQ1 when keyboard data is in the output buffer
    KBC_CB_AUXINT = 0x02        # IRQ12 when mouse data is in the output buffer
    KBC_CB_SYS = 0x04           # system flag, mirrored in status bit 2
    KBC_CB_KBDDIS = 0x10        # keyboard interface disabled (clock held low)
    KBC_CB_AUXDIS = 0x20        # mouse interface disabled
    KBC_CB_XLATE = 0x40         # translate keyboard bytes from set 2 to set 1
    # Power-on value: keyboard IRQ on, mouse interface off, translation on
    # (an AT-compatible controller out of reset; the BIOS rewrites it).
    KBC_CB_DEFAULT = 0x61

    # Output port (0xD0 reads, 0xD1 writes).
    KBC_OUT_RESET = 0x01        # CPU reset line, active low: writing 0 resets
    KBC_OUT_A20 = 0x02          # A20 gate
    KBC_OUT_OBF = 0x10          # the IRQ1 pin (output buffer full, keyboard)
    KBC_OUT_AUXOBF = 0x20       # the IRQ12 pin (output buffer full, mouse)
    # An 8042's port pins come out of reset high: A20 enabled, reset inactive,
    # keyboard clock/data idle. Bits 4-5 are not stored: they are computed.
    KBC_OUT_DEFAULT = 0xCF

    # Input port (0xC0): keyboard not inhibited (bit 7), manufacturing
    # jumper not installed (bit 5: 0 would send an AT BIOS into its burn-in
    # loop), colour display (bit 6 = 0), 512 KiB on the board (bit 4 = 0).
    KBC_INPUT_PORT = 0xA0

    # Controller commands (written to 0x64).
    KBC_CMD_READ_RAM = 0x20     # 0x20-0x3F: read RAM byte (0x20 = command byte)
    KBC_CMD_WRITE_RAM = 0x60    # 0x60-0x7F: write RAM byte (data byte follows at 0x60)
    KBC_CMD_PWD_TEST = 0xA4     # password installed? 0xF1 = no
    KBC_CMD_AUX_DISABLE = 0xA7
    KBC_CMD_AUX_ENABLE = 0xA8
    KBC_CMD_AUX_TEST = 0xA9     # mouse interface test: 0x00 = no error
    KBC_CMD_SELF_TEST = 0xAA    # controller self-test: 0x55 = passed
    KBC_CMD_KBD_TEST = 0xAB     # keyboard interface test: 0x00 = no error
    KBC_CMD_KBD_DISABLE = 0xAD
    KBC_CMD_KBD_ENABLE = 0xAE
    KBC_CMD_READ_INPUT = 0xC0
    KBC_CMD_READ_OUTPUT = 0xD0
    KBC_CMD_WRITE_OUTPUT = 0xD1     # data byte follows
    KBC_CMD_WRITE_KBD_OBUF = 0xD2   # data byte appears as if from the keyboard
    KBC_CMD_WRITE_AUX_OBUF = 0xD3   # data byte appears as if from the mouse
    KBC_CMD_WRITE_AUX = 0xD4        # data byte goes to the mouse
    KBC_CMD_A20_OFF = 0xDD          # HP Vectra and later chipsets
    KBC_CMD_A20_ON = 0xDF
    KBC_CMD_PULSE = 0xF0            # 0xF0-0xFF: pulse output port bits 0-3 whose
                                    # command bit is 0 (0xFE pulses the reset line)
    KBC_REPLY_SELF_TEST_OK = 0x55
    KBC_REPLY_IFACE_OK = 0x00
    KBC_REPLY_NO_PASSWORD = 0xF1

    # FIFO of bytes a device has ready for the controller. A PS/2 keyboard
    # buffers 16 keys; a few more bytes cover multi-byte codes and replies.
    I8042_QSIZE = 64


ctypedef struct I8042Queue:
    uint8_t data[I8042_QSIZE]
    uint32_t head               # index of the oldest byte
    uint32_t count


ctypedef struct I8042State:
    PicState* pic               # set at init
    # --- read by the core after each write
    int a20                     # output port bit 1
    int reset_request           # set when the guest pulses reset; the core clears it
    # --- controller
    uint8_t status              # OBF, AUXOBF and CMD; the other bits are computed
    uint8_t obuf                # the output buffer (0x60 reads it, full or not)
    uint8_t ram[32]             # controller RAM; ram[0] is the command byte
    uint8_t outport             # output port (bits 4-5 computed on read)
    uint8_t pending             # controller command waiting for its data byte, or 0
    int ctrl_valid              # a controller reply (or D2/D3 byte) waits for the
    uint8_t ctrl_byte           # output buffer; it goes ahead of device data
    int ctrl_aux                # ... and is marked as mouse data (D3)
    int xlate_break             # translation swallowed an 0xF0: next byte | 0x80
    int irq1                    # levels currently driven on IRQ1 / IRQ12
    int irq12
    # --- keyboard
    I8042Queue kbd_q
    uint8_t kbd_param           # command waiting for its parameter byte, or 0
    uint8_t kbd_last            # last byte sent, for 0xFE (resend)
    uint8_t kbd_leds            # bit 0 scroll, 1 num, 2 caps lock
    uint8_t kbd_typematic       # raw 0xF3 byte
    uint32_t kbd_delay_ms       # decoded: delay before repeat (250-1000 ms)
    uint32_t kbd_period_us      # decoded: repeat period (33333-500000 us)
    uint8_t kbd_set             # scancode set selected by the guest (1-3)
    int kbd_scanning            # 0 after 0xF5: key input is dropped
    int kbd_brk                 # set 1 conversion saw a host 0xF0
    # --- mouse
    I8042Queue aux_q
    uint8_t aux_param           # command waiting for its parameter byte, or 0
    uint8_t aux_last            # last byte sent, for 0xFE
    uint8_t aux_rate            # samples/s (recorded; the host decides when to move)
    uint8_t aux_resolution      # 0-3
    int aux_scale21
    int aux_reporting           # data reporting enabled (0xF4)
    int aux_remote              # remote mode: movement accumulates until 0xEB
    int aux_wrap                # wrap (echo) mode
    uint8_t aux_buttons         # AUX_PK_* bits
    int32_t aux_dx              # movement not yet reported (remote mode)
    int32_t aux_dy


# The 8042's set 2 -> set 1 translation table (the same ROM table in every
# AT-compatible controller). Bytes 0x80-0xFF pass unchanged except 0x83
# (set 2 F7 key, which is > 0x7F) and 0x84 (Alt+SysRq).
cdef uint8_t i8042_xlat[256]

cdef void i8042_init_tables() noexcept nogil:
    cdef uint8_t low[128]
    low[:] = [
        0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58,
        0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
        0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a,
        0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
        0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c,
        0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
        0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e,
        0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
        0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60,
        0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
        0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e,
        0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
        0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b,
        0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
        0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45,
        0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
    ]
    cdef int i
    for i in range(128):
        i8042_xlat[i] = low[i]
    for i in range(128, 256):
        i8042_xlat[i] = <uint8_t>i
    i8042_xlat[0x83] = 0x41
    i8042_xlat[0x84] = 0x54

i8042_init_tables()


# ---------------------------------------------------------------- FIFOs

cdef inline void i8042_q_clear(I8042Queue* q) noexcept nogil:
    q.head = 0
    q.count = 0

cdef inline int i8042_q_push(I8042Queue* q, uint8_t b) noexcept nogil:
    if q.count >= I8042_QSIZE:
        return 0
    q.data[(q.head + q.count) % I8042_QSIZE] = b
    q.count += 1
    return 1

cdef inline uint8_t i8042_q_pop(I8042Queue* q) noexcept nogil:
    cdef uint8_t b = q.data[q.head]
    q.head = (q.head + 1) % I8042_QSIZE
    q.count -= 1
    return b


# ---------------------------------------------------------------- controller

cdef void i8042_update_irq(I8042State* s) noexcept nogil:
    """Drive IRQ1/IRQ12 from the output buffer state and the enables."""
    cdef int l1 = 0
    cdef int l12 = 0
    if s.status & KBC_ST_OBF:
        if s.status & KBC_ST_AUXOBF:
            l12 = (s.ram[0] & KBC_CB_AUXINT) != 0
        else:
            l1 = (s.ram[0] & KBC_CB_KBDINT) != 0
    if l1 != s.irq1:
        s.irq1 = l1
        if s.pic != NULL:
            pic_set_irq(s.pic, 1, l1)
    if l12 != s.irq12:
        s.irq12 = l12
        if s.pic != NULL:
            pic_set_irq(s.pic, 12, l12)

cdef void i8042_fill(I8042State* s) noexcept nogil:
    """Move the next waiting byte into an empty output buffer.

    Controller replies first, then the keyboard, then the mouse; a device
    whose interface is disabled keeps its bytes. Keyboard bytes are
    translated here, as they arrive at the controller, so the translation
    bit in force at that moment is the one that applies.
    """
    cdef uint8_t b
    cdef int aux = 0
    if s.status & KBC_ST_OBF:
        return
    if s.ctrl_valid:
        s.ctrl_valid = 0
        b = s.ctrl_byte
        aux = s.ctrl_aux
    elif s.kbd_q.count and not (s.ram[0] & KBC_CB_KBDDIS):
        b = i8042_q_pop(&s.kbd_q)
        if s.ram[0] & KBC_CB_XLATE:
            # Set 2 marks a release with a 0xF0 prefix; set 1 with bit 7 of
            # the make code. The controller swallows the prefix.
            while b == KBD_BREAK_PREFIX:
                s.xlate_break = 1
                if s.kbd_q.count == 0:
                    return
                b = i8042_q_pop(&s.kbd_q)
            b = i8042_xlat[b]
            if s.xlate_break:
                b |= 0x80
                s.xlate_break = 0
    elif s.aux_q.count and not (s.ram[0] & KBC_CB_AUXDIS):
        b = i8042_q_pop(&s.aux_q)
        aux = 1
    else:
        return
    s.obuf = b
    s.status |= KBC_ST_OBF
    if aux:
        s.status |= KBC_ST_AUXOBF
    else:
        s.status &= ~KBC_ST_AUXOBF
    i8042_update_irq(s)

cdef inline void i8042_reply(I8042State* s, uint8_t b, int aux) noexcept nogil:
    """A byte from the controller itself (or D2/D3) for the output buffer."""
    s.ctrl_byte = b
    s.ctrl_aux = aux
    s.ctrl_valid = 1
    i8042_fill(s)

cdef inline void i8042_set_outport(I8042State* s, uint8_t v) noexcept nogil:
    if not (v & KBC_OUT_RESET):
        # The reset line is a pulse for us: the core resets the CPU; the
        # 8042 itself is not reset, and the line reads back inactive.
        s.reset_request = 1
    s.outport = (v | KBC_OUT_RESET) & ~(KBC_OUT_OBF | KBC_OUT_AUXOBF)
    s.a20 = (v & KBC_OUT_A20) != 0

cdef inline uint8_t i8042_read_outport(I8042State* s) noexcept nogil:
    cdef uint8_t v = s.outport
    if s.status & KBC_ST_OBF:
        v |= KBC_OUT_AUXOBF if s.status & KBC_ST_AUXOBF else KBC_OUT_OBF
    return v

cdef inline void i8042_set_cmd_byte(I8042State* s, uint8_t v) noexcept nogil:
    s.ram[0] = v
    # A newly enabled interface may have bytes waiting; a newly enabled IRQ
    # with the buffer already full raises its line (both as on hardware).
    i8042_update_irq(s)
    i8042_fill(s)


# ---------------------------------------------------------------- contract

cdef void i8042_reset(I8042State* s) noexcept nogil:
    """Power-on / hardware reset of the controller and both devices.

    Keeps s.pic. The core should copy s.a20 into its A20 gate afterwards.
    """
    cdef PicState* pic = s.pic
    cdef int l1 = s.irq1
    cdef int l12 = s.irq12
    memset(s, 0, sizeof(I8042State))
    s.pic = pic
    s.irq1 = l1
    s.irq12 = l12
    s.ram[0] = KBC_CB_DEFAULT
    s.outport = KBC_OUT_DEFAULT
    s.a20 = 1
    s.kbd_scanning = 1
    i8042_kbd_defaults(s)
    i8042_aux_defaults(s)
    i8042_update_irq(s)     # lowers any line left high

cdef void i8042_controller_command(I8042State* s, uint8_t v) noexcept nogil:
    s.pending = 0
    if v >= KBC_CMD_READ_RAM and v < KBC_CMD_READ_RAM + 32:
        i8042_reply(s, s.ram[v - KBC_CMD_READ_RAM], 0)
    elif v >= KBC_CMD_WRITE_RAM and v < KBC_CMD_WRITE_RAM + 32:
        s.pending = v
    elif v == KBC_CMD_WRITE_OUTPUT or v == KBC_CMD_WRITE_KBD_OBUF or \
            v == KBC_CMD_WRITE_AUX_OBUF or v == KBC_CMD_WRITE_AUX:
        s.pending = v
    elif v == KBC_CMD_SELF_TEST:
        # Passing the self-test sets the system flag (the BIOS's warm-boot
        # indicator from then on).
        s.ram[0] |= KBC_CB_SYS
        i8042_reply(s, KBC_REPLY_SELF_TEST_OK, 0)
    elif v == KBC_CMD_KBD_TEST or v == KBC_CMD_AUX_TEST:
        i8042_reply(s, KBC_REPLY_IFACE_OK, 0)
    elif v == KBC_CMD_PWD_TEST:
        i8042_reply(s, KBC_REPLY_NO_PASSWORD, 0)
    elif v == KBC_CMD_KBD_DISABLE:
        i8042_set_cmd_byte(s, s.ram[0] | KBC_CB_KBDDIS)
    elif v == KBC_CMD_KBD_ENABLE:
        i8042_set_cmd_byte(s, s.ram[0] & ~KBC_CB_KBDDIS)
    elif v == KBC_CMD_AUX_DISABLE:
        i8042_set_cmd_byte(s, s.ram[0] | KBC_CB_AUXDIS)
    elif v == KBC_CMD_AUX_ENABLE:
        i8042_set_cmd_byte(s, s.ram[0] & ~KBC_CB_AUXDIS)
    elif v == KBC_CMD_READ_INPUT:
        i8042_reply(s, KBC_INPUT_PORT, 0)
    elif v == KBC_CMD_READ_OUTPUT:
        i8042_reply(s, i8042_read_outport(s), 0)
    elif v == KBC_CMD_A20_OFF:
        i8042_set_outport(s, s.outport & ~KBC_OUT_A20)
    elif v == KBC_CMD_A20_ON:
        i8042_set_outport(s, s.outport | KBC_OUT_A20)
    elif v >= KBC_CMD_PULSE:
        # Pulse low (for ~6 us) the output port bits 0-3 whose bit in the
        # command is 0. Only bit 0, the reset line, has a lasting effect.
        if not (v & KBC_OUT_RESET):
            s.reset_request = 1

cdef void i8042_data_write(I8042State* s, uint8_t v) noexcept nogil:
    cdef uint8_t cmd = s.pending
    s.pending = 0
    if cmd >= KBC_CMD_WRITE_RAM and cmd < KBC_CMD_WRITE_RAM + 32:
        if cmd == KBC_CMD_WRITE_RAM:
            i8042_set_cmd_byte(s, v)
        else:
            s.ram[cmd - KBC_CMD_WRITE_RAM] = v
    elif cmd == KBC_CMD_WRITE_OUTPUT:
        i8042_set_outport(s, v)
    elif cmd == KBC_CMD_WRITE_KBD_OBUF:
        i8042_reply(s, v, 0)
    elif cmd == KBC_CMD_WRITE_AUX_OBUF:
        i8042_reply(s, v, 1)
    elif cmd == KBC_CMD_WRITE_AUX:
        # Talking to the mouse enables its interface (as on AMI and
        # Phoenix controllers, and what Linux's i8042 probe relies on).
        s.ram[0] &= ~KBC_CB_AUXDIS
        i8042_aux_write(s, v)
        i8042_fill(s)
    else:
        # Plain data byte: to the keyboard, whose interface this enables.
        s.ram[0] &= ~KBC_CB_KBDDIS
        i8042_kbd_write(s, v)
        i8042_fill(s)

cdef int i8042_io_read(I8042State* s, uint32_t port, uint32_t size,
                       uint32_t* value, uint64_t now) noexcept nogil:
    if size != 1:
        return 0
    if port == I8042_PORT_DATA:
        # The buffer keeps its last byte after a read (EMM386 and some
        # BIOSes re-read it); reading empties it and lowers the IRQ line,
        # and the next waiting byte (if any) comes in: a new edge.
        value[0] = s.obuf
        if s.status & KBC_ST_OBF:
            s.status &= ~(KBC_ST_OBF | KBC_ST_AUXOBF)
            i8042_update_irq(s)
            i8042_fill(s)
        return 1
    if port == I8042_PORT_CMD:
        value[0] = (s.status & (KBC_ST_OBF | KBC_ST_AUXOBF | KBC_ST_CMD)) \
            | (s.ram[0] & KBC_CB_SYS) | KBC_ST_UNLOCKED
        return 1
    return 0

cdef int i8042_io_write(I8042State* s, uint32_t port, uint32_t size,
                        uint32_t value, uint64_t now) noexcept nogil:
    cdef uint8_t v = <uint8_t>value
    if size != 1:
        return 0
    if port == I8042_PORT_DATA:
        s.status &= ~KBC_ST_CMD
        i8042_data_write(s, v)
        return 1
    if port == I8042_PORT_CMD:
        # Commands this controller does not have are declined (the bus
        # counts them, or a Python device behind us may take them).
        if not ((v >= KBC_CMD_READ_RAM and v < KBC_CMD_WRITE_RAM + 32)
                or v == KBC_CMD_PWD_TEST
                or (v >= KBC_CMD_AUX_DISABLE and v <= KBC_CMD_KBD_TEST)
                or v == KBC_CMD_KBD_DISABLE or v == KBC_CMD_KBD_ENABLE
                or v == KBC_CMD_READ_INPUT
                or (v >= KBC_CMD_READ_OUTPUT and v <= KBC_CMD_WRITE_AUX)
                or v == KBC_CMD_A20_OFF or v == KBC_CMD_A20_ON
                or v >= KBC_CMD_PULSE):
            return 0
        s.status |= KBC_ST_CMD
        i8042_controller_command(s, v)
        return 1
    return 0

cdef void i8042_advance(I8042State* s, uint64_t now) noexcept nogil:
    pass            # no timers: every reply is immediate

cdef uint64_t i8042_next_event(I8042State* s, uint64_t now) noexcept nogil:
    return <uint64_t>0xFFFFFFFFFFFFFFFF     # NO_EVENT
