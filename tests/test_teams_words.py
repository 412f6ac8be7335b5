"""Teams words: no slash commands in anything Teams shows (a channel needs an @mention of the bot, the 1:1
chat does not), greetings and thanks answered, a command word found later in a sentence. Through the real
Teams app and the Bot Connector stand-in."""

import io
import re

import openpyxl
from sqlmodel import select

from storage.models import Action
from testkit.teams_ids import CHANNEL, LEAD, PQL_A, PQL_B, user
from testkit.teams_standin import BOT_ID, members_added
from tests.test_teams_flows import cluster, say  # noqa: F401  (fixture)

SLASH_FORM = re.compile(r"(?<![\w/:.@-])/(cluster|topic|poll|action|meeting|measure|checkin)\b")
NEWCOMER = user(41)
CHAT = "a:1newcomerschatwiththebot0123456789AbCdEfGhIjKlMnOpQrStUvWxYz"


def _everything_shown(teams_api) -> list[str]:
    """Each sent activity's card text and its notification summary."""
    return [f"{s.text}\n{s.body.get('summary', '')}" for s in teams_api.sent
            if isinstance(s.body, dict) and s.body.get("attachments")]


def test_nothing_teams_shows_holds_a_slash_command(teams, teams_api, db):
    assert teams.send(members_added(teams_api, BOT_ID, by=LEAD), teams_api.headers()).status_code == 200
    for typed in ("cluster help", "topic", "poll vote", "meeting frobnicate", "measure help", "cluster setpu x",
                  "action add"):
        say(teams, teams_api, LEAD, typed)
    say(teams, teams_api, NEWCOMER, "cluster help", personal=CHAT)
    teams_api.wait_for(lambda s: len(_everything_shown(s)) >= 9)
    assert teams.delivery.drain()
    shown = _everything_shown(teams_api)
    assert [t for t in shown if SLASH_FORM.search(t)] == []
    in_channel = "\n".join(s.text for s in teams_api.sent if s.conversation == CHANNEL and isinstance(s.body, dict))
    assert "@clusterbot cluster setup" in in_channel  # the install welcome says what to type, mention first
    in_chat = "\n".join(s.text for s in teams_api.sent if s.conversation == CHAT)
    assert re.search(r"(?<!@clusterbot )cluster join", in_chat) and "@clusterbot" not in in_chat


def test_greetings_and_an_empty_mention_show_help_and_thanks_is_answered(cluster, teams, teams_api):  # noqa: F811
    for typed in ("hi", "Hello!", "hey", "help", "?", ""):
        teams_api.reset()
        say(teams, teams_api, PQL_A, typed)
        answer = teams_api.wait_for(lambda s: s.targeted() or s.posts())[0]
        assert "I don't know" not in answer.text, typed
        assert "cluster who" in answer.text and "cluster setup" in answer.text, typed
    teams_api.reset()
    say(teams, teams_api, PQL_A, "thanks!")
    answer = teams_api.wait_for(lambda s: s.targeted() or s.posts())[0]
    assert "You're welcome" in answer.text


def test_a_command_word_later_in_the_sentence_is_found(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, PQL_A, "please topic propose Asthma reviews")
    post = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Asthma reviews" in p.text])[0]
    assert "T1" in post.text


def test_an_unknown_word_says_what_to_type_in_teams_words(cluster, teams, teams_api):  # noqa: F811
    say(teams, teams_api, PQL_A, "frobnicate the widgets")
    answer = teams_api.wait_for(lambda s: s.targeted())[0]
    assert "I don't know “frobnicate”" in answer.text and "@clusterbot cluster help" in answer.text


def test_a_message_in_the_chat_takes_no_mention(teams, teams_api):
    say(teams, teams_api, NEWCOMER, "hello", personal=CHAT)
    answer = teams_api.wait_for(lambda s: s.posts(CHAT))[0]
    assert "cluster setup" in answer.text and "@clusterbot" not in answer.text


def test_a_colleague_mentioned_in_an_action_is_a_person_in_the_card_and_a_name_in_the_workbook(
        cluster, teams, teams_api, product, db):  # noqa: F811
    say(teams, teams_api, PQL_A, "action add Ask @Sam Ng to share the list due friday week",
        mentions={"Sam Ng": PQL_B})
    added = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "share the list" in p.text])[0]
    assert "<at>Sam Ng</at>" in added.text and PQL_B not in added.text and "29:" not in added.text
    assert {"id": PQL_B, "name": "Sam Ng"} in [e["mentioned"] for e in added.card["msteams"]["entities"]]
    assert PQL_B not in added.body.get("summary", "")
    workbook = openpyxl.load_workbook(io.BytesIO(product.export(CHANNEL).content), read_only=True)
    cells = [str(c) for row in workbook["Actions"].iter_rows(values_only=True) for c in row if c]
    assert "Ask Sam Ng to share the list" in cells and not [c for c in cells if "29:1" in c]


def test_text_typed_as_a_mention_is_text_and_a_number_in_it_is_guarded(cluster, teams, teams_api, db):  # noqa: F811
    for typed in ("action add Call &lt;@0101011237&gt; back today", "action add Call <@0101011237> back today"):
        teams_api.reset()
        say(teams, teams_api, PQL_A, typed)
        answer = teams_api.wait_for(lambda s: s.targeted() or s.posts())[0]
        assert "CHI or NHS number" in answer.text, typed
    with db.session() as session:
        assert session.exec(select(Action)).all() == []
