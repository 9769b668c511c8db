"""An example hvmm device plugin: a counter with an interrupt and a timer.

Two I/O ports (base 0x510 by default):

    base + 0  write: a command          read: status
                01  reset the counter to `start`
                02  raise an interrupt now (a pulse on the IRQ line)
                03  raise an interrupt `interval_us` of virtual time from now
                04  cancel that timer
              status: bits 0-6 the number of interrupts raised so far
              (mod 128), bit 7 set while the timer is armed
    base + 1  read: the counter, which then counts up by one
              (8, 16 or 32 bits; `rep insb/insw/insd` reads a run of
              values in one exit to Python)
              write: set the counter

Options (``--device example-counter,port=0x520,irq=7``): ``port``, ``irq``
(not one the in-kernel devices use: 3, 5, 6, 7, 9-11, 13-15), ``interval_us``
and ``start``.

Registered with hvmm through this package's entry point (pyproject.toml)::

    [project.entry-points."hvmm.devices"]
    example-counter = "hvmm_example_device:CounterDevice"
"""

from hvmm.devices import PortDevice

__all__ = ["CounterDevice"]

CMD_RESET = 0x01
CMD_IRQ = 0x02
CMD_TIMER = 0x03
CMD_CANCEL = 0x04

_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFFFFFF}


class CounterDevice(PortDevice):
    name = "example-counter"

    def __init__(self, port: int = 0x510, irq: int = 5, interval_us: float = 1000, start: int = 0):
        if not 0 <= port <= 0xFFFE:
            raise ValueError(f"port 0x{port:X} out of range")
        if interval_us <= 0:
            raise ValueError("interval_us must be positive")
        self.base = port
        self.ports = [(port, port + 1)]
        self.irq_number = irq
        self.interval_ns = int(interval_us * 1000)
        self.start = start
        self.counter = start
        self.interrupts = 0
        self.timer = None
        self.irq = None

    def attach(self, machine):
        super().attach(machine)
        # The IRQ line is created here: the machine checks the IRQ is free.
        self.irq = self.irq_line(self.irq_number)

    # -- port I/O -------------------------------------------------------------

    def io_read(self, port, size):
        if port == self.base:
            armed = 0x80 if self.timer is not None and self.timer.active else 0
            return armed | (self.interrupts & 0x7F)
        value = self.counter & _MASKS[size]
        self.counter = (self.counter + 1) & 0xFFFFFFFF
        return value

    def io_write(self, port, size, value):
        if port != self.base:
            self.counter = value
        elif value == CMD_RESET:
            self.counter = self.start
        elif value == CMD_IRQ:
            self.interrupt()
        elif value == CMD_TIMER:
            self.cancel()
            self.timer = self.call_after(self.interval_ns, self.interrupt)
        elif value == CMD_CANCEL:
            self.cancel()
        # other commands are ignored, as a real device would

    def io_read_block(self, port, size, count):
        # `rep insb/insw/insd`: one call for the whole block.
        if port == self.base:
            return super().io_read_block(port, size, count)
        mask = _MASKS[size]
        first = self.counter
        self.counter = (first + count) & 0xFFFFFFFF
        return b"".join(((first + i) & mask).to_bytes(size, "little") for i in range(count))

    # -- interrupts -------------------------------------------------------------

    def interrupt(self):
        self.interrupts += 1
        self.irq.pulse()

    def cancel(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
