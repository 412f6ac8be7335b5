"""Every inbound activity's JWT is checked as Bot Framework signs it; anything else is 401."""

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from testkit.teams_app import post
from testkit.teams_ids import LEAD
from testkit.teams_standin import message


def test_a_signed_activity_is_accepted_and_answered(teams, teams_api):
    answer = post(teams, message(teams_api, LEAD, "cluster help"), teams_api.headers())
    assert answer.status_code == 200
    sent = teams_api.wait_for(lambda s: s.posts() or s.targeted())
    assert "@clusterbot cluster" in sent[0].text.replace("**", "")


@pytest.mark.parametrize("case", ["unsigned", "forged", "wrong audience", "expired", "wrong issuer",
                                  "other service url", "unknown key", "garbage"])
def test_anything_else_is_401_and_does_nothing(teams, teams_api, case, db):
    activity = message(teams_api, LEAD, "cluster setup Riverside Cluster")
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = {
        "unsigned": {"Content-Type": "application/json"},
        "forged": teams_api.headers(key=forger),
        "wrong audience": teams_api.headers(audience="00000000-0000-0000-0000-000000000000"),
        "expired": teams_api.headers(expires_in=-3600),  # past the SDK's 5 minutes' leeway for clock skew
        "wrong issuer": teams_api.headers(issuer="https://sts.example.org/"),
        "other service url": teams_api.headers(service_url="https://attacker.example.org/connector/"),
        "unknown key": teams_api.headers(kid="someone-elses-key"),
        "garbage": {"Authorization": "Bearer not.a.jwt", "Content-Type": "application/json"},
    }[case]
    answer = post(teams, activity, headers)
    assert answer.status_code == 401
    with db.session() as session:
        from sqlmodel import select

        from storage.models import Cluster
        assert session.exec(select(Cluster)).first() is None
    assert not teams_api.sent


def test_signing_keys_are_cached(teams, teams_api):
    before = teams_api.key_fetches
    for _ in range(5):
        assert post(teams, message(teams_api, LEAD, "cluster help"), teams_api.headers()).status_code == 200
    assert teams_api.key_fetches - before <= 1


def test_a_body_that_is_not_an_activity_is_refused_plainly(teams, teams_api):
    assert teams.client.post("/api/messages", content=b"{not json", headers=teams_api.headers()).status_code == 400
    assert teams.client.post("/api/messages", content=b"x" * 300_000, headers=teams_api.headers()).status_code == 413
    assert teams.client.get("/healthz").status_code == 200
