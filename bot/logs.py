"""What the process writes to its log: one line per record, no request bodies, no user text.

Our own code logs ids, lengths and command names only. Two things could still carry user text or
forged lines into the log, and this module closes both:
- libraries: Bolt's request verification logs a refused request's whole body at INFO, and its
  "unhandled request" warnings quote the body. Records from loggers other than ours (and a few known
  quiet ones) keep their level and logger name, but their message is withheld (replaced by its length);
- exceptions: a message such as "invalid literal for int(): '0101011237'" or a database error quoting
  the row may hold what someone typed. A traceback is written as the exception's type and the frames
  it passed through (file, line, function), never its message.
Every line is then made single-line: a newline inside a record is written as the two characters \\n,
so a body or name holding a newline cannot forge a second, convincing log line.
"""

import logging
import sys
import traceback
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers whose messages we know: ours, and servers/tools that log no payloads. Any other logger's
# message (Bolt's, slack_sdk's, SQLAlchemy's echo …) may quote a request, a response or a row: withheld.
TRUSTED_LOGGERS = ("bot", "commands", "storage", "reports", "waitress", "alembic", "apscheduler")
QUIET_LOGGERS = ("alembic", "apscheduler", "httpx")  # one line per migration step, tick or call is noise


def one_line(text: str) -> str:
    """`text` with line breaks (and other vertical separators) written as visible escapes."""
    return (text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x0b", "\\v").replace("\x0c", "\\f")
            .replace("\x85", "\\x85"))


def describe_exception(exc: BaseException) -> str:
    """The exception's type and where it went, innermost last, without its message."""
    parts = []
    while exc is not None:
        frames = traceback.extract_tb(exc.__traceback__)
        where = " < ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                           for frame in reversed(frames[-6:]))
        parts.append(f"{type(exc).__module__}.{type(exc).__qualname__}" + (f" at {where}" if where else ""))
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "; caused by ".join(parts)


class SafeFormatter(logging.Formatter):
    """One line per record; library messages withheld; exceptions by type and place only."""

    def __init__(self, fmt: str = FORMAT):
        super().__init__(fmt)

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)  # other handlers still see the original
        if not (record.name in TRUSTED_LOGGERS or record.name.startswith(tuple(f"{n}." for n in TRUSTED_LOGGERS))):
            record.msg, record.args = f"(message withheld, {len(str(record.msg))} characters)", None
        failure = record.exc_info[1] if record.exc_info else None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        text = super().format(record)
        if failure is not None:
            text += f" [{describe_exception(failure)}]"
        return one_line(text)


def configure(stream: TextIO | None = None, level: int = logging.INFO) -> logging.Handler:
    """Send the process's log to `stream` (stderr) through the safe formatter; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(SafeFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
