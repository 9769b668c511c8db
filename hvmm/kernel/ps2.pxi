# The PS/2 keyboard and mouse behind the 8042 controller (kernel/i8042.pxi,
# included first: I8042State holds their state, and i8042_fill moves
# their bytes into the controller's output buffer).
#
# Each answers the bytes the guest sends it (i8042_kbd_write,
# i8042_aux_write) and keeps its own FIFO of bytes waiting to be clocked
# into the controller; host input arrives through i8042_keyboard_input
# (scancode set 2 bytes) and i8042_mouse_input (movement and buttons).

cdef enum:
    # Keyboard commands (written to 0x60).
    KBD_CMD_SET_LEDS = 0xED     # + LED byte: bit 0 scroll, 1 num, 2 caps lock
    KBD_CMD_ECHO = 0xEE
    KBD_CMD_SCANCODE = 0xF0     # + 0 (query) or 1-3 (select set)
    KBD_CMD_IDENTIFY = 0xF2
    KBD_CMD_TYPEMATIC = 0xF3    # + rate/delay byte
    KBD_CMD_ENABLE = 0xF4
    KBD_CMD_DISABLE = 0xF5      # defaults, clear buffer, stop scanning
    KBD_CMD_DEFAULTS = 0xF6     # defaults, clear buffer, keep scanning
    KBD_CMD_SET3_FIRST = 0xF7   # 0xF7-0xFD: set 3 key-type commands, acknowledged
    KBD_CMD_SET3_LAST = 0xFD
    KBD_CMD_RESEND = 0xFE
    KBD_CMD_RESET = 0xFF
    KBD_REPLY_BAT_OK = 0xAA
    KBD_REPLY_ID1 = 0xAB        # MF2 keyboard: 0xAB 0x83 (0xAB 0x41 translated)
    KBD_REPLY_ID2 = 0x83
    KBD_REPLY_ACK = 0xFA
    KBD_REPLY_RESEND = 0xFE
    KBD_BREAK_PREFIX = 0xF0     # set 2: the byte before a key's make code on release
    KBD_TYPEMATIC_DEFAULT = 0x2B    # 10.9 characters/s after 500 ms

    # Mouse commands (0xD4 then the byte at 0x60).
    AUX_CMD_SCALE11 = 0xE6
    AUX_CMD_SCALE21 = 0xE7
    AUX_CMD_RESOLUTION = 0xE8   # + 0-3: 1, 2, 4, 8 counts/mm
    AUX_CMD_STATUS = 0xE9       # ACK + 3 status bytes
    AUX_CMD_STREAM = 0xEA
    AUX_CMD_READ_DATA = 0xEB    # ACK + one movement packet
    AUX_CMD_RESET_WRAP = 0xEC
    AUX_CMD_WRAP = 0xEE         # echo mode
    AUX_CMD_REMOTE = 0xF0
    AUX_CMD_GET_ID = 0xF2       # ACK + 0x00 (standard PS/2 mouse)
    AUX_CMD_SAMPLE_RATE = 0xF3  # + samples/s
    AUX_CMD_ENABLE = 0xF4       # enable data reporting (stream mode)
    AUX_CMD_DISABLE = 0xF5
    AUX_CMD_DEFAULTS = 0xF6
    AUX_CMD_RESEND = 0xFE
    AUX_CMD_RESET = 0xFF        # ACK, BAT 0xAA, ID 0x00
    AUX_ID = 0x00
    AUX_RATE_DEFAULT = 100
    AUX_RES_DEFAULT = 2         # 4 counts/mm

    # Mouse packet byte 0 and status byte 0 bits.
    AUX_PK_LEFT = 0x01          # (the hook's `buttons` uses these three bits)
    AUX_PK_RIGHT = 0x02
    AUX_PK_MIDDLE = 0x04
    AUX_PK_ONE = 0x08           # always 1: lets a driver resynchronise
    AUX_PK_XSIGN = 0x10         # dx is bit 8 of a 9-bit two's complement value
    AUX_PK_YSIGN = 0x20
    AUX_PK_XOVF = 0x40          # |dx| did not fit in 9 bits (clamped)
    AUX_PK_YOVF = 0x80
    AUX_ST_RIGHT = 0x01         # the status byte orders the buttons differently
    AUX_ST_MIDDLE = 0x02
    AUX_ST_LEFT = 0x04
    AUX_ST_SCALE21 = 0x10
    AUX_ST_ENABLED = 0x20
    AUX_ST_REMOTE = 0x40


