"""The firmware-style setup the device tests share: the two 8259As
programmed as a PC BIOS does, and taking an interrupt as a CPU would."""


def init_pic(cpu, unmasked=()):
    """ICW1-4 for the AT pair (master at vector 0x08, slave at 0x70, slave
    on IRQ 2), then unmask only the IRQs listed (IRQ 2 too if any is on the
    slave)."""
    for port, base, icw3 in ((0x20, 0x08, 0x04), (0xA0, 0x70, 0x02)):
        cpu.io_write(port, 1, 0x11)         # ICW1: edge, cascade, ICW4 follows
        cpu.io_write(port + 1, 1, base)     # ICW2: vector base
        cpu.io_write(port + 1, 1, icw3)     # ICW3: cascade wiring
        cpu.io_write(port + 1, 1, 0x01)     # ICW4: 8086 mode, normal EOI
    irqs = set(unmasked)
    if any(irq >= 8 for irq in irqs):
        irqs.add(2)
    cpu.io_write(0x21, 1, 0xFF & ~sum(1 << i for i in irqs if i < 8))
    cpu.io_write(0xA1, 1, 0xFF & ~sum(1 << (i - 8) for i in irqs if i >= 8))


def take_interrupt(cpu):
    """INTA plus the handler's EOI; returns the vector, or None."""
    if not cpu.interrupt_pending():
        return None
    vec = cpu.acknowledge_interrupt()
    if vec >= 0x70:
        cpu.io_write(0xA0, 1, 0x20)
    cpu.io_write(0x20, 1, 0x20)
    return vec
