"""One-shot agents: each trains a supernet's shared weights and its own architecture parameters
together through the env's white-box backend, and queries what it evaluates through ``env.step``."""

# Importing a module registers its agents; one line per module, alphabetical.
from . import darts  # noqa: F401
from . import gdas  # noqa: F401
from . import rsps  # noqa: F401
