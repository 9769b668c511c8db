"""In-kernel dual 8259A PIC (hvmm/kernel/pic.pxi), driven through ports.

The register sequences are the ones a PC BIOS and an OS use; expectations
are the Intel 8259A datasheet's. IRQ lines are driven with
`cpu.set_irq(irq, level)` (the hook Python devices use); a pulse is
set(1) then set(0).
"""

import pytest

from hvmm._core import Cpu

MASTER_CMD, MASTER_DATA = 0x20, 0x21
SLAVE_CMD, SLAVE_DATA = 0xA0, 0xA1
ELCR_MASTER, ELCR_SLAVE = 0x4D0, 0x4D1

OCW3_READ_IRR = 0x0A
OCW3_READ_ISR = 0x0B
OCW3_POLL = 0x0C
OCW2_EOI = 0x20
OCW2_SPECIFIC_EOI = 0x60
OCW2_ROTATE_EOI = 0xA0
OCW2_ROTATE_AEOI_SET = 0x80
OCW2_ROTATE_AEOI_CLEAR = 0x00
OCW2_SET_PRIORITY = 0xC0


def outb(cpu, port, value):
    cpu.io_write(port, 1, value)


def inb(cpu, port):
    return cpu.io_read(port, 1)


def init_pics(cpu, master_base=0x08, slave_base=0x70, icw4=0x01):
    """The PC/AT BIOS sequence: ICW1 edge/cascade/ICW4, ICW2 vector base,
    ICW3 slave on IR2 / slave ID 2, ICW4 8086 mode; then OCW1 unmasks all."""
    outb(cpu, MASTER_CMD, 0x11)
    outb(cpu, SLAVE_CMD, 0x11)
    outb(cpu, MASTER_DATA, master_base)
    outb(cpu, SLAVE_DATA, slave_base)
    outb(cpu, MASTER_DATA, 0x04)
    outb(cpu, SLAVE_DATA, 0x02)
    outb(cpu, MASTER_DATA, icw4)
    outb(cpu, SLAVE_DATA, icw4)
    outb(cpu, MASTER_DATA, 0x00)
    outb(cpu, SLAVE_DATA, 0x00)


@pytest.fixture
def cpu():
    c = Cpu(memory_size=1 << 20, model="386")
    init_pics(c)
    return c


def pulse(cpu, irq):
    cpu.set_irq(irq, 1)
    cpu.set_irq(irq, 0)


def irr(cpu, cmd=MASTER_CMD):
    outb(cpu, cmd, OCW3_READ_IRR)
    return inb(cpu, cmd)


def isr(cpu, cmd=MASTER_CMD):
    outb(cpu, cmd, OCW3_READ_ISR)
    return inb(cpu, cmd)


def eoi(cpu, cmd=MASTER_CMD):
    outb(cpu, cmd, OCW2_EOI)


def test_power_on_state_is_quiet():
    c = Cpu(memory_size=1 << 20, model="386")
    assert not c.interrupt_pending()
    pulse(c, 0)
    assert not c.interrupt_pending()      # masked until the BIOS programs it


def test_init_sequence_clears_imr_and_sets_vector_bases():
    c = Cpu(memory_size=1 << 20, model="386")
    outb(c, MASTER_DATA, 0xFF)
    outb(c, MASTER_CMD, 0x11)             # ICW1 clears the IMR ...
    outb(c, MASTER_DATA, 0x08)            # ... ICW2-4 go to the data port
    outb(c, MASTER_DATA, 0x04)
    outb(c, MASTER_DATA, 0x01)
    assert inb(c, MASTER_DATA) == 0x00
    outb(c, MASTER_DATA, 0xB8)            # OCW1 now
    assert inb(c, MASTER_DATA) == 0xB8
    assert irr(c) == 0 and isr(c) == 0


