"""16550A UART on COM1 (hvmm/kernel/uart.pxi), driven through the Cpu's I/O
bus the way a BIOS or a DOS/Linux serial driver programs it.

Host side: cpu.serial_drain() -> bytes transmitted by the guest;
cpu.serial_feed(bytes) -> number of bytes taken (queued for the guest).
"""
import pytest

from hvmm._core import Cpu

COM1 = 0x3F8
RBR = THR = DLL = COM1
IER = DLM = COM1 + 1
IIR = FCR = COM1 + 2
LCR = COM1 + 3
MCR = COM1 + 4
LSR = COM1 + 5
MSR = COM1 + 6
SCR = COM1 + 7

IIR_NONE, IIR_RLS, IIR_RDA, IIR_TIMEOUT, IIR_THRE, IIR_MS = 0x01, 0x06, 0x04, 0x0C, 0x02, 0x00
FIFO_BITS = 0xC0
CHAR_NS_9600_8N1 = 10 * 12 * 16 * 10**9 // 1843200      # 1041666 ns per character


def inb(cpu, port):
    return cpu.io_read(port, 1)


def outb(cpu, port, value):
    cpu.io_write(port, 1, value)


def eoi(cpu):
    outb(cpu, 0x20, 0x20)


def uart_init(cpu, fifo=True, ier=0x00, mcr=0x0B):
    """9600 baud 8N1 the way a DOS driver does it."""
    outb(cpu, LCR, 0x80)                # DLAB
    outb(cpu, DLL, 12)                  # 1843200 / (16 * 12) = 9600
    outb(cpu, DLM, 0)
    outb(cpu, LCR, 0x03)                # 8 data, no parity, 1 stop
    if fifo:
        outb(cpu, FCR, 0xC7)            # enable, clear RX and TX, trigger 14
    outb(cpu, MCR, mcr)                 # DTR | RTS | OUT2 (IRQ enable on a PC)
    outb(cpu, IER, ier)


@pytest.fixture
def cpu(pic):
    c = Cpu(memory_size=1 << 20, model="386")
    pic.init(c, (4,))
    return c


def test_reset_state(cpu):
    assert inb(cpu, IER) == 0
    assert inb(cpu, IIR) == IIR_NONE
    assert inb(cpu, LCR) == 0
    assert inb(cpu, MCR) == 0
    assert inb(cpu, LSR) == 0x60        # THRE | TEMT
    assert inb(cpu, MSR) & 0xF0 == 0xB0  # DCD DSR CTS: a live peer
    assert not cpu.interrupt_pending()


def test_detection_like_dos(cpu):
    # Scratch register present (16450 and later) ...
    for v in (0x55, 0xAA):
        outb(cpu, SCR, v)
        assert inb(cpu, SCR) == v
    # ... and FIFOs that work: IIR bits 6-7 = 11 on a 16550A.
    outb(cpu, FCR, 0x01)
    assert inb(cpu, IIR) & 0xC0 == 0xC0
    outb(cpu, FCR, 0x00)
    assert inb(cpu, IIR) & 0xC0 == 0x00


def test_divisor_latch_and_registers(cpu):
    uart_init(cpu)
    outb(cpu, LCR, 0x83)
    assert inb(cpu, DLL) == 12 and inb(cpu, DLM) == 0
    outb(cpu, DLL, 1)                   # 115200
    assert inb(cpu, DLL) == 1
    outb(cpu, LCR, 0x03)
    assert inb(cpu, LCR) == 0x03
    outb(cpu, IER, 0xFF)
    assert inb(cpu, IER) == 0x0F        # bits 4-7 do not exist
    outb(cpu, MCR, 0xFF)
    assert inb(cpu, MCR) == 0x1F


def test_transmit_goes_to_serial_drain(cpu):
    uart_init(cpu)
    for b in b"Hello, COM1\r\n":
        assert inb(cpu, LSR) & 0x20     # THRE: ready for the next byte
        outb(cpu, THR, b)
    assert inb(cpu, LSR) & 0x60 == 0x60
    assert cpu.serial_drain() == b"Hello, COM1\r\n"
    assert cpu.serial_drain() == b""


