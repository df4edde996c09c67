"""Who is at the command line: the engineer's system user, as the audit log names them.

Everything an `ivr` command changes on the desk is written to the audit log like a
supervisor's change on the page, under the login `cli:<user>`: the user who ran `sudo`
(SUDO_USER) when there is one, else the login name of the process (getpass). A user that
cannot be known is written as `cli:unknown`, never left out.
"""

from __future__ import annotations

import getpass
import os
import re

from ivr.operators.audit import Actor

PREFIX = "cli:"
UNKNOWN = "unknown"
# What a system user's name may hold on the page and in the log; anything else is dropped.
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9._@-]")


def engineer() -> Actor:
    """The engineer running this command, for the audit log."""
    name = _NOT_A_NAME.sub("", os.environ.get("SUDO_USER") or _system_user())
    return Actor(PREFIX + (name[:60] or UNKNOWN))


def _system_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no USER/LOGNAME and no passwd entry
        return ""