def test_every_irq_gives_base_plus_line(cpu):
    for irq in [0, 1] + list(range(3, 16)):
        pulse(cpu, irq)
        assert cpu.interrupt_pending()
        vector = cpu.acknowledge_interrupt()
        if irq < 8:
            assert vector == 0x08 + irq
            assert isr(cpu) == 1 << irq
            eoi(cpu)
        else:
            assert vector == 0x70 + irq - 8
            assert isr(cpu, SLAVE_CMD) == 1 << (irq - 8)
            assert isr(cpu) == 0x04           # master IR2 (cascade) in service
            eoi(cpu, SLAVE_CMD)
            eoi(cpu)
        assert not cpu.interrupt_pending()
        assert isr(cpu) == 0 and isr(cpu, SLAVE_CMD) == 0


def test_irq2_is_rerouted_to_irq9(cpu):
    pulse(cpu, 2)
    assert cpu.acknowledge_interrupt() == 0x71


def test_fixed_priority_and_nesting(cpu):
    for irq in (5, 3, 6):
        pulse(cpu, irq)
    assert irr(cpu) == 0x68
    assert cpu.acknowledge_interrupt() == 0x0B      # IR3 first
    assert not cpu.interrupt_pending()              # 5 and 6 wait for IR3's EOI
    pulse(cpu, 1)                                   # higher priority nests
    assert cpu.interrupt_pending()
    assert cpu.acknowledge_interrupt() == 0x09
    assert isr(cpu) == 0x0A
    eoi(cpu)                                        # clears IR1 (highest)
    assert isr(cpu) == 0x08
    assert not cpu.interrupt_pending()
    eoi(cpu)
    assert cpu.acknowledge_interrupt() == 0x0D
    eoi(cpu)
    assert cpu.acknowledge_interrupt() == 0x0E
    eoi(cpu)
    assert not cpu.interrupt_pending()


def test_mask_holds_request_in_irr(cpu):
    outb(cpu, MASTER_DATA, 0x10)
    pulse(cpu, 4)
    assert not cpu.interrupt_pending()
    assert irr(cpu) == 0x10
    outb(cpu, MASTER_DATA, 0x00)
    assert cpu.interrupt_pending()
    assert cpu.acknowledge_interrupt() == 0x0C
    assert irr(cpu) == 0


def test_slave_mask_and_cascade_mask(cpu):
    outb(cpu, MASTER_DATA, 0x04)              # mask the cascade input
    pulse(cpu, 12)
    assert not cpu.interrupt_pending()
    outb(cpu, MASTER_DATA, 0x00)
    assert cpu.acknowledge_interrupt() == 0x74
    eoi(cpu, SLAVE_CMD)
    eoi(cpu)
    outb(cpu, SLAVE_DATA, 0x10)               # mask IRQ12 on the slave
    pulse(cpu, 12)
    assert not cpu.interrupt_pending()
    assert irr(cpu, SLAVE_CMD) == 0x10


def test_specific_eoi(cpu):
    pulse(cpu, 6)
    assert cpu.acknowledge_interrupt() == 0x0E
    pulse(cpu, 2 + 1)
    assert cpu.acknowledge_interrupt() == 0x0B
    assert isr(cpu) == 0x48
    outb(cpu, MASTER_CMD, OCW2_SPECIFIC_EOI | 6)   # the lower one, not IR3
    assert isr(cpu) == 0x08
    outb(cpu, MASTER_CMD, OCW2_SPECIFIC_EOI | 3)
    assert isr(cpu) == 0


def test_non_specific_eoi_clears_highest_in_service(cpu):
    pulse(cpu, 7)
    cpu.acknowledge_interrupt()
    pulse(cpu, 4)
    cpu.acknowledge_interrupt()
    pulse(cpu, 0)
    cpu.acknowledge_interrupt()
    assert isr(cpu) == 0x91
    eoi(cpu)
    assert isr(cpu) == 0x90
    eoi(cpu)
    assert isr(cpu) == 0x80
    eoi(cpu)
    assert isr(cpu) == 0


def test_auto_eoi():
    c = Cpu(memory_size=1 << 20, model="386")
    init_pics(c, icw4=0x03)                  # 8086 mode + AEOI
    pulse(c, 1)
    pulse(c, 5)
    assert c.acknowledge_interrupt() == 0x09
    assert isr(c) == 0                       # no EOI needed ...
    assert c.interrupt_pending()             # ... so IR5 is not blocked
    assert c.acknowledge_interrupt() == 0x0D
    assert isr(c) == 0


