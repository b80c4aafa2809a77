"""Where each process group of the chaos topology lives. Where this machine lets us (root and
`ip netns`), every group gets a network namespace of its own, joined to the suite's harness (the
load, the fake Midtrans, the merchant's endpoint) by a veth pair on one bridge: web, worker,
PostgreSQL and Redis talk over a network as on separate hosts, and taking one veth link down is
a partition. Elsewhere every group is on loopback, and the report says so."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

IP = shutil.which("ip")


def _ip(*args: str) -> None:
    subprocess.run([IP, *args], check=True, capture_output=True, timeout=20)


@dataclass(frozen=True)
class Host:
    """One process group's place: its address, and how to run a command there."""

    name: str
    address: str
    namespace: str | None = None
    link: str | None = None  # the harness side of its veth pair

    def command(self, argv: list[str]) -> list[str]:
        if self.namespace is None:
            return argv
        return [IP, "netns", "exec", self.namespace, *argv]


class Network:
    def __init__(self, names: list[str]) -> None:
        self.names = names
        # Unique per run, so a second suite on the same machine has names of its own.
        self.tag = f"{os.getpid() % 100_000}"
        self.subnet = f"10.231.{os.getpid() % 250}"
        self.bridge = f"lcb{self.tag}"
        self.hosts: dict[str, Host] = {}
        self.isolated = False
        self.why_loopback = ""

    @property
    def harness(self) -> str:
        """The address the harness's own servers listen on."""
        return f"{self.subnet}.1" if self.isolated else "127.0.0.1"

    def build(self) -> None:
        if IP is None or os.geteuid() != 0:
            self._loopback("needs root and iproute2's `ip` (network namespaces)")
            return
        try:
            self._namespaces()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            stderr = getattr(error, "stderr", b"") or b""
            self.tear_down()
            self._loopback(f"`ip netns` refused: {stderr.decode(errors='replace').strip()}")

    def _loopback(self, why: str) -> None:
        self.isolated = False
        self.why_loopback = why
        self.hosts = {name: Host(name, "127.0.0.1") for name in self.names}

    def _namespaces(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.subnet}.1/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for number, name in enumerate(self.names, start=2):
            namespace, link = f"lc{self.tag}-{name}", f"lc{self.tag}{name[:3]}"
            _ip("netns", "add", namespace)
            self.hosts[name] = Host(name, f"{self.subnet}.{number}", namespace, link)
            _ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            _ip("link", "set", link, "master", self.bridge, "up")
            _ip("-n", namespace, "addr", "add", f"{self.subnet}.{number}/24", "dev", "eth0")
            _ip("-n", namespace, "link", "set", "eth0", "up")
            _ip("-n", namespace, "link", "set", "lo", "up")
        self.isolated = True

    def partition(self, name: str) -> None:
        _ip("link", "set", self.hosts[name].link, "down")

    def heal(self, name: str) -> None:
        _ip("link", "set", self.hosts[name].link, "up")

    def tear_down(self) -> None:
        """Every namespace and link this run made (each veth goes with its namespace)."""
        if IP is None:
            return
        for name in self.names:
            subprocess.run(
                [IP, "netns", "del", f"lc{self.tag}-{name}"], capture_output=True, check=False
            )
        subprocess.run([IP, "link", "del", self.bridge], capture_output=True, check=False)
        self.hosts = {}

    def describe(self) -> str:
        if self.isolated:
            return (
                f"network namespaces, one per process group, on bridge {self.bridge} "
                f"({self.subnet}.0/24): "
                + ", ".join(f"{h.name} {h.address}" for h in self.hosts.values())
                + f"; harness {self.harness}"
            )
        return f"loopback (127.0.0.1) for every process: {self.why_loopback}"
