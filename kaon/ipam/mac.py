"""MAC addresses: generated from base_mac as Neutron does, and normalised."""
from __future__ import annotations

import random

from kaon.ipam.addresses import canonical_mac

_rng = random.SystemRandom()


def random_mac(base_mac: str) -> str:
    """Keep base_mac's non-zero leading octets, randomise the rest.

    Neutron's rule: with the default fa:16:3e:00:00:00 the OUI is kept and
    the last three octets are random; a base with a fourth octet set keeps
    four octets.
    """
    base = [int(part, 16) for part in base_mac.split(':')]
    fixed = 4 if base[3] else 3
    octets = base[:fixed] + [_rng.randrange(256) for _ in range(6 - fixed)]
    return ':'.join(f'{octet:02x}' for octet in octets)


def normalize(mac: str) -> str:
    """Lower-case colon form of any MAC spelling the API accepts; raises
    BadAddress (a ValueError) for anything else."""
    return canonical_mac(mac)
