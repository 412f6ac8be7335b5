"""Backup and restore of the whole database: `python -m bot backup --out FILE`, `python -m bot restore FILE`.

SQLite uses its online backup API (a consistent copy while the bot runs); PostgreSQL uses pg_dump's custom
format and pg_restore, found on PATH. The password goes to them in PGPASSWORD, never on a command line.
A restore refuses a database that holds data unless forced, refuses a backup made by newer code (its
Alembic revision unknown here), and brings an older backup up to date with the project's own migrate.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from storage.db import MIGRATIONS, Database, normalise_url

VERSION_TABLE = "alembic_version"


class BackupError(Exception):
    """An expected failure, said in one line for the operator (no traceback)."""


def known_revisions() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def backup(database_url: str, out: Path) -> None:
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() == "sqlite":
        _sqlite_backup(_sqlite_path(url), out)
    else:
        _pg_dump(url, out)


def restore(database_url: str, file: Path, *, force: bool = False) -> str:
    """Restore `file` into the database; returns the backup's Alembic revision."""
    if not file.is_file():
        raise BackupError(f"{file} is not a file")
    url = make_url(normalise_url(database_url))
    sqlite = url.get_backend_name() == "sqlite"
    revision = _sqlite_revision(file) if sqlite else _pg_revision(file)
    if revision not in known_revisions():
        raise BackupError(f"{file} was made by a newer clusterbot (schema {revision}, unknown to this version): "
                          "restore it with that version or a later one")
    db = Database(str(url.render_as_string(hide_password=False)))
    try:
        if not force and _holds_data(db):
            raise BackupError("the database already holds data: nothing was restored. "
                              "Add --force to replace everything in it with the backup")
        db.dispose()
        if sqlite:
            _sqlite_restore(file, _sqlite_path(url))
        else:
            _pg_restore(url, file, db)
        db.migrate()  # an older backup is brought up to date, as at every start
    finally:
        db.dispose()
    return revision


def _holds_data(db: Database) -> bool:
    """Any row in any of the product's tables (a handful of tables, one cheap query each)."""
    with db.engine.connect() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != VERSION_TABLE]
        preparer = connection.dialect.identifier_preparer
        return any(connection.execute(text(f"SELECT 1 FROM {preparer.quote(t)} LIMIT 1")).first()
                   for t in tables)


# SQLite


def _sqlite_path(url) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL is an in-memory SQLite database: there is nothing to back up or restore")
    return Path(url.database)


def _sqlite_backup(source: Path, out: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no database at {source}: check DATABASE_URL")
    temp = _temp_beside(out)
    try:
        with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src, \
                closing(sqlite3.connect(temp)) as dst:
            src.backup(dst)
        os.replace(temp, out)  # a reader of `out` sees the old file or the whole new one
    except sqlite3.Error as error:
        raise BackupError(f"could not back up {source} ({error})") from None
    finally:
        Path(temp).unlink(missing_ok=True)


def _sqlite_revision(file: Path) -> str:
    try:
        with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as connection:
            return connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()[0]
    except (sqlite3.Error, TypeError):
        raise BackupError(f"{file} is not a clusterbot SQLite backup") from None


def _sqlite_restore(file: Path, target: Path) -> None:
    """The backup API writes the whole backup into the target in one transaction: a reader sees the old
    database or the restored one, and the target's WAL stays consistent (a file swap would not)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(sqlite3.connect(f"file:{file}?mode=ro", uri=True)) as src, \
                closing(sqlite3.connect(target, timeout=30)) as dst:
            src.backup(dst)
    except sqlite3.Error as error:
        raise BackupError(f"could not restore into {target} ({error}): nothing was changed") from None


# PostgreSQL


def _pg_env(url) -> dict[str, str]:
    """libpq's environment: the password never appears in a process list or a log."""
    env = dict(os.environ)
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[name] = str(value)
    sslmode = url.query.get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not on PATH: install PostgreSQL's client tools (e.g. apt-get install "
                          "postgresql-client), the same major version as the server or newer")
    return found


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{what} failed ({detail})")
    return result.stdout


def _pg_dump(url, out: Path) -> None:
    temp = _temp_beside(out)
    try:
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={temp}"], _pg_env(url), "pg_dump")
        os.replace(temp, out)
    finally:
        Path(temp).unlink(missing_ok=True)


def _pg_revision(file: Path) -> str:
    """The backup's Alembic revision, read from the dump itself (pg_restore writes it as SQL to stdout):
    this also refuses a file that is not a custom-format dump before the database is touched."""
    env = dict(os.environ)
    try:
        script = _run([_tool("pg_restore"), "--data-only", f"--table={VERSION_TABLE}", "--file=-", str(file)],
                      env, "reading the backup")
    except BackupError:
        raise BackupError(f"{file} is not a clusterbot PostgreSQL backup (pg_dump --format=custom)") from None
    match = re.search(rf"COPY [\w.]*{VERSION_TABLE} \(version_num\) FROM stdin;\n([^\n\\]+)\n", script)
    if not match:
        raise BackupError(f"{file} is not a clusterbot backup: it has no schema version")
    return match.group(1).strip()


def _pg_tables(file: Path) -> set[str]:
    listing = _run([_tool("pg_restore"), "--list", str(file)], dict(os.environ), "reading the backup")
    return {m.group(1) for m in re.finditer(r" TABLE \S+ (\S+) ", listing)}


def _pg_restore(url, file: Path, db: Database) -> None:
    """In one transaction: a failed restore leaves the database as it was. Tables the backup lacks (made
    by migrations newer than it) are dropped after, so the upgrade that follows can make them afresh."""
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--exit-on-error", f"--dbname={url.database}", str(file)], _pg_env(url), "pg_restore")
    in_backup = _pg_tables(file)
    with db.engine.begin() as connection:
        preparer = connection.dialect.identifier_preparer
        for table in set(inspect(connection).get_table_names()) - in_backup:
            connection.execute(text(f"DROP TABLE IF EXISTS {preparer.quote(table)} CASCADE"))


# Files


def _temp_beside(out: Path) -> str:
    """A temporary file in `out`'s folder, so os.replace is a rename on one filesystem."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    except OSError as error:
        raise BackupError(f"cannot write {out} ({error.strerror})") from None
    os.close(handle)
    return name

