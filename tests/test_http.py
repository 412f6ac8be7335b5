"""The production HTTP server (waitress around Bolt): signatures, health, routing, malformed bodies."""

import http.client
import json
import threading
import time

import pytest
from slack_bolt.request import BoltRequest
from sqlmodel import select

from bot.server import make_server
from storage.models import Cluster, Topic
from testkit import factories
from testkit.slack_requests import SIGNING_SECRET, settle, signed_headers, slash_body


@pytest.fixture
def server(app, db):
    """The real server on a free port. Its loop runs in short slices so it can be closed from its
    own thread (closing waitress from another thread mid-select raises EBADF there)."""
    srv = make_server(app, db, "127.0.0.1", 0, threads=4)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            srv.asyncore.loop(timeout=0.05, map=srv._map, count=1)
        srv.close()
        srv.task_dispatcher.shutdown()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv
    stop.set()
    thread.join(timeout=5)


def request(server, method, path, body="", headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=10)
    connection.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=headers or {})
    response = connection.getresponse()
    data = response.read().decode()
    connection.close()
    return response.status, data


def clusters(db):
    with db.session() as session:
        return list(session.exec(select(Cluster)))


def test_healthz_answers_200_when_the_database_answers(server):
    status, body = request(server, "GET", "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_signed_command_over_http_is_handled_and_stored(server, db):
    body = slash_body("/cluster", "setup Riverside Cluster")
    status, data = request(server, "POST", "/slack/events", body, signed_headers(body))
    assert status == 200
    assert json.loads(data)["response_type"] == "in_channel"
    assert [c.name for c in clusters(db)] == ["Riverside Cluster"]


@pytest.mark.parametrize("forge", ["unsigned", "wrong secret", "six minutes old", "signature of another body"])
def test_forged_requests_get_401_and_change_nothing(server, db, forge):
    body = slash_body("/cluster", "setup Stolen Cluster")
    headers = {
        "unsigned": {"Content-Type": "application/x-www-form-urlencoded"},
        "wrong secret": signed_headers(body, secret="not-" + SIGNING_SECRET),
        "six minutes old": signed_headers(body, timestamp=int(time.time()) - 360),
        "signature of another body": signed_headers(slash_body("/cluster", "who")),
    }[forge]
    status, _ = request(server, "POST", "/slack/events", body, headers)
    assert status == 401
    assert clusters(db) == []


@pytest.mark.parametrize("body, content_type", [
    ("{not json", "application/json"),
    ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
    ("command=%2Fcluster&text=who", "application/x-www-form-urlencoded"),  # no user, channel, team
    (b"\xff\xfe\x00binary", "application/x-www-form-urlencoded"),
    ("%%%garbage&&=", "application/x-www-form-urlencoded"),
    ("", "application/x-www-form-urlencoded"),
])
def test_malformed_signed_bodies_get_400_not_500(server, body, content_type):
    headers = signed_headers(body, content_type=content_type)
    status, _ = request(server, "POST", "/slack/events", body, headers)
    assert status == 400


def test_routing(server):
    assert request(server, "GET", "/slack/events")[0] == 405
    assert request(server, "GET", "/nowhere")[0] == 404


def test_a_signed_slash_command_replayed_within_its_five_minutes_runs_once(app, db):
    """Issue 26: the same signed request sent again still verifies for five minutes; it once proposed the
    same topic twice. Another signed request runs as usual."""
    factories.riverside(factories.on_slack(app))
    body = slash_body("/topic", "propose Asthma reviews")
    headers = signed_headers(body)
    first = app.dispatch(BoltRequest(body=body, headers=headers))
    again = app.dispatch(BoltRequest(body=body, headers=headers))
    settle(app)
    assert first.status == 200 and again.status == 200 and "Asthma reviews" in first.body
    assert "Asthma reviews" not in again.body
    other = slash_body("/topic", "propose Frailty register")
    assert app.dispatch(BoltRequest(body=other, headers=signed_headers(other))).status == 200
    settle(app)
    with db.session() as session:
        assert [t.title for t in session.exec(select(Topic).order_by(Topic.id))] == ["Asthma reviews",
                                                                                     "Frailty register"]


def test_healthz_says_503_when_delivery_has_stopped(app, db):
    """Issue 26: with every delivery worker gone, nothing was posted for any cluster while /healthz said
    200. A load balancer or supervisor now sees it."""
    from bot.server import wsgi_app

    def healthz() -> tuple[str, dict]:
        statuses = []
        body = b"".join(wsgi_app(app, db)({"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"},
                                          lambda s, h: statuses.append(s)))
        return statuses[0], json.loads(body)

    assert healthz() == ("200 OK", {"status": "ok"})
    app.delivery.stop()
    assert healthz() == ("503 Service Unavailable", {"status": "delivery not running"})
