"""A local stand-in for Slack's Socket Mode side: a plain ws:// WebSocket server on loopback.

Point the Slack stand-in's `socket_url` at `server.url`: slack_sdk asks `apps.connections.open` for a
URL, connects here, and gets `hello` as from Slack. A test then pushes envelopes (`push`, or
`push_command` for a slash command) and waits for the client's ack of each (`ack_for`).
"""

import itertools
import json
import threading
import time
from urllib.parse import parse_qsl

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from testkit.slack_requests import slash_body

HELLO = {"type": "hello", "num_connections": 1,
         "debug_info": {"host": "applink-standin", "build_number": 1, "approximate_connection_time": 3600},
         "connection_info": {"app_id": "A0001"}}

PING_INTERVAL = 0.2  # seconds


class SocketModeServer:
    def __init__(self, timeout: float = 10):
        self.timeout = timeout
        self.connections: list[ServerConnection] = []  # every connection ever opened, in order
        self.received: list[dict] = []  # every JSON message the clients sent
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        # Like Slack, ping the client now and then. Often here: slack_sdk's builtin client reads with a
        # 3 s socket timeout while holding the lock that close() needs, so any frame lets it close sooner.
        self.server = serve(self._handle, "127.0.0.1", 0, compression=None, ping_interval=PING_INTERVAL)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link/?ticket=standin"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=self.timeout)

    def _handle(self, connection: ServerConnection) -> None:
        connection.send(json.dumps(HELLO))
        with self._changed:
            self.connections.append(connection)
            self._changed.notify_all()
        try:
            for message in connection:
                with self._changed:
                    self.received.append(json.loads(message))
                    self._changed.notify_all()
        except ConnectionClosed:
            pass

    def _wait(self, found, what: str, timeout: float | None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._changed:
            while (result := found()) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for {what}; received so far: {self.received}")
                self._changed.wait(left)
            return result

    def wait_connected(self, timeout: float | None = None) -> ServerConnection:
        def newest():
            return self.connections[-1] if self.connections else None

        return self._wait(newest, "a client to connect", timeout)

    def push(self, envelope: dict) -> str:
        """Send an envelope to the newest connection, as Slack does; returns its envelope_id."""
        self.wait_connected().send(json.dumps(envelope))
        return envelope["envelope_id"]

    def push_command(self, command: str, text: str, **fields) -> str:
        """A slash command envelope: the same fields Slack posts over HTTP, as a JSON object."""
        payload = dict(parse_qsl(slash_body(command, text, **fields)))
        return self.push({"envelope_id": f"envelope-{next(self._ids)}", "type": "slash_commands",
                          "accepts_response_payload": True, "payload": payload})

    def ack_for(self, envelope_id: str, timeout: float | None = None) -> dict:
        """The client's ack ({"envelope_id": …, "payload": {…}}) of one envelope."""
        def ack():
            return next((m for m in self.received if m.get("envelope_id") == envelope_id), None)

        return self._wait(ack, f"the ack of {envelope_id}", timeout)
