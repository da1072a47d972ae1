"""The one iptables rule a DHCP namespace needs: CHECKSUM --checksum-fill.

Why: with virtio checksum offload, a DHCP reply that leaves dnsmasq's veth
and reaches a VM through a tap may still carry a partial UDP checksum (the
kernel expects the NIC to finish it).  Old dhclient versions drop such
packets.  The CHECKSUM target computes the checksum in software for UDP to
port 68 (the client port), which is all that matters here.

There is no netlink API for iptables rules, so this runs the iptables
binary inside the namespace (`ip netns exec`).  Debian 12's default
`iptables` is the nf_tables backend; it accepts the CHECKSUM target through
the xtables compatibility expression (`xt target CHECKSUM` in
`nft list ruleset`).  iptables-legacy is tried if it does not, and if
neither works the agent logs one warning and carries on: DHCP works without
the rule for every client that is not both old and behind checksum offload.
"""
from __future__ import annotations

import logging
import subprocess
import threading

LOG = logging.getLogger(__name__)

RULE = ['POSTROUTING', '-p', 'udp', '-m', 'udp', '--dport', '68',
        '-j', 'CHECKSUM', '--checksum-fill']
BINARIES = ('iptables', 'iptables-legacy')

_lock = threading.Lock()
_working: str | None = None      # the first binary that worked
_warned = False


def _run(namespace: str, binary: str, action: str) -> bool:
    # -w: wait for the xtables lock instead of failing when another
    # process (another namespace's setup) holds it.
    cmd = ['ip', 'netns', 'exec', namespace, binary, '-w', '-t', 'mangle',
           action] + RULE
    try:
        result = subprocess.run(cmd, capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        LOG.debug('%s failed: %s', ' '.join(cmd), err)
        return False
    if result.returncode != 0:
        LOG.debug('%s: rc=%s %s', ' '.join(cmd), result.returncode,
                  result.stderr.strip())
    return result.returncode == 0


def _ensure_with(namespace: str, binary: str) -> bool:
    """-C (check) first so that a second call adds no duplicate rule."""
    return _run(namespace, binary, '-C') or _run(namespace, binary, '-A')


def ensure_checksum_fill(namespace: str) -> bool:
    """Add the rule in `namespace` unless present; False if impossible."""
    global _working, _warned
    candidates = [_working] if _working else list(BINARIES)
    for binary in candidates:
        if _ensure_with(namespace, binary):
            with _lock:
                _working = binary
            return True
    with _lock:
        if not _warned:
            _warned = True
            LOG.warning('Cannot add the iptables CHECKSUM --checksum-fill '
                        'rule (tried %s); DHCP replies to VMs with virtio '
                        'checksum offload may carry partial checksums.',
                        ', '.join(candidates))
    return False


def has_checksum_fill(namespace: str) -> bool:
    """Is the rule there (in whichever backend works)?"""
    return any(_run(namespace, b, '-C') for b in BINARIES)
