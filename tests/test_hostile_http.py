"""Hostile HTTP (issue 12 #1, #10, #11): huge, unsigned, malformed and idle requests against the real
waitress server. Each gets a 4xx in time, changes nothing, and leaves at most one log line."""

import io
import json
import logging
import socket
import time
import tracemalloc
from urllib.parse import urlencode

import pytest

from bot import logs
from bot.server import MAX_BODY, QUEUE_WARNING_DEPTH, Limits, default_threads, make_server
from testkit.slack_requests import button_payload, signed_headers, slash_body
from tests.test_http import clusters, request, server  # noqa: F401  (the real server fixture)


@pytest.fixture
def log_text():
    """Everything the process would write to its log, through the production formatter."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure(stream, level=logging.DEBUG)
    yield stream
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])


def upload_status(srv, length: int, start: bytes = b"{") -> str:
    """Announce a `length`-byte body, send its start, and read the status line the server answers with."""
    connection = socket.create_connection(("127.0.0.1", srv.effective_port), timeout=10)
    try:
        connection.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n" % length + start)
        return connection.recv(4096).decode().split("\r\n")[0]
    finally:
        connection.close()


def test_a_huge_body_is_refused_before_it_is_read(server, db):  # noqa: F811
    """A 200 MB POST is answered 413 from its Content-Length: the server never holds it in memory."""
    tracemalloc.start()
    try:
        answer = upload_status(server, 200 * 1024 * 1024, b"{" * 65536)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert peak < 20 * MAX_BODY
    assert clusters(db) == []


def test_a_body_just_over_the_cap_is_refused_and_one_under_is_read(server):  # noqa: F811
    assert upload_status(server, MAX_BODY + 1).startswith("HTTP/1.1 413")
    body = slash_body("/cluster", "who", channel="C" + "1" * 10) + "&pad=" + "y" * (MAX_BODY // 2)
    assert request(server, "POST", "/slack/events", body, signed_headers(body))[0] == 200


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "", "-1", "1.5", "0x10", "9" * 400, " 17"])
def test_unparseable_timestamps_get_401(server, db, timestamp):  # noqa: F811
    body = slash_body("/cluster", "setup Stolen Cluster")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": "v0=" + "0" * 64}
    assert request(server, "POST", "/slack/events", body, headers)[0] == 401
    assert clusters(db) == []


def test_a_non_ascii_signature_gets_401(server):  # noqa: F811
    body = slash_body("/cluster", "who")
    headers = {**signed_headers(body), "X-Slack-Signature": "v0=é"}
    assert request(server, "POST", "/slack/events", body.encode(), headers)[0] == 401


@pytest.mark.parametrize("signed", [False, True])
def test_deeply_nested_json_gets_4xx(server, signed):  # noqa: F811
    body = "[" * 100_000 + "]" * 100_000
    inner = urlencode({"payload": body})
    for raw, content_type in ((body, "application/json"), (inner, "application/x-www-form-urlencoded")):
        headers = signed_headers(raw, content_type=content_type) if signed else {"Content-Type": content_type}
        assert request(server, "POST", "/slack/events", raw, headers)[0] == (400 if signed else 401)


def test_a_signed_button_without_response_url_is_not_a_500(server):  # noqa: F811
    raw = urlencode({"payload": json.dumps({k: v for k, v in button_payload("poll.results|0", "P1").items()
                                            if k != "response_url"})})
    status, _ = request(server, "POST", "/slack/events", raw, signed_headers(raw))
    assert status in (200, 400)


def test_an_unsigned_body_is_never_logged_and_log_lines_stay_single(server, log_text):  # noqa: F811
    planted = "PLANTED-0101011237"
    forged = f"{planted}\n2026-11-26 12:00:00,000 INFO bot: lead ULEAD removed\r\nmore"
    for headers in ({"Content-Type": "application/x-www-form-urlencoded"},
                    {**signed_headers("other"), "Content-Type": "application/x-www-form-urlencoded"}):
        assert request(server, "POST", "/slack/events", slash_body("/cluster", forged), headers)[0] == 401
    written = log_text.getvalue()
    assert planted not in written and "0101011237" not in written
    assert "refused an unsigned request" in written
    assert "INFO bot: lead ULEAD removed" not in written.splitlines()[-1]


def test_library_messages_are_withheld_and_newlines_escaped(log_text):
    library = logging.getLogger("slack_bolt.Probe")
    library.setLevel(logging.DEBUG)
    library.info("Invalid request signature (body: %s)", "text=CHI 1\n")
    logging.getLogger("bot").warning("a name with\na newline")
    try:
        int("0101011237x")
    except ValueError:
        logging.getLogger("commands").exception("work failed")
    lines = log_text.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert "CHI" not in lines[0] and "withheld" in lines[0]
    assert lines[1].endswith("a name with\\na newline")
    assert "ValueError at" in lines[2] and "0101011237" not in lines[2]


def test_idle_half_sent_connections_do_not_lock_out_healthz(app, db):
    """120 clients that send half a request and wait: /healthz still answers, and the server drops
    them after its channel timeout. With the production default of request threads (one on SQLite):
    waitress reads requests in its own loop, so a half-sent one holds no request thread."""
    srv = make_server(app, db, "127.0.0.1", 0, limits=Limits(channel_timeout=2, cleanup_interval=1))
    assert len(srv.task_dispatcher.threads) == default_threads(db) == (1 if db.engine.dialect.name == "sqlite" else 2)
    import threading

    stop = threading.Event()

    def serve():
        while not stop.is_set():
            srv.asyncore.loop(timeout=0.05, map=srv._map, count=1)
        srv.close()
        srv.task_dispatcher.shutdown()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    idle = []
    try:
        for _ in range(120):
            s = socket.create_connection(("127.0.0.1", srv.effective_port), timeout=10)
            s.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{")
            idle.append(s)
        started = time.monotonic()
        status, _ = request(srv, "GET", "/healthz")
        assert status == 200 and time.monotonic() - started < 2
        idle[0].settimeout(8)
        assert idle[0].recv(100) == b""  # closed by the server (timeout), not left forever
    finally:
        for s in idle:
            s.close()
        stop.set()
        thread.join(timeout=5)


def test_a_burst_queueing_for_the_one_request_thread_is_not_logged_as_a_warning(caplog):
    """With the default of one or two request threads a burst of clicks queues by design; waitress's
    "Task queue depth" warning is kept only for a backlog deep enough to matter (the filter is in place
    once bot.server is imported, for every server)."""
    queue_log = logging.getLogger("waitress.queue")
    with caplog.at_level(logging.WARNING, logger="waitress.queue"):
        queue_log.warning("Task queue depth is %d", 15)
        queue_log.warning("Task queue depth is %d", QUEUE_WARNING_DEPTH)
    assert [r.getMessage() for r in caplog.records if r.name == "waitress.queue"] == [
        f"Task queue depth is {QUEUE_WARNING_DEPTH}"]
