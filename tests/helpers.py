"""Assertions the feature tests share."""

from sqlmodel import SQLModel


def snapshot(db) -> dict[str, list[str]]:
    """Every row of every table, to show that a refusal stored nothing, anywhere."""
    with db.engine.connect() as connection:
        return {table.name: sorted(map(repr, connection.execute(table.select()).all()))
                for table in SQLModel.metadata.sorted_tables}


def assert_refused(response, says: str) -> None:
    """A refusal: shown only to the person, marked as a problem, saying what was wrong."""
    assert response.status == 200
    assert response.json["response_type"] == "ephemeral" and response.text.startswith(":warning:"), response.text
    assert says in response.text, response.text