# ---------------------------------------------------------------- keyboard

cdef void i8042_kbd_send(I8042State* s, uint8_t b) noexcept nogil:
    s.kbd_last = b
    i8042_q_push(&s.kbd_q, b)

cdef void i8042_kbd_set_typematic(I8042State* s, uint8_t v) noexcept nogil:
    s.kbd_typematic = v & 0x7F
    # Delay: (1 + bits 5-6) * 250 ms. Period: (8 + bits 0-2) * 2^(bits 3-4)
    # * 4.1667 ms, i.e. 30 characters/s (0x00) down to 2 (0x1F).
    s.kbd_delay_ms = (1 + ((v >> 5) & 3)) * 250
    s.kbd_period_us = ((8 + (v & 7)) << ((v >> 3) & 3)) * 12500 / 3

cdef void i8042_kbd_defaults(I8042State* s) noexcept nogil:
    s.kbd_set = 2
    s.kbd_param = 0
    i8042_kbd_set_typematic(s, KBD_TYPEMATIC_DEFAULT)

cdef void i8042_kbd_write(I8042State* s, uint8_t v) noexcept nogil:
    """A byte from the host (port 0x60) to the keyboard."""
    cdef uint8_t param = s.kbd_param
    if param and v < KBD_CMD_SET_LEDS:
        s.kbd_param = 0
        if param == KBD_CMD_SET_LEDS:
            s.kbd_leds = v & 7
            i8042_kbd_send(s, KBD_REPLY_ACK)
        elif param == KBD_CMD_TYPEMATIC:
            i8042_kbd_set_typematic(s, v)
            i8042_kbd_send(s, KBD_REPLY_ACK)
        elif param == KBD_CMD_SCANCODE:
            if v == 0:
                i8042_kbd_send(s, KBD_REPLY_ACK)
                i8042_kbd_send(s, s.kbd_set)   # translated to 0x43/0x41/0x3F
            elif v <= 3:
                s.kbd_set = v
                i8042_kbd_send(s, KBD_REPLY_ACK)
            else:
                i8042_kbd_send(s, KBD_REPLY_RESEND)
        return
    # Not a parameter: a command (one arriving instead of an expected
    # parameter cancels the earlier command, as on a real keyboard).
    s.kbd_param = 0
    if v == KBD_CMD_SET_LEDS or v == KBD_CMD_TYPEMATIC or v == KBD_CMD_SCANCODE:
        s.kbd_param = v
        i8042_kbd_send(s, KBD_REPLY_ACK)
    elif v == KBD_CMD_ECHO:
        i8042_kbd_send(s, KBD_CMD_ECHO)
    elif v == KBD_CMD_IDENTIFY:
        i8042_kbd_send(s, KBD_REPLY_ACK)
        i8042_kbd_send(s, KBD_REPLY_ID1)
        i8042_kbd_send(s, KBD_REPLY_ID2)
    elif v == KBD_CMD_ENABLE:
        i8042_q_clear(&s.kbd_q)
        s.kbd_scanning = 1
        i8042_kbd_send(s, KBD_REPLY_ACK)
    elif v == KBD_CMD_DISABLE or v == KBD_CMD_DEFAULTS:
        i8042_q_clear(&s.kbd_q)
        i8042_kbd_defaults(s)
        s.kbd_scanning = v == KBD_CMD_DEFAULTS
        i8042_kbd_send(s, KBD_REPLY_ACK)
    elif v >= KBD_CMD_SET3_FIRST and v <= KBD_CMD_SET3_LAST:
        i8042_kbd_send(s, KBD_REPLY_ACK)
    elif v == KBD_CMD_RESEND:
        i8042_q_push(&s.kbd_q, s.kbd_last)
    elif v == KBD_CMD_RESET:
        # ACK, then the basic assurance test (instantly) and its result;
        # LEDs off, set 2, default typematic, scanning on.
        i8042_q_clear(&s.kbd_q)
        i8042_kbd_defaults(s)
        s.kbd_leds = 0
        s.kbd_scanning = 1
        i8042_kbd_send(s, KBD_REPLY_ACK)
        i8042_kbd_send(s, KBD_REPLY_BAT_OK)
    else:
        i8042_kbd_send(s, KBD_REPLY_RESEND)