def test_rotate_on_non_specific_eoi(cpu):
    pulse(cpu, 0)
    assert cpu.acknowledge_interrupt() == 0x08
    outb(cpu, MASTER_CMD, OCW2_ROTATE_EOI)   # IR0 becomes the lowest priority
    assert isr(cpu) == 0
    pulse(cpu, 0)
    pulse(cpu, 7)
    assert cpu.acknowledge_interrupt() == 0x0F   # IR7 now outranks IR0
    outb(cpu, MASTER_CMD, OCW2_ROTATE_EOI)       # and now IR7 is the lowest
    assert cpu.acknowledge_interrupt() == 0x08
    eoi(cpu)


def test_set_priority_command(cpu):
    outb(cpu, MASTER_CMD, OCW2_SET_PRIORITY | 3)  # IR3 lowest, IR4 highest
    pulse(cpu, 1)
    pulse(cpu, 5)
    pulse(cpu, 4)
    assert cpu.acknowledge_interrupt() == 0x0C
    eoi(cpu)
    assert cpu.acknowledge_interrupt() == 0x0D
    eoi(cpu)
    assert cpu.acknowledge_interrupt() == 0x09
    eoi(cpu)


def test_rotate_in_auto_eoi_mode():
    c = Cpu(memory_size=1 << 20, model="386")
    init_pics(c, icw4=0x03)
    outb(c, MASTER_CMD, OCW2_ROTATE_AEOI_SET)
    pulse(c, 3)
    assert c.acknowledge_interrupt() == 0x0B  # IR3 becomes the lowest
    pulse(c, 3)
    pulse(c, 6)
    assert c.acknowledge_interrupt() == 0x0E
    assert c.acknowledge_interrupt() == 0x0B
    outb(c, MASTER_CMD, OCW2_ROTATE_AEOI_CLEAR)
    outb(c, MASTER_CMD, OCW2_SET_PRIORITY | 7)   # back to IR0 highest
    pulse(c, 6)
    assert c.acknowledge_interrupt() == 0x0E
    pulse(c, 3)
    pulse(c, 6)
    assert c.acknowledge_interrupt() == 0x0B     # no rotation any more


def test_poll_mode(cpu):
    pulse(cpu, 4)
    outb(cpu, MASTER_CMD, OCW3_POLL)
    assert inb(cpu, MASTER_CMD) == 0x84      # W7 = request, W2-W0 = level
    assert isr(cpu) == 0x10                  # the poll acknowledged it
    assert irr(cpu) == 0
    eoi(cpu)
    outb(cpu, MASTER_CMD, OCW3_POLL)
    assert inb(cpu, MASTER_CMD) == 0x00      # nothing requested
    # The poll is one-shot: the next read returns the selected register.
    pulse(cpu, 5)
    outb(cpu, MASTER_CMD, OCW3_READ_IRR)
    outb(cpu, MASTER_CMD, OCW3_POLL)
    assert inb(cpu, MASTER_CMD) == 0x85
    pulse(cpu, 6)
    assert inb(cpu, MASTER_CMD) == 0x40      # IRR again
    eoi(cpu)


def test_poll_mode_through_the_cascade(cpu):
    pulse(cpu, 11)
    outb(cpu, MASTER_CMD, OCW3_POLL)
    assert inb(cpu, MASTER_CMD) == 0x82      # the slave's level on the master
    outb(cpu, SLAVE_CMD, OCW3_POLL)
    assert inb(cpu, SLAVE_CMD) == 0x83       # IRQ11 = slave IR3
    assert isr(cpu, SLAVE_CMD) == 0x08
    assert isr(cpu) == 0x04
    eoi(cpu, SLAVE_CMD)
    eoi(cpu)
    assert not cpu.interrupt_pending()       # no stale cascade request
    pulse(cpu, 11)                           # two slave requests, polled
    pulse(cpu, 14)
    outb(cpu, MASTER_CMD, OCW3_POLL)
    assert inb(cpu, MASTER_CMD) == 0x82
    outb(cpu, SLAVE_CMD, OCW3_POLL)
    assert inb(cpu, SLAVE_CMD) == 0x83
    eoi(cpu, SLAVE_CMD)
    eoi(cpu)
    assert cpu.acknowledge_interrupt() == 0x76   # the second is not lost