def test_receive_from_serial_feed(cpu):
    uart_init(cpu)
    assert not inb(cpu, LSR) & 0x01
    assert cpu.serial_feed(b"dir\r") == 4
    got = bytearray()
    while inb(cpu, LSR) & 0x01:         # DR
        got.append(inb(cpu, RBR))
    assert bytes(got) == b"dir\r"
    assert inb(cpu, LSR) == 0x60


def test_receive_more_than_the_fifo_is_not_lost(cpu):
    # Fed bytes wait in the input queue and refill the 16-byte FIFO as the
    # guest reads (a flow-controlled sender).
    uart_init(cpu)
    data = bytes(range(256)) * 2
    cpu.serial_feed(data)
    got = bytearray()
    while inb(cpu, LSR) & 0x01:
        got.append(inb(cpu, RBR))
    assert bytes(got) == data
    assert not inb(cpu, LSR) & 0x02     # no overrun


def test_16450_mode_receive(cpu):
    uart_init(cpu, fifo=False, ier=0x01)
    assert inb(cpu, IIR) == IIR_NONE    # bits 6-7 clear without FIFOs
    cpu.serial_feed(b"ab")
    assert inb(cpu, IIR) == IIR_RDA     # any character interrupts
    assert inb(cpu, RBR) == ord("a")
    assert inb(cpu, RBR) == ord("b")
    assert inb(cpu, IIR) == IIR_NONE


def test_thre_interrupt_on_irq4(cpu):
    uart_init(cpu)
    assert not cpu.interrupt_pending()
    outb(cpu, IER, 0x02)                # enabling ETBEI with THR empty interrupts
    assert cpu.interrupt_pending()
    assert cpu.acknowledge_interrupt() == 0x08 + 4
    assert inb(cpu, IIR) == FIFO_BITS | IIR_THRE
    assert inb(cpu, IIR) == FIFO_BITS | IIR_NONE   # the IIR read cleared it
    eoi(cpu)
    assert not cpu.interrupt_pending()
    outb(cpu, THR, ord("x"))            # THR empties again at once: new interrupt
    assert cpu.interrupt_pending()
    assert cpu.acknowledge_interrupt() == 0x0C
    assert inb(cpu, IIR) == FIFO_BITS | IIR_THRE
    eoi(cpu)
    assert cpu.serial_drain() == b"x"
    outb(cpu, IER, 0x00)
    assert inb(cpu, IIR) == FIFO_BITS | IIR_NONE
    assert not cpu.interrupt_pending()


def test_out2_gates_the_irq_line(cpu):
    uart_init(cpu, mcr=0x03, ier=0x02)  # DTR | RTS, no OUT2
    assert not cpu.interrupt_pending()
    outb(cpu, MCR, 0x0B)                # OUT2 connects INTR to IRQ 4
    assert cpu.interrupt_pending()
    assert cpu.acknowledge_interrupt() == 0x0C
    eoi(cpu)


def test_received_data_interrupt_and_trigger_level(cpu):
    uart_init(cpu, ier=0x01)            # trigger level 14
    cpu.serial_feed(b"x" * 13)
    assert inb(cpu, IIR) == FIFO_BITS | IIR_NONE
    assert not cpu.interrupt_pending()
    cpu.serial_feed(b"y")
    assert cpu.interrupt_pending()
    assert cpu.acknowledge_interrupt() == 0x0C
    assert inb(cpu, IIR) == FIFO_BITS | IIR_RDA
    for _ in range(14):
        inb(cpu, RBR)
    assert inb(cpu, IIR) == FIFO_BITS | IIR_NONE
    eoi(cpu)
    assert not cpu.interrupt_pending()


def test_character_timeout_after_four_character_times(cpu):
    uart_init(cpu, ier=0x01)
    cpu.serial_feed(b"ok")              # 2 < 14: only the timeout will report it
    cpu.advance_time(4 * CHAR_NS_9600_8N1 - 1000)
    assert not cpu.interrupt_pending()
    assert inb(cpu, IIR) == FIFO_BITS | IIR_NONE
    cpu.advance_time(2000)
    assert cpu.interrupt_pending()
    assert cpu.acknowledge_interrupt() == 0x0C
    assert inb(cpu, IIR) == FIFO_BITS | IIR_TIMEOUT
    assert inb(cpu, RBR) == ord("o")    # reading restarts the timer
    assert inb(cpu, IIR) == FIFO_BITS | IIR_NONE
    eoi(cpu)
    cpu.advance_time(4 * CHAR_NS_9600_8N1 + 1000)
    assert cpu.interrupt_pending()
    assert inb(cpu, IIR) == FIFO_BITS | IIR_TIMEOUT
    assert inb(cpu, RBR) == ord("k")
    assert inb(cpu, IIR) == FIFO_BITS | IIR_NONE


