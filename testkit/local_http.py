"""A local HTTP server for the stand-ins of Slack and Microsoft: a free loopback port, served on a
daemon thread, with room for a benchmark's burst of connections."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog (5) drops connections under a benchmark's load
    daemon_threads = True


class LocalServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.server = _Server(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
