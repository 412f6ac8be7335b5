"""The operator's backup and restore of the whole deployment (`python -m bot backup`, `restore`): the
adapters reach storage only through the product, so the CLI calls these. The work is storage/backup.py."""

from pathlib import Path

from storage import backup as storage_backup

BackupError = storage_backup.BackupError


def backup(database_url: str, out: Path) -> None:
    storage_backup.backup(database_url, out)


def restore(database_url: str, file: Path, *, force: bool = False) -> str:
    """Returns the backup's schema revision; refuses (BackupError) a database with data unless `force`."""
    return storage_backup.restore(database_url, file, force=force)
