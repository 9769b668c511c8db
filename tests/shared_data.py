"""The test data that is not in the repository: ``../shared`` beside the
checkout (README, "Test data"), or the directory ``HVMM_SHARED`` names.

Tests that need a file from it skip without it, and say which file, where
it was looked for and what it is:

    from shared_data import FREEDOS, needs_freedos
    @needs_freedos
    def test_boot(): ...
"""

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("HVMM_SHARED")
              or Path(__file__).resolve().parents[1].parent / "shared")

FREEDOS = SHARED / "images" / "freedos.img"
SST8086 = SHARED / "conformance" / "sst8086"


def needs(path: Path, what: str):
    """Skip unless ``path`` exists: ``what`` it is goes in the reason."""
    return pytest.mark.skipif(
        not path.exists(),
        reason=f"needs {what}: {path} not found (the ../shared test data, "
               "see README 'Test data'; HVMM_SHARED=DIR looks elsewhere)")


needs_freedos = needs(FREEDOS, "the FreeDOS 1.44 MB boot floppy")
needs_sst8086 = needs(SST8086 / "metadata.json", "the SingleStepTests 8086 CPU tests")
