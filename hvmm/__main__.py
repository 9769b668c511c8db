"""``python -m hvmm``: the same as the ``hvmm`` command."""

from hvmm.cli import main

raise SystemExit(main())
