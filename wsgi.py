"""The WSGI entry point for gunicorn: `gunicorn -c gunicorn.conf.py wsgi:app`."""

import sys

from ivr import create_app
from ivr.settings import StartupError

try:
    app = create_app()
except StartupError as error:
    # One clear line and a non-zero exit, not a traceback, for a bad setting or menu file.
    print(f"ivr: {error}", file=sys.stderr)
    sys.exit(1)
