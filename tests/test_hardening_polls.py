"""Issue 12 #3 and #7: anonymous polls hold no identity beside a choice and allow no inference while
open; hidden polls show nothing until the close; one person casts one practice's ballot; turnout counts
only current practices. Signed requests to the real Bolt app, both databases."""

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

from storage import anonymity
from storage.models import Ballot, BallotCaster, Poll
from testkit import factories
from testkit.slack_requests import button_payload, dispatch_command, dispatch_payload
from tests.test_polls import ballots, blocks_of, cluster, last_update, polls  # noqa: F401  (fixture)

pytestmark = pytest.mark.database  # the database decides: unique keys, what tables hold

ANONYMOUS = '"Which first?" "Asthma" "Frailty" anonymous'
PEOPLE = ("ULEAD", "UGP", "UPM", "UNURSE")


def click(app, slack_api, user, option, poll_id="P1"):
    return dispatch_payload(app, button_payload(f"poll.vote|{option - 1}", f"{poll_id}:{option}", user=user,
                                                response_url=slack_api.response_url))


def every_value_in_the_database(db) -> str:
    """Every cell of every table, as text: what someone reading the database could see."""
    cells = []
    with db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(text(f'SELECT * FROM "{table.name}"')):
                cells.append(f"{table.name}: " + " | ".join(str(v) for v in row))
    return "\n".join(cells)


def ballot_rows_beside_identity(db) -> list[str]:
    """Rows holding a choice next to a person or practice (ballots of anonymous polls)."""
    with db.session() as session:
        anonymous = [p.id for p in session.exec(select(Poll).where(Poll.anonymous))]
        rows = session.exec(select(Ballot).where(Ballot.poll_id.in_(anonymous)))
        return [f"{b.voter_key} {b.practice_id} {b.cast_by}" for b in rows
                if b.practice_id is not None or b.cast_by
                or any(p in b.voter_key for p in ("practice:", "person:", "U"))]


def test_anonymous_ballots_hold_no_identity_and_can_still_be_changed(cluster, db, slack_api):  # noqa: F811
    dispatch_command(cluster, "/poll", ANONYMOUS)
    click(cluster, slack_api, "UGP", 1)
    click(cluster, slack_api, "UNURSE", 2)
    click(cluster, slack_api, "UPM", 2)  # UGP's colleague changes their practice's ballot
    assert ballot_rows_beside_identity(db) == []
    [poll] = polls(db)
    cast = ballots(db)
    # one ballot per practice, the latest choice: sealed while open, so only the key reads it
    assert all(anonymity.is_sealed(b.choices) for b in cast)
    assert sorted(anonymity.unseal(factories.BALLOT_KEY, poll.id, b.choices) for b in cast) == [[2], [2]]
    assert all(b.voter_key.startswith("anon:") and b.cast_at == poll.created_at for b in cast)
    with db.session() as session:  # who cast which practice's ballot: identity, but never a choice
        casters = {(c.user_id, c.practice_id) for c in session.exec(select(BallotCaster))}
    assert {user for user, _ in casters} == {"UGP", "UNURSE", "UPM"}
    assert not {c.name for c in BallotCaster.__table__.columns} & {"choices", "choice", "cast_at"}


def test_anonymous_live_view_shows_turnout_but_no_counts_until_the_close(cluster, db, slack_api):  # noqa: F811
    dispatch_command(cluster, "/poll", ANONYMOUS)
    click(cluster, slack_api, "UGP", 2)
    card = last_update(slack_api)["text"]
    assert "1 of 3 practices has voted" in card
    assert "█" not in card and "1. Asthma\n" in card + "\n" and "results shown when it closes" in card
    results = dispatch_command(cluster, "/poll", "results P1").text
    assert "Not voted yet: Hillview Surgery, Burnside Health Centre" in results and "Frailty  " not in results
    assert "█" not in results and "cast by" not in results
    dispatch_command(cluster, "/poll", "close P1")
    closed = last_update(slack_api)["text"]
    assert "Frailty" in closed and "█" in closed and "Result:" in closed and "1 ballot cast" in closed


def test_closing_an_anonymous_poll_erases_what_linked_ballots_to_voters(cluster, db, slack_api):  # noqa: F811
    dispatch_command(cluster, "/poll", ANONYMOUS.replace("anonymous", "anonymous per person"))
    for user, option in zip(PEOPLE, (1, 2, 2, 1), strict=True):
        click(cluster, slack_api, user, option)
    dispatch_command(cluster, "/poll", "close P1")
    cast = ballots(db)
    assert sorted(b.choices for b in cast) == ["1", "1", "2", "2"]
    assert sorted(b.voter_key for b in cast) == [f"closed:{n}" for n in range(1, 5)]
    with db.session() as session:
        assert list(session.exec(select(BallotCaster))) == []
    assert ballot_rows_beside_identity(db) == []
    everything = every_value_in_the_database(db)
    for line in everything.splitlines():  # no row with a choice names a voter
        if line.startswith("ballot:"):
            assert not any(person in line for person in PEOPLE), line


def test_a_hidden_poll_shows_nothing_until_it_closes(cluster, db, slack_api):  # noqa: F811
    dispatch_command(cluster, "/poll", '"Which first?" "Asthma" "Frailty" hidden')
    click(cluster, slack_api, "UGP", 2)
    for shown in (last_update(slack_api)["text"], dispatch_command(cluster, "/poll", "results P1").text,
                  dispatch_command(cluster, "/poll", "list").text):
        assert "█" not in shown and "cast by" not in shown and "Frailty (1" not in shown
        assert " 1\n" not in shown + "\n"
    dispatch_command(cluster, "/poll", "close P1")
    assert "Frailty (1 ballot)" in dispatch_command(cluster, "/poll", "results P1").text


def test_one_person_casts_one_practice_ballot_per_poll(cluster, db, slack_api):  # noqa: F811
    """UGP votes for 80123, joins 80456 and 80789 in turn and tries again for each: refused."""
    dispatch_command(cluster, "/poll", '"Which first?" "Asthma" "Frailty"')
    click(cluster, slack_api, "UGP", 1)
    for code in ("80456", "80789"):
        dispatch_command(cluster, "/cluster", f"join {code}", user="UGP")
        reply = dispatch_command(cluster, "/poll", "vote P1 2", user="UGP")
        assert "already voted on P1 for Riverside Medical Practice" in reply.text
    assert [(b.practice_id is not None, b.cast_by, b.choices) for b in ballots(db)] == [(True, "UGP", "1")]
    dispatch_command(cluster, "/cluster", "join 80123", user="UGP")
    assert "is now: 2. Frailty" in dispatch_command(cluster, "/poll", "vote P1 2", user="UGP").text


def test_turnout_counts_only_current_practices(cluster, db, slack_api):  # noqa: F811
    dispatch_command(cluster, "/poll", '"Which first?" "Asthma" "Frailty"')
    click(cluster, slack_api, "UGP", 1)
    click(cluster, slack_api, "UNURSE", 2)
    dispatch_command(cluster, "/cluster", "practice remove 80456")
    dispatch_command(cluster, "/cluster", "practice remove 80789")
    listed = dispatch_command(cluster, "/poll", "list").text
    assert "1 of 1 practice has voted" in listed and "2 of 1" not in listed
