"""What the Python side needs from a CPU core: :class:`CoreProtocol`.

``hvmm._core.Cpu`` implements it (docs/core-api.md describes every member);
so does the scripted stand-in the tests use.  :class:`hvmm.machine.Machine`
checks a core against it once, when it is given one, instead of probing for
members as it runs.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable


@runtime_checkable
class ExitProtocol(Protocol):
    """Why ``cpu.run()`` returned (``hvmm._core.Exit``)."""

    reason: str       # 'budget', 'io', 'timer', 'hlt', 'debug_exit', 'reset', errors
    cs: int
    eip: int
    linear: int
    detail: str
    # 'io' exits: the access; 'debug_exit': value is what the guest wrote
    port: Any
    size: Any
    direction: Any
    value: Any
    count: Any
    data: Any


@runtime_checkable
class CoreProtocol(Protocol):
    """The members of a core that the machine, its bus, clock, statistics and
    scripting helpers use."""

    model: str
    memory: Any                 # writable buffer of guest RAM
    instructions: int           # retired instructions
    time_ns: int                # virtual time
    ips: int                    # virtual instructions per second
    python_deadline: int        # the next Python timer (virtual ns)
    halted: bool
    eflags: int
    cs: int
    ds: int
    es: int
    ss: int
    ip: int
    sp: int
    io_timing: bool             # time in-kernel accesses (for statistics)
    post_code: int | None       # last byte written to port 0x80

    def run(self, budget: int) -> ExitProtocol: ...
    def complete_io(self, value: int | bytes) -> None: ...
    def claim_ports(self, first: int, last: int) -> None: ...
    def kernel_device_at(self, port: int) -> str | None: ...
    def map_mmio(self, base: int, size: int,
                 handler: Callable[[int, int, bool, int], int]) -> None: ...
    def set_irq(self, irq: int, level: int) -> None: ...
    def interrupt_pending(self) -> bool: ...
    def advance_time(self, ns: int) -> None: ...
    def debug_output(self) -> bytes: ...
    def kernel_stats(self) -> dict: ...
    def read_linear(self, address: int, length: int) -> bytes: ...
    def keyboard_input(self, data: bytes) -> None: ...
    def serial_drain(self) -> bytes: ...
    def serial_feed(self, data: bytes) -> int: ...


def missing_members(cpu) -> list[str]:
    """The :class:`CoreProtocol` members ``cpu`` lacks (empty if none)."""
    names = sorted(
        set(getattr(CoreProtocol, "__protocol_attrs__", ()))
        or {n for n in CoreProtocol.__annotations__}
        | {n for n, v in vars(CoreProtocol).items() if callable(v) and not n.startswith("_")}
    )
    return [n for n in names if not hasattr(cpu, n)]
