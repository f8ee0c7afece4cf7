"""leadsync's foundation, the bottom layer every other package may import (and which
imports none of them):

- ``settings``: the one settings object, read from ``LEADSYNC_*`` and validated at start-up;
- ``errors``: the root exception, split into retriable and permanent (the tree is drawn
  there);
- ``retry``: the one way to wait and try again (backoff, jitter, give-up);
- ``body_limit``: the request body-size rule of every HTTP server;
- ``kafka``: topics, producer configuration and publishing, for every process.

The layers, top to bottom (``pyproject.toml``'s import-linter contract, run by ``make
check``): ``harness`` (tests and benchmarks); ``cli``; ``admin`` | ``sandbox``; ``ingest`` |
``streams``; ``sinks`` | ``linkedin``; ``mapping``; ``schemas``; ``leadsync``.
"""

__version__ = "0.1.0"
