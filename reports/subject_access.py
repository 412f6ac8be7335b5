"""A person's subject access workbook (UK GDPR Art. 15): everything held about them, one sheet per kind
of data (a table), every column as stored, and a first sheet saying what the others are and what each
column is for (from the data map). Times are written in UTC, as stored."""

import json
from datetime import UTC, date, datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font

from reports.workbook import FORMULA_STARTS
from storage.data_map import PERSONAL
from storage.erasure import Held

BOLD = Font(bold=True)
SHEET_NAME_MAX = 31  # Excel's limit


def write(user_id: str, held: list[Held], made_at: datetime) -> bytes:
    book = Workbook()
    about = book.active
    about.title = "About"
    about.append(["Everything clusterbot holds about this person"])
    about["A1"].font = BOLD
    about.append(["Person (platform user id)", _text(user_id)])
    about.append(["Made (UTC)", _value(made_at)])
    about.append([])
    about.append(["Sheet", "Rows", "What the columns naming the person hold, and why"])
    for kind in held:
        about.append([kind.table, len(kind.rows), _purposes(kind.table)])
    if not held:
        about.append(["Nothing is held about this person."])
    for kind in held:
        sheet = book.create_sheet(kind.table[:SHEET_NAME_MAX])
        sheet.append(kind.columns)
        for cell in sheet[1]:
            cell.font = BOLD
        for row in kind.rows:
            sheet.append([_value(v) for v in row])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _purposes(table: str) -> str:
    return "; ".join(f"{column}: {p.holds} ({p.purpose})" for (t, column), p in PERSONAL.items() if t == table) \
        or "mentions of the person in the cluster's free text"


def _value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, date | int | float | bool) or value is None:
        return value
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    return _text(str(value))


def _text(value: str) -> str:
    """Never a formula: what people typed is shown, not run."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