def test_iir_priorities(cpu):
    uart_init(cpu, ier=0x0F)
    assert inb(cpu, MSR) & 0x0F == 0    # no modem deltas yet
    # THRE is pending (enabled with THR empty). Add received data (trigger
    # 1), an overrun, and a modem status change (loopback toggles DCD etc.).
    outb(cpu, FCR, 0x01)                # trigger level 1, FIFO kept
    cpu.serial_feed(b"z" * (4096 + 16 + 1))   # one more than queue + FIFO
    outb(cpu, MCR, 0x1F)                # loopback: MSR follows MCR, OUT1 -> RI ...
    outb(cpu, MCR, 0x0B)                # ... and back: RI falls, TERI latched
    assert inb(cpu, IIR) == FIFO_BITS | IIR_RLS       # 1. line status (OE)
    assert inb(cpu, LSR) & 0x03 == 0x03               # reading LSR clears it
    assert inb(cpu, IIR) == FIFO_BITS | IIR_RDA       # 2. data available
    outb(cpu, FCR, 0x03)                # clear the RX FIFO ...
    while inb(cpu, LSR) & 0x01:         # ... and drain what the queue refills
        inb(cpu, RBR)
    assert inb(cpu, IIR) == FIFO_BITS | IIR_THRE      # 3. THR empty
    assert inb(cpu, IIR) == FIFO_BITS | IIR_MS        # 4. modem status
    inb(cpu, MSR)
    assert inb(cpu, IIR) == FIFO_BITS | IIR_NONE


def test_modem_status_in_loopback_follows_mcr(cpu):
    outb(cpu, MCR, 0x10)
    inb(cpu, MSR)
    outb(cpu, MCR, 0x10 | 0x0A)         # Linux's probe: LOOP | OUT2 | RTS
    assert inb(cpu, MSR) & 0xF0 == 0x90  # DCD | CTS
    outb(cpu, MCR, 0x10 | 0x0F)         # + DTR, OUT1
    assert inb(cpu, MSR) == 0xF2        # all four lines; DSR changed (RI rose: no TERI)
    outb(cpu, MCR, 0x10 | 0x0B)         # OUT1 off: RI trailing edge
    assert inb(cpu, MSR) == 0xB4
    assert inb(cpu, MSR) == 0xB0        # deltas clear on read


def test_loopback_data(cpu):
    uart_init(cpu)
    outb(cpu, MCR, 0x1B)                # LOOP | OUT2 | RTS | DTR
    for b in b"ping":
        outb(cpu, THR, b)
    assert cpu.serial_drain() == b""    # nothing leaves the chip
    got = bytearray()
    while inb(cpu, LSR) & 0x01:
        got.append(inb(cpu, RBR))
    assert bytes(got) == b"ping"
    # The serial input is disconnected in loopback: fed bytes wait.
    cpu.serial_feed(b"in")
    assert not inb(cpu, LSR) & 0x01
    outb(cpu, MCR, 0x0B)
    assert inb(cpu, RBR) == ord("i") and inb(cpu, RBR) == ord("n")
    outb(cpu, THR, ord("!"))
    assert cpu.serial_drain() == b"!"


def test_loopback_overrun(cpu):
    uart_init(cpu)
    outb(cpu, MCR, 0x1B)
    for i in range(17):                 # one more than the FIFO holds
        outb(cpu, THR, 0x40 + i)
    assert inb(cpu, LSR) & 0x03 == 0x03  # DR | OE
    got = bytes(inb(cpu, RBR) for _ in range(16))
    assert got == bytes(range(0x40, 0x50))
    assert not inb(cpu, LSR) & 0x01


def test_loopback_does_not_raise_irq4(cpu):
    # On a PC the IRQ driver is enabled by the -OUT2 pin, which the 16550
    # holds inactive in loopback; IIR still reports the source.
    uart_init(cpu, ier=0x02, mcr=0x1B)
    assert not cpu.interrupt_pending()
    assert inb(cpu, IIR) == FIFO_BITS | IIR_THRE
