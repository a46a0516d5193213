"""Serving a loopback HTTP server from a background thread, shared by every test server.

:class:`BackgroundServer` is the lifecycle the loopback OneRoster server, the loopback Buzz
server and the scripted hostile server have in common: bind at construction, serve in a
daemon thread on :meth:`start`, stop quickly (a short poll interval) and release the
socket on :meth:`stop`, and work as a context manager.
"""

from __future__ import annotations

import socketserver
import threading
from typing import Self

__all__ = ["BackgroundServer"]

# How often the serving loop checks for shutdown: short, so stop() is quick in a suite.
_POLL_INTERVAL = 0.05


class BackgroundServer:
    """Base class: runs ``self._httpd`` (bound by the subclass) in a background thread."""

    _httpd: socketserver.BaseServer
    _thread: threading.Thread | None = None
    _thread_name = "loopback-server"

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        address = self._httpd.server_address
        assert isinstance(address, tuple), "loopback servers listen on TCP"
        return int(address[1])

    def start(self) -> Self:
        """Serve in a background thread (a no-op when already serving); returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": _POLL_INTERVAL},
                name=f"{self._thread_name}-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
