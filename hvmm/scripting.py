"""Scripting a machine from Python: run until something is on the screen,
read the screen, type on the keyboard, take a screenshot.  Every
:class:`hvmm.machine.Machine` (and so every PC) has these methods.

    pc.wait_for_text("A:\\\\>")
    pc.type("ver\\r")
    print(pc.screen_text())
"""

from __future__ import annotations

from hvmm.display import read_screen
from hvmm.keyboard import KEY_INTERVAL_NS, key_bytes


class Scripting:
    """The scripting methods (a mixin of Machine: it needs ``cpu``,
    ``clock``, ``run`` and ``realtime``)."""

    _keys: list[bytes]
    _key_timer = None

    def run_until(self, predicate, max_instructions: int = 2_000_000_000,
                  chunk: int = 20_000) -> bool:
        """Run until ``predicate()`` is true (checked every ``chunk``
        instructions): True; False if the guest stopped first (``self.stop``
        says why) or ``max_instructions`` ran out."""
        done = 0
        while not predicate():
            if done >= max_instructions:
                return False
            # (realtime: an idle guest retires almost nothing, bound the time too)
            stop = self.run(min(chunk, max_instructions - done),
                            max_ns=10_000_000 if self.realtime else None)
            done += stop.instructions
            if stop.reason != "limit":
                return bool(predicate())
        return True

    def wait_for_text(self, text: str, max_instructions: int = 2_000_000_000) -> bool:
        """Run until ``text`` is on the text screen."""
        return self.run_until(lambda: text in self.screen_text(), max_instructions)

    def screen_text(self) -> str:
        """The text screen as the adapter shows it (characters only, code
        page 437; see :mod:`hvmm.display`), one line per row, trailing
        blanks removed; empty in a graphics mode."""
        return "\n".join(line.rstrip() for line in read_screen(self.cpu).lines())

    def type(self, text: str) -> None:
        """Type ``text`` on the keyboard (US layout; ``\\r`` is Enter).  The
        keys go in one every KEY_INTERVAL_NS of virtual time while the
        machine runs."""
        self.press(*[key_bytes(ch) for ch in text])  # all or nothing

    def press(self, *keys: bytes) -> None:
        """Queue keys given as set 2 scancodes (each one key's make and
        break codes, modifiers included), delivered like typed ones."""
        self._keys.extend(bytes(k) for k in keys)
        if self._key_timer is None or not self._key_timer.active:
            self._key_timer = self.clock.call_every(KEY_INTERVAL_NS, self._next_key)

    def _next_key(self) -> None:
        if self._keys:
            self.cpu.keyboard_input(self._keys.pop(0))
        if not self._keys and self._key_timer is not None:
            self._key_timer.cancel()

    @property
    def typing(self) -> bool:
        """Keys typed but not yet delivered to the keyboard."""
        return bool(self._keys)

    def screenshot(self, path=None):
        """The emulated screen as a Pillow RGB image (640x400 for every
        25-row text and graphics mode; see hvmm.frontends.screenshot), also
        written to ``path`` as PNG when given (ConfigError, one line, if it
        cannot be)."""
        from hvmm.frontends import screenshot

        if path is None:
            return screenshot.render(self.cpu)
        return screenshot.save(self.cpu, path)
