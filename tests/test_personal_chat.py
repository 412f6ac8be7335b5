"""Personal commands typed in a 1:1 chat with the bot (Teams' personal app, a Slack DM) answer for each of
the person's clusters, named; a cluster is never set up there. Platform-free, through the driver."""

from commands.results import Tone

CHAT = "DJANE"  # the person's 1:1 chat: no cluster


def test_a_person_in_two_clusters_gets_each_clusters_list_under_its_name(riverside):
    riverside.say("/cluster setup Hill Cluster", channel="CHILL")
    riverside.say("/cluster practice add 80999 Hill Surgery", channel="CHILL")
    riverside.say("/action add Ring the Board due friday", channel="CHILL")
    riverside.say("/action add Audit asthma discharges due friday week")
    said = riverside.say("/action list mine", channel=CHAT, personal=True)
    assert said.tone != Tone.PROBLEM
    text = said.text
    assert text.index("Riverside Cluster") < text.index("Audit asthma discharges") < text.index("Hill Cluster") \
        < text.index("Ring the Board")


def test_someone_in_no_cluster_is_told_how_to_join(riverside):
    said = riverside.say("/poll list", user="UNOBODY", channel="DNOBODY", personal=True)
    assert said.tone == Tone.PROBLEM and "not in a cluster yet" in said.text


def test_the_same_command_in_a_channel_that_is_no_cluster_still_says_so(riverside):
    said = riverside.say("/poll list", channel="CELSEWHERE")
    assert said.tone == Tone.PROBLEM and "isn't a cluster yet" in said.text


def test_no_cluster_is_set_up_in_a_1_to_1_chat(riverside):
    said = riverside.say("/cluster setup My Own Cluster", channel=CHAT, personal=True)
    assert said.tone == Tone.PROBLEM and "channel" in said.text
    assert "isn't a cluster" in riverside.say("/cluster who", channel=CHAT).text
