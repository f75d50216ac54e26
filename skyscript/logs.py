"""One log record, one line: the formatter every ``skyscript`` process logs through.

Messages name episodes by id; where a file name, URL or error text still reaches a message, a
newline or carriage return in it (``ep\\n01.mp4`` is a valid file name) would start a line that
reads like a record of its own. The formatter escapes such characters (:func:`skyscript.ids.one_line`)
in the message and its fields, so a line always begins with a record's own timestamp.
"""

from __future__ import annotations

import logging
import sys

from skyscript.ids import one_line

LOG_FORMAT = "%(asctime)s %(levelname)-7s [%(drama)s/%(episode)s/%(step)s] %(message)s"
WORKER_LOG_FORMAT = "%(asctime)s %(levelname)-7s %(processName)s [%(drama)s/%(episode)s/%(step)s] %(message)s"


class Defaults(logging.Filter):
    """Give every record the drama/episode/step fields the format names."""

    def filter(self, record: logging.LogRecord) -> bool:
        for k in ("drama", "episode", "step"):
            if not hasattr(record, k):
                setattr(record, k, "-")
        return True


class OneLineFormatter(logging.Formatter):
    """A :class:`logging.Formatter` whose record part (everything but an attached traceback) is
    one line, whatever the message's arguments hold."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return one_line(super().formatMessage(record))


def stderr_handler(fmt: str = LOG_FORMAT, datefmt: str | None = "%H:%M:%S") -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(Defaults())
    handler.setFormatter(OneLineFormatter(fmt, datefmt))
    return handler