cdef void i8042_keyboard_input(I8042State* s, const uint8_t* data,
                               uint32_t n) noexcept nogil:
    """Host key events, as scancode set 2 bytes (make, 0xF0 + make for a
    break, 0xE0 prefixes included). Typematic repeat is the host's: it
    sends the make code again. Dropped while scanning is disabled."""
    cdef uint32_t i
    cdef uint8_t b
    if not s.kbd_scanning:
        return
    for i in range(n):
        b = data[i]
        if s.kbd_set == 1:
            # The guest asked the keyboard itself for set 1: convert here
            # (and the controller may translate again, as real ones do).
            if b == KBD_BREAK_PREFIX:
                s.kbd_brk = 1
                continue
            b = i8042_xlat[b] | (0x80 if s.kbd_brk else 0)
            s.kbd_brk = 0
        # (Set 3 is accepted but not converted: its codes differ from set 2
        # only for some keys, and no PC guest relies on it.)
        if s.kbd_q.count >= I8042_QSIZE - 1:
            # Buffer overrun: the keyboard sends its overrun code (0x00 in
            # set 2, 0xFF once translated) and drops the rest.
            if s.kbd_q.count == I8042_QSIZE - 1:
                i8042_q_push(&s.kbd_q, 0xFF if s.kbd_set == 1 else 0x00)
            break
        i8042_q_push(&s.kbd_q, b)
    i8042_fill(s)


# ---------------------------------------------------------------- mouse

cdef void i8042_aux_send(I8042State* s, uint8_t b) noexcept nogil:
    s.aux_last = b
    i8042_q_push(&s.aux_q, b)

cdef void i8042_aux_defaults(I8042State* s) noexcept nogil:
    s.aux_rate = AUX_RATE_DEFAULT
    s.aux_resolution = AUX_RES_DEFAULT
    s.aux_scale21 = 0
    s.aux_reporting = 0
    s.aux_remote = 0
    s.aux_param = 0
    s.aux_dx = 0
    s.aux_dy = 0

cdef inline int32_t i8042_scale21(int32_t d) noexcept nogil:
    # 2:1 scaling (stream mode only): 0 1 2 3 4 5 -> 0 1 1 3 6 9, then 2*d.
    cdef int32_t a = d if d >= 0 else -d
    cdef int32_t r
    if a >= 6:
        r = 2 * a
    elif a == 5:
        r = 9
    elif a == 4:
        r = 6
    elif a == 3:
        r = 3
    elif a >= 1:
        r = 1
    else:
        r = 0
    return r if d >= 0 else -r

cdef void i8042_aux_packet(I8042State* s, int32_t dx, int32_t dy) noexcept nogil:
    """Queue one 3-byte movement packet (all or nothing)."""
    cdef uint8_t b0 = AUX_PK_ONE | (s.aux_buttons & 7)
    if dx > 255:
        dx = 255
        b0 |= AUX_PK_XOVF
    elif dx < -256:
        dx = -256
        b0 |= AUX_PK_XOVF
    if dy > 255:
        dy = 255
        b0 |= AUX_PK_YOVF
    elif dy < -256:
        dy = -256
        b0 |= AUX_PK_YOVF
    if dx < 0:
        b0 |= AUX_PK_XSIGN
    if dy < 0:
        b0 |= AUX_PK_YSIGN
    if s.aux_q.count + 3 > I8042_QSIZE:
        return
    i8042_aux_send(s, b0)
    i8042_aux_send(s, <uint8_t>(dx & 0xFF))
    i8042_aux_send(s, <uint8_t>(dy & 0xFF))

