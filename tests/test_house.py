"""The house's own rules: what the registry declares is what the product emits, the Reply vocabulary
stands alone, help follows the declared order, and the product names no platform."""

import ast
import subprocess
import sys
from pathlib import Path

import commands.product  # noqa: F401  (registers every family)
from commands import families
from commands.registry import BUTTONS, FAMILIES, FORMS, Family

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = sorted((ROOT / "commands").rglob("*.py"))


def _literal_names(call: str, position: int) -> set[str]:
    """The string literals given as argument `position` of every `call(...)` in commands/."""
    found = set()
    for path in PRODUCT:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == call \
                    and len(node.args) > position and isinstance(node.args[position], ast.Constant):
                found.add(node.args[position].value)
    return found


def test_every_button_the_product_makes_is_registered():
    made = _literal_names("Button", 1)
    assert len(made) >= 10  # the scan found the product's buttons
    assert made - set(BUTTONS) == set()


def test_every_form_the_product_opens_is_registered():
    opened = _literal_names("Form", 0)
    assert len(opened) >= 8
    assert opened - set(FORMS) == set()


def test_importing_the_reply_vocabulary_imports_no_family_nor_their_libraries():
    probe = ("import sys, commands.results, commands.errors, commands; "
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'openpyxl', 'docx') "
             "or m in ('commands.product', 'commands.polls.core', 'commands.measures.core')); print(heavy)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_thin_face_hands_on_the_products_names():
    import commands
    from commands.context import Caller
    from commands.product import Clusterbot

    assert commands.Clusterbot is Clusterbot and commands.Caller is Caller
    assert set(commands.__all__) == {"Caller", "Clusterbot", "UNAVAILABLE"}


def test_help_follows_the_declared_order():
    """The families, in the order commands/families.py lists the modules that hold them, are the order of
    help and manifests (no longer the order in which imports happened to run)."""
    expected = []
    for module in families.MODULES:
        for value in vars(module).values():
            if isinstance(value, Family) and value.command not in expected:
                expected.append(value.command)
    assert expected == list(FAMILIES)
    assert list(FAMILIES)[:4] == ["/cluster", "/topic", "/poll", "/action"]


def test_no_module_of_the_product_imports_a_platform():
    imports = []
    for path in PRODUCT:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n.split(".")[0] in ("bot", "slack_bolt", "slack_sdk", "microsoft_teams") for n in names):
                    imports.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert len(PRODUCT) > 20 and imports == []


def test_the_command_listing_names_each_commands_own_module():
    from commands.registry import listing

    text = listing()
    assert "/measure record" in text and "commands.measures.data" in text
    assert "/meeting record" in text and "commands.meetings.record" in text
    assert "commands.registry" not in text  # wrapped handlers are listed under their family's module
    assert all(name in text for name in BUTTONS) and all(name in text for name in FORMS)


def _imports(folder: Path) -> dict[str, list[str]]:
    """Every module imported by each file under `folder` (relative path -> module names)."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        names = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names += [a.name for a in node.names]
        found[str(path.relative_to(ROOT))] = names
    return found


# Infrastructure every layer may name: the session factory and its errors, the one clock.
SHARED_STORAGE = {"storage.db", "storage.clock"}
# The Teams platform keeps what only Teams needs (conversation references, names seen) in its own
# tables, read and written by the platform itself: no product rule reads them.
TEAMS_OWN = {"bot/teams/platform.py": {"storage", "storage.conversations", "storage.names", "storage.models",
                                        "storage.models.PERSON_NAME_MAX"},
             # Likewise Slack's installations ("Add to Slack": tokens per workspace) and OAuth states.
             "bot/slack/oauth.py": {"storage", "storage.slack_installs", "storage.models",
                                    "storage.models.SlackInstallation"}}


def test_adapters_reach_storage_only_through_the_product():
    """Delivery reaches the outbox through the product's port (commands/outbox_port.py), never through
    storage itself; no adapter touches the product's tables."""
    crossings = []
    for path, names in _imports(ROOT / "bot").items():
        for name in names:
            if name.split(".")[0] == "storage" and name not in SHARED_STORAGE | TEAMS_OWN.get(path, set()) \
                    and not any(name.startswith(f"{s}.") for s in SHARED_STORAGE):
                crossings.append(f"{path}: {name}")
    assert len(_imports(ROOT / "bot")) > 20 and crossings == []


def test_delivery_names_no_platform_and_its_child_takes_a_factory():
    """The delivery package sees only the platform seam; the child process makes whatever platform its
    factory makes (Slack's servers pass bot.slack.platform.for_delivery)."""
    import inspect

    from bot.delivery.process import DeliveryProcess

    for path, names in _imports(ROOT / "bot" / "delivery").items():
        assert not [n for n in names if n.startswith(("bot.slack", "bot.teams", "slack_", "microsoft_teams"))], path
    assert "factory" in inspect.signature(DeliveryProcess).parameters
    tree = ast.parse((ROOT / "bot" / "delivery" / "process.py").read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree) if isinstance(
        node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body and isinstance(node.body[0], ast.Expr)}
    words = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and id(n) not in docstrings]
    assert words and not [w for w in words if "slack" in w.lower() or "teams" in w.lower()]


def test_every_setting_read_is_in_the_readme_table_and_env_example():
    """Keep the README true: a setting the code reads (`get("NAME")` in bot/config.py) is a row of the
    README's settings table and a line of .env.example."""
    import re

    read = set(re.findall(r'get\("([A-Z_]+)"\)', (ROOT / "bot" / "config.py").read_text()))
    first_cells = re.findall(r"^\| (`[A-Z_]+`(?:, `[A-Z_]+`)*) \|", (ROOT / "README.md").read_text(), re.MULTILINE)
    rows = {name for cell in first_cells for name in re.findall(r"`([A-Z_]+)`", cell)}
    example = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert {"TEAMS_PUBLISHER_NAME", "DATABASE_URL", "SLACK_BOT_TOKEN"} <= read
    assert read - rows == set() and read - example == set()


def test_starting_a_server_imports_no_document_or_chart_library():
    """openpyxl, python-docx and matplotlib (with numpy) are imported at the first export or chart: a
    server answers, and is healthy, without waiting for them (start-up under a second)."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, bot.__main__, bot.slack, bot.server, bot.teams, storage.db, commands; "
         "commands.Clusterbot; "
         "print(sorted(m for m in ('openpyxl', 'docx', 'matplotlib', 'numpy') if m in sys.modules))"],
        capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    assert loaded == "[]"
