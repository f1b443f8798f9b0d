"""Entry point `verl.plugins: trainer_hooks`, imported by `import verl` in every process: with a stop
file set by the launcher, the trainer that saves and stops on request (graceful_stop.py)."""

import os

from .graceful_stop import STOP_FILE_ENV

if os.environ.get(STOP_FILE_ENV):
    from . import graceful_stop

    graceful_stop.install()
