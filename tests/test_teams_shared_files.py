"""Issue 22 #6: a chart or export announced to a Teams cluster is seen in its channel by everyone in it,
served from the bot's own GET /files/<token> (the real Teams app, the Bot Connector stand-in, the files
read back); only a file for one person still goes 1:1 by file consent."""

import io
import logging
import secrets
import struct

import httpx
import openpyxl
import pytest

from bot.config import ConfigError, load_settings
from bot.platform import Asker
from commands.results import Audience, Reply, Upload, line
from storage.models import SharedFile
from testkit.teams_app import serve_teams
from testkit.teams_ids import CHANNEL, LEAD, PQL_A, PQL_B, TEAM
from testkit.teams_standin import Fault
from tests.test_teams_flows import cluster, rows, say  # noqa: F401  (cluster: a fixture)

PNG = b"\x89PNG\r\n\x1a\n"
CONSENT = "application/vnd.microsoft.teams.card.file.consent"


@pytest.fixture
def teams(db, product, teams_api):
    """The real Teams app whose TEAMS_PUBLIC_URL is its own loopback address."""
    yield from serve_teams(db, product, teams_api, public=True)


def shared_card(teams_api, element: str):
    """The channel post that shows a shared file: its card, and the link it shows."""
    post = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if _links(p.card, element)])[0]
    return post, _links(post.card, element)[0]


def _links(card: dict, element: str) -> list[str]:
    found = []
    for block in card.get("body", []):
        if element == "Image" and block.get("type") == "Image":
            found.append(block["url"])
        if element == "Download" and block.get("type") == "ActionSet":
            found += [a["url"] for a in block["actions"] if a["type"] == "Action.OpenUrl" and a["title"] == "Download"]
    return found


def consent_offers(teams_api):
    return [p for p in teams_api.posts() if isinstance(p.body, dict)
            and p.body.get("attachments", [{}])[0].get("contentType") == CONSENT]


def test_a_chart_is_shown_in_the_channel_from_the_bots_own_link(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, LEAD, "topic propose Asthma reviews after discharge")
    say(teams, teams_api, LEAD, "measure add T1 Asthma reviews within 2 weeks percent higher is better goal 80")
    say(teams, teams_api, PQL_A, "measure record D1 Aug 2026 30/100; Sep 2026 33/100; Oct 2026 36/100")
    say(teams, teams_api, PQL_A, "measure chart D1")
    post, url = shared_card(teams_api, "Image")
    assert "shared the chart of" in post.text and "<at>" in post.text  # Jane, by name, to everyone
    assert url.startswith(f"{teams.client.base_url}/files/")
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["content-disposition"].startswith("inline;")
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.content.startswith(PNG)
    width, height = struct.unpack(">II", answer.content[16:24])  # the IHDR chunk
    assert width >= 1000 and height >= 500
    looked = httpx.head(url)  # what an image service may ask first
    assert looked.status_code == 200 and looked.headers["content-length"] == str(len(answer.content))
    [stored] = rows(db, SharedFile)
    assert stored.content == answer.content and stored.content_type == "image/png"
    token = url.rsplit("/", 1)[1]
    assert token not in stored.token_hash  # only its hash is kept
    assert not consent_offers(teams_api)  # nobody was asked to accept a file in a 1:1 chat


@pytest.mark.database  # the file's bytes round-trip through a BLOB (SQLite) and a bytea (PostgreSQL)
def test_an_export_is_a_download_in_the_channel(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, PQL_A, "action add Audit inhaler technique @Sam Ng due 2026-12-18",
        mentions={"Sam Ng": PQL_B})
    say(teams, teams_api, LEAD, "action export")
    post, url = shared_card(teams_api, "Download")
    assert "exported" in post.text and ".xlsx" in post.text and "KB" in post.text
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["cache-control"] == "private, no-store"
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    cells = [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert "Audit inhaler technique" in cells
    assert not consent_offers(teams_api)
    assert not any("accept it there" in p.text for p in teams_api.posts(CHANNEL))


def test_an_expired_or_unknown_link_opens_nothing_and_the_tick_forgets_it(cluster, teams, teams_api, db,  # noqa: F811
                                                                         product, clock, caplog):
    caplog.set_level(logging.INFO)
    say(teams, teams_api, LEAD, "action export")
    _, url = shared_card(teams_api, "Download")
    base = url.rsplit("/", 1)[0]
    assert httpx.get(url).status_code == 200
    # Someone of another cluster (or anyone) guessing: tokens never handed out, the stored hash itself.
    [stored] = rows(db, SharedFile)
    token = url.rsplit("/", 1)[1]
    near = token[:-1] + ("B" if token.endswith("A") else "A")  # one character off
    for guess in (secrets.token_urlsafe(32), stored.token_hash, "x", near, token + "A"):
        answer = httpx.get(f"{base}/{guess}")
        assert answer.status_code == 404 and answer.content == b"", guess
    clock.advance(days=6, hours=23)
    assert httpx.get(url).status_code == 200  # SHARED_FILE_DAYS: 7 by default
    clock.advance(hours=2)
    assert httpx.get(url).status_code == 404
    product.tick()
    assert rows(db, SharedFile) == []
    # The link's token is never logged by the server (httpx's lines are this test's own requests).
    assert caplog.records and not [r for r in caplog.records if r.name != "httpx" and token in r.getMessage()]


def test_a_file_for_one_person_is_still_offered_by_file_consent(cluster, teams, teams_api, db):  # noqa: F811
    private = Upload(CHANNEL, "mine.xlsx", "Only for you", b"PK\x03\x04 not really a workbook",
                     Reply.tell(line("Here is your file.")), audience=Audience.PERSON)
    teams.delivery.after_ack(Reply.quiet(private), Asker(LEAD, CHANNEL, TEAM))
    [offer] = teams_api.wait_for(lambda s: consent_offers(s))
    assert offer.conversation != CHANNEL and offer.body["attachments"][0]["name"] == "mine.xlsx"
    assert rows(db, SharedFile) == []


def test_the_public_address_and_the_days_are_checked():
    base = {"TEAMS_APP_ID": "00000000-0000-0000-0000-000000000001", "TEAMS_APP_PASSWORD": "secret",
            "TEAMS_TENANT_ID": "00000000-0000-0000-0000-000000000002"}
    settings = load_settings("teams", environ={**base, "TEAMS_PUBLIC_URL": "https://clusterbot.example.scot/",
                                               "SHARED_FILE_DAYS": "3"})
    assert (settings.teams_public_url, settings.shared_file_days) == ("https://clusterbot.example.scot", 3)
    assert load_settings("teams", environ=base).shared_file_days == 7
    with pytest.raises(ConfigError, match="TEAMS_PUBLIC_URL .* https://"):
        load_settings("teams", environ={**base, "TEAMS_PUBLIC_URL": "http://clusterbot.example.scot"})
    with pytest.raises(ConfigError, match="SHARED_FILE_DAYS"):
        load_settings("teams", environ={**base, "SHARED_FILE_DAYS": "0"})


def test_a_card_put_off_by_the_bot_connector_shows_the_file_kept_on_the_first_try(cluster, teams, teams_api,  # noqa: F811
                                                                                  db):
    teams_api.faults["post"] = Fault(status=429, retry_after=0.5)
    say(teams, teams_api, LEAD, "action export")
    _, url = shared_card(teams_api, "Download")
    assert teams.delivery.drain()
    assert teams.delivery.stats["rate_limited"] == 1
    assert len(rows(db, SharedFile)) == 1  # kept once, shown once
    assert httpx.get(url).status_code == 200
