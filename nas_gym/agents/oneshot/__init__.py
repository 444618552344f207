"""One-shot agents: each trains a supernet's shared weights and its own architecture parameters
together through the env's white-box backend, and queries what it evaluates through ``env.step``."""

# Importing a module registers its agents; one line per module, alphabetical.
from . import advantagenas  # noqa: F401
from . import darts  # noqa: F401
from . import enas  # noqa: F401
from . import gdas  # noqa: F401
from . import lnas  # noqa: F401
from . import parsec  # noqa: F401
from . import proxyless  # noqa: F401
from . import rsps  # noqa: F401
from . import snas  # noqa: F401
