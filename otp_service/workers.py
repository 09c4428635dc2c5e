"""``serve --workers N``: uvicorn's supervisor, with a listening socket of its own for each worker.

uvicorn's workers share one listening socket. When connections arrive together (a backend's pool
opening, a load balancer reconnecting, a load test starting), the first worker to wake accepts most
of them and keeps them for as long as they are kept alive: in 5 of 11 benchmark runs one worker got
32 of 32 connections, the other core idled (the machine 70 % busy) and a check cost 20-40 % more CPU
(issue 14). With ``SO_REUSEPORT`` every worker listens on a socket of its own on the same port and the
kernel spreads new connections over them by their addresses.

Each socket stays open in the supervisor, so a worker that dies leaves its connections queued, not
refused, until its replacement (given the same socket) accepts them. Only processes of the same user
can join the port (Linux's rule for ``SO_REUSEPORT``).
"""

from __future__ import annotations

import socket

from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess, Process

__all__ = ("Supervisor", "listening_sockets")


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets bound to ``host:port`` with ``SO_REUSEPORT`` (port 0: the first one's port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Supervisor(Multiprocess):
    """uvicorn's ``Multiprocess``, where worker ``i`` (and each replacement of it) serves socket ``i``.

    The three methods that start workers are uvicorn's own (0.x ``supervisors/multiprocess.py``), each
    starting a worker with its one socket instead of every worker with the shared one.
    """

    def _worker(self, index: int) -> Process:
        return Process(self.config, [self.sockets[index]])

    def init_processes(self) -> None:
        for index in range(self.processes_num):
            process = self._worker(index)
            process.start()
            self.processes.append(process)

    def restart_all(self) -> None:
        for index, old_process in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new_process = self._worker(index)
            new_process.start()
            if not new_process.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new_process.kill()
                new_process.join()
                return
            old_process.terminate()
            old_process.join()
            self.processes[index] = new_process

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # broken configuration: every restart would fail
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            replacement = self._worker(index)
            replacement.start()
            self.processes[index] = replacement