cdef void i8042_aux_write(I8042State* s, uint8_t v) noexcept nogil:
    """A byte from the host (0xD4, then port 0x60) to the mouse."""
    cdef uint8_t param = s.aux_param
    cdef uint8_t st
    if s.aux_wrap and v != AUX_CMD_RESET_WRAP and v != AUX_CMD_RESET:
        i8042_aux_send(s, v)            # wrap mode echoes everything else
        return
    if param:
        s.aux_param = 0
        if param == AUX_CMD_SAMPLE_RATE:
            s.aux_rate = v
        else:
            s.aux_resolution = v & 3
        i8042_aux_send(s, KBD_REPLY_ACK)
        return
    if v == AUX_CMD_SAMPLE_RATE or v == AUX_CMD_RESOLUTION:
        s.aux_param = v
        i8042_aux_send(s, KBD_REPLY_ACK)
    elif v == AUX_CMD_SCALE11 or v == AUX_CMD_SCALE21:
        s.aux_scale21 = v == AUX_CMD_SCALE21
        i8042_aux_send(s, KBD_REPLY_ACK)
    elif v == AUX_CMD_STATUS:
        st = 0
        if s.aux_buttons & AUX_PK_LEFT:
            st |= AUX_ST_LEFT
        if s.aux_buttons & AUX_PK_MIDDLE:
            st |= AUX_ST_MIDDLE
        if s.aux_buttons & AUX_PK_RIGHT:
            st |= AUX_ST_RIGHT
        if s.aux_scale21:
            st |= AUX_ST_SCALE21
        if s.aux_reporting:
            st |= AUX_ST_ENABLED
        if s.aux_remote:
            st |= AUX_ST_REMOTE
        i8042_aux_send(s, KBD_REPLY_ACK)
        i8042_aux_send(s, st)
        i8042_aux_send(s, s.aux_resolution)
        i8042_aux_send(s, s.aux_rate)
    elif v == AUX_CMD_STREAM or v == AUX_CMD_REMOTE:
        s.aux_remote = v == AUX_CMD_REMOTE
        s.aux_dx = 0
        s.aux_dy = 0
        i8042_aux_send(s, KBD_REPLY_ACK)
    elif v == AUX_CMD_READ_DATA:
        # Movement since the last report (no scaling in a read), then reset.
        i8042_aux_send(s, KBD_REPLY_ACK)
        i8042_aux_packet(s, s.aux_dx, s.aux_dy)
        s.aux_dx = 0
        s.aux_dy = 0
    elif v == AUX_CMD_RESET_WRAP:
        s.aux_wrap = 0
        i8042_aux_send(s, KBD_REPLY_ACK)
    elif v == AUX_CMD_WRAP:
        s.aux_wrap = 1
        i8042_aux_send(s, KBD_REPLY_ACK)
    elif v == AUX_CMD_GET_ID:
        i8042_aux_send(s, KBD_REPLY_ACK)
        i8042_aux_send(s, AUX_ID)
    elif v == AUX_CMD_ENABLE or v == AUX_CMD_DISABLE:
        s.aux_reporting = v == AUX_CMD_ENABLE
        s.aux_dx = 0
        s.aux_dy = 0
        i8042_aux_send(s, KBD_REPLY_ACK)
    elif v == AUX_CMD_DEFAULTS:
        i8042_aux_defaults(s)
        i8042_aux_send(s, KBD_REPLY_ACK)
    elif v == AUX_CMD_RESEND:
        i8042_q_push(&s.aux_q, s.aux_last)
    elif v == AUX_CMD_RESET:
        i8042_q_clear(&s.aux_q)
        i8042_aux_defaults(s)
        s.aux_wrap = 0
        i8042_aux_send(s, KBD_REPLY_ACK)
        i8042_aux_send(s, KBD_REPLY_BAT_OK)
        i8042_aux_send(s, AUX_ID)
    else:
        i8042_aux_send(s, KBD_REPLY_RESEND)

cdef void i8042_mouse_input(I8042State* s, int32_t dx, int32_t dy,
                            uint32_t buttons) noexcept nogil:
    """Host mouse motion. dx positive = right, dy positive = UP (the PS/2
    convention: a front end with screen coordinates passes -dy); buttons:
    bit 0 left, bit 1 right, bit 2 middle. In stream mode with reporting
    on, one packet per call (|d| > 255 sets the overflow bit and clamps);
    in remote mode the movement accumulates for 0xEB; otherwise dropped."""
    s.aux_buttons = buttons & 7
    if s.aux_wrap:
        return
    if s.aux_remote:
        # Keep the sums bounded; the packet clamps and flags overflow anyway.
        s.aux_dx = max(-4096, min(4096, s.aux_dx + dx))
        s.aux_dy = max(-4096, min(4096, s.aux_dy + dy))
        return
    if not s.aux_reporting:
        return
    if s.aux_scale21:
        dx = i8042_scale21(dx)
        dy = i8042_scale21(dy)
    i8042_aux_packet(s, dx, dy)
    i8042_fill(s)
