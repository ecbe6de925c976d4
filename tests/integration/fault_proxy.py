"""A TCP fault proxy for chaos tests: it sits in front of a real server (the local docker-registry) and
misbehaves the way a hostile or broken registry does.

Modes (switchable while running; each new connection takes the mode current at accept):

- ``pass``: forwards both ways unchanged;
- ``drip``: forwards the request, then delivers the answer one byte every ``drip_interval`` seconds (the
  header first: a client with only an idle timeout never times out);
- ``drip-body``: the answer's header at once, then its body one byte at a time;
- ``status``: answers every request with HTTP ``status`` (429, 503, ...) and an empty body;
- ``stall``: accepts and reads the request, never answers;
- ``reset``: reads the request, then resets the connection (RST, not FIN).

Not a test module (no ``test_`` prefix): imported by the registry and webhook tests and by bench/.

Example::

    with FaultProxy(("127.0.0.1", registry_port), mode="drip") as proxy:
        collect_image_evidence(f"{proxy.host}/repo@sha256:…", timeout=2)   # DeadlineExceeded after 2 s
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from typing import Literal

Mode = Literal["pass", "drip", "drip-body", "stall", "reset", "status"]
START_TIMEOUT = 10.0


class FaultProxy:
    """The proxy on 127.0.0.1 (ephemeral port), served by an event loop in a background thread."""

    def __init__(
        self,
        upstream: tuple[str, int],
        mode: Mode = "pass",
        drip_interval: float = 1.0,
        status: int = 429,
    ) -> None:
        self.upstream = upstream
        self.mode: Mode = mode
        self.drip_interval = drip_interval
        self.status = status
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self.port = 0

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, as a registry host in image references."""
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> FaultProxy:
        """Listen and serve in the background; returns once the port is open."""
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise TimeoutError("fault proxy did not start")
        return self

    def stop(self) -> None:
        """Close the listener and every open connection."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._shutdown)
        self._thread.join(START_TIMEOUT)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        self._loop.call_later(0.05, self._loop.stop)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.accepted += 1
        mode = self.mode
        try:
            if mode == "stall":
                while await reader.read(65536):
                    pass
                await asyncio.Event().wait()  # the client closed its side; keep ours open
            elif mode == "status":
                while await reader.readuntil(b"\r\n\r\n"):
                    writer.write(
                        f"HTTP/1.1 {self.status} Fault\r\nContent-Length: 0\r\n\r\n".encode()
                    )
                    await writer.drain()
            elif mode == "reset":
                await reader.read(65536)
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            else:
                await self._forward(reader, writer, mode)
        except (OSError, asyncio.CancelledError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _forward(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mode: Mode
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)

        async def requests() -> None:
            while data := await reader.read(65536):
                up_writer.write(data)
                await up_writer.drain()
            up_writer.write_eof()

        async def answers() -> None:
            # drip-body: the first answer's header (up to its blank line) goes out at once.
            header: bytes | None = b""
            while data := await up_reader.read(65536):
                if mode == "drip-body" and header is not None:
                    header += data
                    end = header.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    writer.write(header[: end + 4])
                    data, header = header[end + 4 :], None
                if mode == "pass":
                    writer.write(data)
                    await writer.drain()
                    continue
                for i in range(len(data)):
                    writer.write(data[i : i + 1])
                    await writer.drain()
                    await asyncio.sleep(self.drip_interval)
            writer.write_eof()

        pump = asyncio.ensure_future(requests())
        try:
            await answers()
        finally:
            pump.cancel()
            up_writer.close()


__all__ = ["FaultProxy", "Mode"]
