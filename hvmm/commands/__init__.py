"""The ``hvmm`` subcommands, one module each (``exec``: :mod:`.execute`,
``boot``: :mod:`.boot`, ``run``: :mod:`.demo`), with what they share in
:mod:`.common`.  The parser and the error boundary are :mod:`hvmm.cli`'s;
every command runs its machine under :class:`hvmm.runner.Runner`."""
