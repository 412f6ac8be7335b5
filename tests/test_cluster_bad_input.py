"""Every refusal is specific, private, shows a working example, and stores nothing: through the
platform-free driver (testkit/driver.py); how Slack escapes markup in names, through signed requests."""

import pytest
from sqlmodel import select

from commands.results import Audience
from storage.models import Cluster
from testkit import factories
from testkit.driver import refused
from testkit.helpers import snapshot
from testkit.slack_requests import dispatch_command


@pytest.fixture
def cluster(driver):
    """Riverside with one practice, 80123, and UNURSE in it; ULEAD leads."""
    factories.riverside(driver.say, practices=1, members={"UNURSE": "80123"})
    return driver


@pytest.mark.parametrize("text, says, example", [
    ("practice add 8012 Short Code", "“8012” isn't a practice code: it should be exactly 5 digits",
     "/cluster practice add 80123"),
    ("practice add 80A23 Letters", "isn't a practice code", "/cluster practice add 80123"),
    ("practice add", "Give the practice code", "/cluster practice add 80123"),
    ("practice add 80999", "Give the practice name", "/cluster practice add 80123"),
    ("practice add 80123 Again", "Practice 80123 is already registered as “Riverside Medical Practice”",
     "/cluster practice list"),
    ("practice add 80999 " + "x" * 81, "That practice name is 81 characters; the limit is 80",
     "/cluster practice add"),
    ("practice remove 80999", "No practice with code 80999 in this cluster. Practices here: 80123.",
     "/cluster practice remove 80123"),
    ("join 80999", "No practice with code 80999", "/cluster join 80123"),
    ("join", "Give the practice code", "/cluster join 80123"),
    ("member add Jane 80123", "“Jane” isn't a mention", "/cluster member add @Jane 80123"),
    ("member add", "Say who: mention the person with @", "/cluster member add @Jane 80123"),
    ("member add <@UGP> 123456", "isn't a practice code", "/cluster member add @Jane 80123"),
    ("lead add @jane", "“@jane” isn't a mention", "/cluster lead add @Jane"),
    ("lead remove <@UNURSE>", "@UNURSE isn't a lead", "/cluster who"),
    ("lead remove <@UNOBODY>", "@UNOBODY isn't in this cluster", "/cluster who"),
    ("lead remove <@ULEAD>", "A cluster always needs a lead", "/cluster lead add @Jane"),
    ("setup " + "y" * 81, "already the cluster", "/cluster who"),
])
def test_refusals_are_specific_private_and_store_nothing(cluster, db, text, says, example):
    before = snapshot(db)
    response = cluster.say(f"/cluster {text}")
    refused(response, says)
    assert f"For example: {example}" in response.text
    assert snapshot(db) == before


def test_cluster_name_too_long_or_empty(driver, db):
    refused(driver.say("/cluster setup " + "n" * 81), "limit is 80")
    refused(driver.say("/cluster setup   "), "Give the cluster name")
    assert not any(snapshot(db).values())


@pytest.mark.parametrize("text", [
    "practice add 80999 New Practice", "practice remove 80123", "member add <@UGP> 80123",
    "member remove <@ULEAD>", "lead add <@UNURSE>", "lead remove <@ULEAD>",
])
def test_only_leads_change_the_cluster_and_are_named(cluster, db, text):
    before = snapshot(db)
    response = cluster.say(f"/cluster {text}", user="UNURSE")
    command = "/cluster " + " ".join(text.split()[:2])
    refused(response, f"Only the cluster's leads can use {command}. Ask a lead: @ULEAD.")
    assert snapshot(db) == before


def test_unknown_subcommand_gets_short_help(cluster):
    response = cluster.say("/cluster frobnicate")
    refused(response, "")
    assert response.text.startswith("“frobnicate” isn't a /cluster command.")
    assert "/cluster join <5-digit code>" in response.text


def test_a_near_miss_gets_did_you_mean(cluster):
    response = cluster.say("/cluster practice delete 80123")
    refused(response, "")
    assert response.text.startswith("“practice” isn't a /cluster command. Did you mean /cluster practice remove?")
    assert "For example: /cluster practice remove 80123" in response.text


def test_no_subcommand_shows_help(cluster):
    response = cluster.say("/cluster")
    assert "every command, with an example" in response.text and response.audience == Audience.PERSON


@pytest.mark.parametrize("hostile", [
    "<!channel> Practice", "<!here|here>", "*bold* _it_ ~x~", "<https://evil.example|click me>",
    "<b>HTML</b> & co", "<@U0ADMIN> Surgery",
])
def test_markup_in_names_is_shown_literally_and_never_pings(app, db, hostile):
    response = dispatch_command(app, "/cluster", f"setup {hostile}")
    assert response.in_channel
    first_section = response.json["blocks"][0]["text"]["text"]
    for text in (response.text, first_section):
        # Slack only interprets <…> and &…; after escaping, none of the hostile ones survive.
        assert "<!" not in text and "<http" not in text and "<@U0ADMIN>" not in text and "<b>" not in text
    escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in response.text
    with db.session() as session:
        assert session.exec(select(Cluster.name)).one() == hostile
