"""``python -m proofs_check.cli``: the same as ``proofs-check``."""

import sys

from proofs_check.cli import main

sys.exit(main())
