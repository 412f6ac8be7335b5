"""Who may change what: every state-changing command × every kind of person, as the README's table says.
Through the platform-free driver (testkit/driver.py), on SQLite: a product rule, not the database's."""

import pytest

from commands.results import Tone
from testkit import factories

LEAD, OWNER, OTHER_PRACTICE, OTHER_CLUSTER, STRANGER = "ULEAD", "UOWN", "UOTHER", "UFAR", "USTRANGER"
ROLES = {
    LEAD: "a lead", OWNER: "owner or creator", OTHER_PRACTICE: "member of another practice",
    OTHER_CLUSTER: "member of another cluster", STRANGER: "stranger",
}
EVERYONE = set(ROLES)
LEADS = {LEAD}
OWNER_OR_LEAD = {LEAD, OWNER}
MEMBERS_OF_A_PRACTICE = {LEAD, OWNER, OTHER_PRACTICE}
MEMBERS = {LEAD, OWNER, OTHER_PRACTICE}  # in this world every member is in a practice

# (command, text, who may) — the README's "Who may do what" table, row by row.
MATRIX = [
    ("/cluster", "practice add 80999 New Practice", LEADS),
    ("/cluster", "practice remove 80456", LEADS),
    ("/cluster", "member add <@UNEW> 80123", LEADS),
    ("/cluster", "member remove <@UOTHER>", LEADS),
    ("/cluster", "lead add <@UOTHER>", LEADS),
    ("/cluster", "lead remove <@ULEAD2>", LEADS),
    ("/cluster", "join 80456", EVERYONE),
    ("/cluster", "guests export on", LEADS),
    ("/topic", "propose Frailty register", MEMBERS),
    ("/topic", "edit T1", OWNER_OR_LEAD),
    ("/topic", "edit T1 aim reviews within 2 weeks", OWNER_OR_LEAD),
    ("/topic", "withdraw T1", OWNER_OR_LEAD),
    ("/topic", "move T1 agreed", LEADS),
    ("/topic", "note T1 plan: audit ten records", MEMBERS),
    ("/poll", '"Lunch or evening?" "Lunch" "Evening"', MEMBERS),
    ("/poll", "vote P1 1", MEMBERS_OF_A_PRACTICE),
    ("/poll", "close P1", OWNER_OR_LEAD),
    ("/poll", "remind P1", OWNER_OR_LEAD),
    ("/poll", "extend P1 friday week", OWNER_OR_LEAD),
    ("/action", "add Send the audit", MEMBERS),
    ("/action", "done A1", OWNER_OR_LEAD),
    ("/action", "reopen A2", OWNER_OR_LEAD),
    ("/action", "assign A1 <@UOTHER>", OWNER_OR_LEAD),
    ("/action", "due A1 friday", OWNER_OR_LEAD),
    ("/action", "note A1 left a message", OWNER_OR_LEAD),
    ("/meeting", "schedule 10/12/2026 12:30 Extra meeting", MEMBERS),
    ("/meeting", "item M1 Prescribing data", MEMBERS),
    ("/meeting", "move M1 10/12/2026 13:00", OWNER_OR_LEAD),
    ("/meeting", "cancel M1", OWNER_OR_LEAD),
    ("/meeting", "edit M1 place Room 2", OWNER_OR_LEAD),
    ("/meeting", "reminders 2d,2h", LEADS),
    ("/meeting", "record 12/11/2026 12:30 Extra meeting", MEMBERS),
    ("/meeting", "attended M1 80123", OWNER_OR_LEAD),
    ("/meeting", "apologies M1 80456", OWNER_OR_LEAD),
    ("/meeting", "note M1 The audit was presented", OWNER_OR_LEAD),
    ("/meeting", "decision M1 Adopt the template", OWNER_OR_LEAD),
    ("/measure", "add T1 Reviews within 2 weeks percent", MEMBERS_OF_A_PRACTICE),
    ("/measure", "record D1 Oct 2026 4/10", MEMBERS_OF_A_PRACTICE),
    ("/measure", "record D1 Oct 2026 4/10 practice 80123", OWNER_OR_LEAD),
    ("/measure", "enter D1", LEADS),
    ("/measure", "edit D1 goal 85", OWNER_OR_LEAD),
    ("/measure", "retire D1", OWNER_OR_LEAD),
    ("/measure", "rebase D1 from Apr 2026", LEADS),
    ("/measure", "nudges 3", LEADS),
    ("/topic", "score T1 3", MEMBERS),
    ("/checkin", "on 3", LEADS),
    ("/checkin", "off", LEADS),
]


@pytest.fixture
def world(driver):
    """Riverside (CCLUSTER): two leads; the owner (80123) made T1, P1, A1, A2 (done) and M1; another
    member is in 80456. UFAR belongs only to the Hill cluster; USTRANGER to none."""
    factories.riverside(driver.say, practices=[("80123", "Riverside MP"), ("80456", "Hillview")],
                        members={LEAD: "80123", OWNER: "80123", OTHER_PRACTICE: "80456"})
    assert driver.say("/cluster lead add <@ULEAD2>", user=LEAD).tone == Tone.DONE
    for typed in ("/topic propose Asthma reviews", '/poll "Which first?" "A" "B"', "/action add Ring the Board",
                  "/action add Old thing", "/action done A2", "/meeting schedule 3/12/2026 12:30 Cluster QI meeting",
                  "/measure add T1 Asthma reviews percent higher is better"):
        said = driver.say(typed, user=OWNER)
        assert said.tone != Tone.PROBLEM, (typed, said.text)
    factories.riverside(driver.say, practices=0, members={}, lead=OTHER_CLUSTER, channel="CHILL", name="Hill Cluster")
    return driver


@pytest.mark.parametrize("who", list(ROLES), ids=list(ROLES.values()))
@pytest.mark.parametrize("command, text, may", MATRIX, ids=[f"{c} {t.split()[0]}" for c, t, _ in MATRIX])
def test_permission_matrix(world, command, text, may, who):
    response = world.say(f"{command} {text}", user=who)
    refused = response.tone == Tone.PROBLEM
    assert refused == (who not in may), f"{ROLES[who]}: {command} {text} → {response.text[:200]}"
    if refused:
        assert any(words in response.text for words in (
            "Only the cluster's leads", "owner", "whoever", "Only members of this cluster", "in no practice",
            "not a member of the cluster",
        )), response.text
