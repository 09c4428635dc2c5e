"""``serve --workers N`` listens on N sockets of one port (``otp_service/workers.py``); the processes
themselves are tested in ``tests/scale/test_serve_config.py``."""

from __future__ import annotations

import socket

import pytest

from otp_service.workers import listening_sockets


def test_every_worker_gets_a_socket_of_its_own_on_the_same_port() -> None:
    sockets = listening_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in sockets}
        assert len(sockets) == 3 and len(ports) == 1 and 0 not in ports
        assert all(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for sock in sockets)
        assert all(sock.get_inheritable() for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_a_port_another_program_holds_is_refused_and_nothing_is_left_open() -> None:
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", other.getsockname()[1], 2)
    finally:
        other.close()
