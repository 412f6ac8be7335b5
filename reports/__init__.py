"""Documents made from the cluster's record: the Excel workbooks (reports.workbook) and Word files.

Neither persistence (storage/) nor the product's commands (commands/): these modules take rows that
storage/ has read and write a file. They never touch the database or the platform.
"""

import importlib
from typing import Any


class lazily:  # noqa: N801 (used like a module: `workbook = lazily("reports.workbook")`)
    """The module `name`, imported at its first use rather than now: the document writers bring openpyxl
    and python-docx (with numpy), a fifth of a second a server need not spend before it can answer.
    Python's import lock makes a first use from two threads at once import it once."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self._name), attribute)
        setattr(self, attribute, value)  # found directly from now on: per-row uses stay cheap
        return value