def test_ocw3_register_select_persists(cpu):
    pulse(cpu, 3)
    pulse(cpu, 5)
    cpu.acknowledge_interrupt()
    outb(cpu, MASTER_CMD, OCW3_READ_ISR)
    assert inb(cpu, MASTER_CMD) == 0x08
    assert inb(cpu, MASTER_CMD) == 0x08      # selection stays
    outb(cpu, MASTER_CMD, 0x08)              # OCW3 with RR = 0: no change
    assert inb(cpu, MASTER_CMD) == 0x08
    outb(cpu, MASTER_CMD, OCW3_READ_IRR)
    assert inb(cpu, MASTER_CMD) == 0x20


def test_elcr_read_back_and_reserved_bits(cpu):
    outb(cpu, ELCR_MASTER, 0xFF)
    outb(cpu, ELCR_SLAVE, 0xFF)
    assert inb(cpu, ELCR_MASTER) == 0xF8     # IRQ 0, 1, 2 are always edge
    assert inb(cpu, ELCR_SLAVE) == 0xDE      # IRQ 8 and 13 too
    outb(cpu, ELCR_MASTER, 0x20)
    outb(cpu, ELCR_SLAVE, 0x08)
    assert inb(cpu, ELCR_MASTER) == 0x20
    assert inb(cpu, ELCR_SLAVE) == 0x08


def test_level_triggered_irq_stays_while_line_high(cpu):
    outb(cpu, ELCR_MASTER, 0x20)             # IRQ5 level-triggered
    cpu.set_irq(5, 1)
    assert cpu.acknowledge_interrupt() == 0x0D
    assert not cpu.interrupt_pending()       # in service
    eoi(cpu)
    assert cpu.interrupt_pending()           # line still high: again
    assert cpu.acknowledge_interrupt() == 0x0D
    cpu.set_irq(5, 0)                        # the device is serviced
    eoi(cpu)
    assert not cpu.interrupt_pending()
    assert irr(cpu) == 0


def test_edge_triggered_irq_needs_a_new_edge(cpu):
    cpu.set_irq(3, 1)
    assert cpu.acknowledge_interrupt() == 0x0B
    eoi(cpu)
    assert not cpu.interrupt_pending()       # line still high, no new edge
    cpu.set_irq(3, 1)
    assert not cpu.interrupt_pending()
    cpu.set_irq(3, 0)
    cpu.set_irq(3, 1)
    assert cpu.acknowledge_interrupt() == 0x0B
    eoi(cpu)


def test_slave_level_irq(cpu):
    outb(cpu, ELCR_SLAVE, 0x08)              # IRQ11 level
    cpu.set_irq(11, 1)
    assert cpu.acknowledge_interrupt() == 0x73
    eoi(cpu, SLAVE_CMD)
    eoi(cpu)
    assert cpu.acknowledge_interrupt() == 0x73
    cpu.set_irq(11, 0)
    eoi(cpu, SLAVE_CMD)
    eoi(cpu)
    assert not cpu.interrupt_pending()


def test_spurious_irq7_when_level_request_goes_away(cpu):
    outb(cpu, ELCR_MASTER, 0x20)
    cpu.set_irq(5, 1)
    assert cpu.interrupt_pending()
    cpu.set_irq(5, 0)                        # withdrawn before INTA
    assert cpu.acknowledge_interrupt() == 0x0F
    assert isr(cpu) == 0                     # a spurious IR7 sets no ISR bit


