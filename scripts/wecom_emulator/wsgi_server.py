"""A threaded WSGI server that keeps HTTP/1.1 connections open (werkzeug's development server closes each one).

WeCom keeps a client's connections alive; a new connection (and a new server thread) for every API call or
callback cost the emulator and its clients more CPU than the calls themselves in a burst of adds.
"""
import socketserver
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer


class _Response(ServerHandler):
    http_version = "1.1"

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        if "Content-Length" not in self.headers:  # the body ends when the connection does
            self.headers["Connection"] = "close"
            self.request_handler.close_connection = True


class KeepAliveHandler(WSGIRequestHandler):
    """One connection: requests until the client closes it or asks to (the app reads each request's whole body)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms wait for the peer's ACK
    quiet = False

    def handle(self) -> None:
        while True:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or len(self.raw_requestline) > 65536 or not self.parse_request():
                return
            response = _Response(self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True)
            response.request_handler = self
            response.run(self.server.get_app())
            if self.close_connection:
                return

    def log_request(self, *args) -> None:
        if not self.quiet:
            super().log_request(*args)


class QuietKeepAliveHandler(KeepAliveHandler):
    quiet = True


class KeepAliveServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


def make_server(host: str, port: int, app, quiet: bool = False) -> KeepAliveServer:
    """Serve `app` on host:port (0: a free port) once `serve_forever()` runs."""
    server = KeepAliveServer((host, port), QuietKeepAliveHandler if quiet else KeepAliveHandler)
    server.set_app(app)
    return server
