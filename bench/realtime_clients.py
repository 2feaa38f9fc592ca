"""The processes of bench/realtime.py: asyncio `websockets` spectators, and the reference server.

Each spectator process opens its share of the sockets (from its own loopback source
address, so 10,000 sockets never run out of ports), records when each message arrives and
which sequence marker it carries, and answers the driver's commands over a pipe. The
reference is a minimal pure-asyncio `websockets` server that broadcasts the bytes it is given
to every connected client (`websockets.asyncio.server.broadcast`), timed.
Clocks: time.monotonic() in every process (CLOCK_MONOTONIC is one clock for the machine).
"""

from __future__ import annotations

import asyncio
import re
import resource
import time
from dataclasses import dataclass, field

MARKER = re.compile(rb'<template data-live-seq="(\d+)">')
HANDSHAKES = 100  # handshakes in flight per spectator process


def raise_open_files() -> int:
    """Raise this process's open-files limit to its hard limit (sockets are files)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@dataclass
class Spectator:
    arrivals: dict[int, float] = field(default_factory=dict)  # seq -> first arrival
    first: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    last: bytes = b""


class Spectators:
    """One process's sockets."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.sockets: list = []
        self.spectators: list[Spectator] = []
        self.tasks: list[asyncio.Task] = []

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            command, *args = await loop.run_in_executor(None, self.conn.recv)
            if command == "quit":
                await self.close()
                self.conn.send(None)
                return
            self.conn.send(await getattr(self, command)(*args))

    async def connect(self, url: str, origin: str, count: int, local_ip: str,
                      timeout: float) -> dict:
        """Open `count` sockets; done when each has its first message (it is subscribed)."""
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(HANDSHAKES)
        errors: list[str] = []
        started = time.monotonic()

        async def one() -> None:
            async with gate:
                try:
                    ws = await connect(url, origin=origin, compression=None, proxy=None,
                                       ping_interval=None, max_size=None, open_timeout=timeout,
                                       close_timeout=2, local_addr=(local_ip, 0))
                except Exception as error:  # noqa: BLE001  (counted and shown)
                    errors.append(f"{type(error).__name__}: {error}")
                    return
                spectator = Spectator()
                self.sockets.append(ws)
                self.spectators.append(spectator)
                self.tasks.append(asyncio.create_task(self._read(ws, spectator)))
                try:
                    await asyncio.wait_for(spectator.first.wait(), timeout)
                except TimeoutError:
                    errors.append("no first message")

        await asyncio.gather(*(one() for _ in range(count)))
        return {"connected": sum(1 for s in self.spectators if s.first.is_set()),
                "errors": len(errors), "error_sample": errors[:3],
                "seconds": time.monotonic() - started}

    async def _read(self, ws, spectator: Spectator) -> None:
        try:
            while True:
                data = await ws.recv(decode=False)
                now = time.monotonic()
                found = MARKER.match(data)
                if found:
                    spectator.arrivals.setdefault(int(found.group(1)), now)
                    spectator.last = data
                spectator.first.set()
        except Exception:  # noqa: BLE001  (the socket closed: counted by `collect`)
            spectator.closed = True

    async def count(self, seq: int) -> int:
        """How many sockets have received `seq`: a message marked `seq` or later (a marker
        says everything up to it was sent; the hub sends one transaction's events in one)."""
        return sum(1 for s in self.spectators if _arrival(s, seq) is not None)

    async def collect(self, seqs: list[int]) -> dict:
        """Per wanted seq, every arrival time and the number of sockets that never got it."""
        arrivals = {q: [t for s in self.spectators if (t := _arrival(s, q)) is not None]
                    for q in seqs}
        return {"arrivals": arrivals,
                "missing": {q: len(self.spectators) - len(arrivals[q]) for q in seqs},
                "closed": sum(1 for s in self.spectators if s.closed),
                "sample": self.spectators[0].last.decode() if self.spectators else ""}

    async def close(self) -> int:
        """Close every socket (as a browser tab does) and forget them."""
        sockets, tasks = self.sockets, self.tasks
        self.sockets, self.spectators, self.tasks = [], [], []
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(sockets)


def spectator_process(conn) -> None:
    """Entry point of a spectator process."""
    raise_open_files()
    asyncio.run(Spectators(conn).serve())


def reference_process(conn) -> None:
    """Entry point of the reference server: port first, then broadcasts on command."""
    raise_open_files()
    asyncio.run(_reference(conn))


async def _reference(conn) -> None:
    from websockets.asyncio.server import broadcast, serve

    clients: set = set()

    async def handler(ws) -> None:
        clients.add(ws)
        try:
            await ws.send('<template data-live-seq="0"></template>')
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    loop = asyncio.get_running_loop()
    async with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None,
                     max_size=2 ** 16, backlog=4096) as server:
        conn.send(server.sockets[0].getsockname()[1])
        while True:
            command, *args = await loop.run_in_executor(None, conn.recv)
            if command == "quit":
                conn.send(None)
                return
            if command == "broadcast":
                started = time.monotonic()
                broadcast(clients, args[0])  # encodes once, writes to every transport
                # Done when every transport has handed its bytes to the kernel (as the
                # server's fan-out ends with its last send).
                while any(ws.transport.get_write_buffer_size() for ws in clients):
                    await asyncio.sleep(0)
                conn.send((started, time.monotonic(), len(clients)))
            elif command == "clients":
                conn.send(len(clients))


def _arrival(spectator: Spectator, seq: int) -> float | None:
    """When `spectator` first received a marker of `seq` or later; None if it never did."""
    times = [t for q, t in spectator.arrivals.items() if q >= seq]
    return min(times) if times else None