def test_spurious_irq7_when_masked_before_inta(cpu):
    pulse(cpu, 3)
    outb(cpu, MASTER_DATA, 0x08)
    assert cpu.acknowledge_interrupt() == 0x0F
    assert isr(cpu) == 0
    outb(cpu, MASTER_DATA, 0x00)             # the latched edge is still there
    assert cpu.acknowledge_interrupt() == 0x0B


def test_spurious_irq15_sets_master_isr2(cpu):
    outb(cpu, ELCR_SLAVE, 0x04)              # IRQ10 level
    cpu.set_irq(10, 1)
    assert cpu.interrupt_pending()
    cpu.set_irq(10, 0)                       # gone before INTA
    assert cpu.acknowledge_interrupt() == 0x77
    assert isr(cpu, SLAVE_CMD) == 0          # nothing in service on the slave
    assert isr(cpu) == 0x04                  # but the master acknowledged IR2
    eoi(cpu)                                 # so the handler EOIs the master
    assert isr(cpu) == 0
    assert not cpu.interrupt_pending()


def test_real_irq7_still_works(cpu):
    pulse(cpu, 7)
    assert cpu.acknowledge_interrupt() == 0x0F
    assert isr(cpu) == 0x80                  # a real IR7 is in service
    eoi(cpu)


def test_fully_nested_slave_blocks_slave_until_master_eoi(cpu):
    pulse(cpu, 12)
    assert cpu.acknowledge_interrupt() == 0x74
    pulse(cpu, 9)                            # higher than 12 on the slave ...
    assert not cpu.interrupt_pending()       # ... but master IR2 is in service
    eoi(cpu, SLAVE_CMD)
    eoi(cpu)
    assert cpu.acknowledge_interrupt() == 0x71


def test_second_slave_request_is_not_lost(cpu):
    pulse(cpu, 9)
    pulse(cpu, 12)
    assert cpu.acknowledge_interrupt() == 0x71
    eoi(cpu, SLAVE_CMD)
    eoi(cpu)
    assert cpu.acknowledge_interrupt() == 0x74
    eoi(cpu, SLAVE_CMD)
    eoi(cpu)
    assert not cpu.interrupt_pending()


def test_special_fully_nested_mode():
    c = Cpu(memory_size=1 << 20, model="386")
    init_pics(c)
    outb(c, MASTER_CMD, 0x11)                # master again, with SFNM
    outb(c, MASTER_DATA, 0x08)
    outb(c, MASTER_DATA, 0x04)
    outb(c, MASTER_DATA, 0x11)
    pulse(c, 12)
    assert c.acknowledge_interrupt() == 0x74
    pulse(c, 9)                              # higher slave level nests
    assert c.acknowledge_interrupt() == 0x71
    pulse(c, 5)                              # a lower master level does not
    assert not c.interrupt_pending()


def test_special_mask_mode(cpu):
    pulse(cpu, 3)
    assert cpu.acknowledge_interrupt() == 0x0B
    pulse(cpu, 5)
    assert not cpu.interrupt_pending()       # lower than the one in service
    outb(cpu, MASTER_DATA, 0x08)             # mask IR3 ...
    outb(cpu, MASTER_CMD, 0x68)              # ... and set special mask mode
    assert cpu.interrupt_pending()
    assert cpu.acknowledge_interrupt() == 0x0D
    outb(cpu, MASTER_CMD, OCW2_SPECIFIC_EOI | 5)
    outb(cpu, MASTER_CMD, 0x48)              # reset special mask mode
    outb(cpu, MASTER_DATA, 0x00)
    pulse(cpu, 6)
    assert not cpu.interrupt_pending()       # IR3 still in service blocks
    outb(cpu, MASTER_CMD, OCW2_SPECIFIC_EOI | 3)
    assert cpu.acknowledge_interrupt() == 0x0E


def test_reinitialisation_resets_edge_sense(cpu):
    cpu.set_irq(4, 1)                        # line held high
    init_pics(cpu)
    assert not cpu.interrupt_pending()       # needs a fresh rising edge
    cpu.set_irq(4, 0)
    cpu.set_irq(4, 1)
    assert cpu.acknowledge_interrupt() == 0x0C
