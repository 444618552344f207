"""One-shot agents: each trains a supernet's shared weights and its own architecture parameters
together through the env's white-box backend, and queries what it evaluates through ``env.step``."""

# Importing a module registers its agents; one line per module, alphabetical.
from . import (
    advantagenas,  # noqa: F401
    darts,  # noqa: F401
    enas,  # noqa: F401
    gdas,  # noqa: F401
    lnas,  # noqa: F401
    parsec,  # noqa: F401
    proxyless,  # noqa: F401
    rsps,  # noqa: F401
    snas,  # noqa: F401
)
