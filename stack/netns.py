"""Network namespaces for the local Kafka cluster's nodes (KAFKA_NETNS=1), so that faults
can cut links, not only kill processes: each node lives in a namespace of its own with an
address on the stack's /24 (stack/kafka_nodes.py: `subnet`, `host`), joined to the host by
a veth pair on one bridge. PostgreSQL, the harness and each service's first replica stay in
the host's namespace and reach the nodes through the bridge (source address: the bridge's,
.1); a second replica of each service shares the last node's namespace, as it would share
a machine (KafkaLayout.service_machine), and reaches PostgreSQL on the bridge address.

A cut is iptables in the node's namespace (INPUT and OUTPUT), so it can isolate a node
from one peer, from everyone, in one direction only, or drop a share of its packets
(`statistic`); `heal` flushes it. This kernel has no netem: delay is left out.
"""

import subprocess

from stack.kafka_nodes import KafkaLayout


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), check=check, capture_output=True, text=True)


def _in(layout: KafkaLayout, node: int, *argv: str) -> None:
    _run("ip", "netns", "exec", layout.namespace(node), *argv)


def bridge(layout: KafkaLayout) -> str:
    return f"{layout.namespace(0)[:-2]}br"  # e.g. xj219br


def ensure_network(layout: KafkaLayout) -> None:
    """The bridge, one namespace per node with its address, no cut left over (idempotent)."""
    br = bridge(layout)
    if _run("ip", "link", "show", br, check=False).returncode != 0:
        _run("ip", "link", "add", br, "type", "bridge")
        _run("ip", "addr", "add", f"{layout.subnet}.1/24", "dev", br)
    _run("ip", "link", "set", br, "up")
    present = _run("ip", "netns", "list").stdout
    for node in layout.node_ids:
        ns, veth = layout.namespace(node), f"{layout.namespace(node)}v"
        if ns not in present.split():
            _run("ip", "netns", "add", ns)
            _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _run("ip", "link", "set", veth, "master", br)
            _run("ip", "link", "set", veth, "up")
            _in(layout, node, "ip", "addr", "add", f"{layout.host(node)}/24", "dev", "eth0")
            _in(layout, node, "ip", "link", "set", "eth0", "up")
            _in(layout, node, "ip", "link", "set", "lo", "up")
        heal(layout, node)


def wrap(layout: KafkaLayout, node: int, argv: list[str]) -> list[str]:
    """`argv` run inside the node's namespace (the same pid: `ip netns exec` execs it)."""
    return ["ip", "netns", "exec", layout.namespace(node), *argv] if layout.netns else argv


def heal(layout: KafkaLayout, node: int) -> None:
    _in(layout, node, "iptables", "-F")


def cut(layout: KafkaLayout, node: int, peer: int, *, both_ways: bool = True) -> None:
    """`node`'s packets to `peer` dropped (and, both ways, `peer`'s to `node`)."""
    _in(layout, node, "iptables", "-A", "OUTPUT", "-d", layout.host(peer), "-j", "DROP")
    if both_ways:
        _in(layout, node, "iptables", "-A", "INPUT", "-s", layout.host(peer), "-j", "DROP")


def cut_server(layout: KafkaLayout, node: int, address: str, port: int) -> None:
    """The node's machine cut from one TCP server outside it (PostgreSQL on the bridge
    address), both ways; its links to everything else stay."""
    _in(layout, node, "iptables", "-A", "OUTPUT", "-d", address, "-p", "tcp", "--dport", str(port), "-j", "DROP")
    _in(layout, node, "iptables", "-A", "INPUT", "-s", address, "-p", "tcp", "--sport", str(port), "-j", "DROP")


def isolate(layout: KafkaLayout, node: int) -> None:
    """Nothing in or out of the node's namespace but its own loopback: peers and clients."""
    _in(layout, node, "iptables", "-A", "INPUT", "-i", "eth0", "-j", "DROP")
    _in(layout, node, "iptables", "-A", "OUTPUT", "-o", "eth0", "-j", "DROP")


def lose(layout: KafkaLayout, node: int, share: float) -> None:
    """Drop `share` of the node's packets, both ways, at random."""
    for chain, iface in (("INPUT", "-i"), ("OUTPUT", "-o")):
        _in(layout, node, "iptables", "-A", chain, iface, "eth0", "-m", "statistic", "--mode", "random",
            "--probability", f"{share:.2f}", "-j", "DROP")  # fmt: skip


def remove_network(layout: KafkaLayout) -> None:
    for node in layout.node_ids:
        _run("ip", "netns", "del", layout.namespace(node), check=False)
    _run("ip", "link", "del", bridge(layout), check=False)
