"""One clock: the product's. Nothing in the product reads the machine's clock but storage/clock.py."""

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from storage.models import HandledEvent, Topic

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("analysis", "bot", "commands", "reports", "storage")
THE_CLOCK = ROOT / "storage" / "clock.py"
# (receiver, method) pairs that read the machine's clock
WALL_READS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time"), ("time", "time_ns"), ("types", "utcnow")}


def _wall_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = func.value.attr if isinstance(func.value, ast.Attribute) else getattr(func.value, "id", "")
            if (receiver, func.attr) in WALL_READS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {receiver}.{func.attr}()")
        elif isinstance(func, ast.Name) and func.id == "utcnow":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} utcnow()")
    return found


def test_only_the_clock_module_reads_the_machines_clock():
    files = [f for folder in PRODUCT for f in (ROOT / folder).rglob("*.py") if f != THE_CLOCK]
    assert len(files) > 50  # the scan found the product
    offenders = [hit for f in files for hit in _wall_reads(f)]
    assert offenders == [], "read the time from the product's clock (ctx.now(), storage.clock.now(session)): " \
                            + ", ".join(offenders)


def test_the_scan_finds_a_wall_clock_read(tmp_path):
    sample = ROOT / "storage" / "_scan_sample.py"
    try:
        sample.write_text("import time\nfrom datetime import UTC, datetime\n"
                          "a = datetime.now(UTC)\nb = time.time()\nc = datetime.datetime.utcnow()\n")
        assert [hit.split()[1] for hit in _wall_reads(sample)] == ["datetime.now()", "time.time()",
                                                                   "datetime.utcnow()"]
    finally:
        sample.unlink()


def test_the_suite_runs_with_the_machines_clock_far_from_the_tests_clock(clock):
    machine = datetime.now(UTC)
    assert abs(machine - clock()) > timedelta(days=365 * 3)


def test_rows_are_stamped_with_the_products_clock(riverside, clock, db):
    clock.advance(days=40)
    riverside.say("/topic propose Fewer missed smears")
    riverside.say("/topic move T1 active")
    with db.session(read_only=True) as session:
        topic = session.exec(select(Topic)).one()
    assert topic.created_at == clock() and topic.updated_at == clock()


def test_a_handled_event_ages_with_the_products_clock(product, clock, db):
    assert product.first_delivery("Ev1") and not product.first_delivery("Ev1")
    with db.session(read_only=True) as session:
        assert session.exec(select(HandledEvent.at)).one() == clock()
