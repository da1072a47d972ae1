"""The L2 agent's options, with the names and sections of Neutron's
linuxbridge agent (linuxbridge_agent.ini), so its file carries over.

`[vxlan] udp_dstport` is set explicitly: Linux's own default is 8472.
Without `local_ip` the agent has no tunnels (tunnel_types []): only
flat, vlan and local networks are wired.
"""
from __future__ import annotations

from oslo_config import cfg

vxlan_opts: list[cfg.Opt] = [
    cfg.BoolOpt('enable_vxlan', default=True,
                help='Wire VXLAN networks (needs local_ip).'),
    cfg.IPOpt('local_ip', version=4,
              help="This host's underlay (tunnel endpoint) address; "
                   'without it no VXLAN network is wired here.'),
    cfg.PortOpt('udp_dstport', default=4789,
                help='UDP port of the VXLAN devices (IANA 4789; Linux '
                     'would use 8472).'),
    cfg.BoolOpt('l2_population', default=True,
                help='Forwarding entries come from the server '
                     '(l2population): no learning, no multicast group.'),
    cfg.BoolOpt('arp_responder', default=False,
                help='The VXLAN device answers ARP for remote ports from '
                     "l2population's entries."),
    cfg.IntOpt('ttl', min=1, max=255,
               help='TTL of the VXLAN packets (unset: the kernel default).'),
    cfg.IntOpt('tos', min=0, max=255,
               help='TOS of the VXLAN packets (unset: inherit).'),
]

linux_bridge_opts: list[cfg.Opt] = [
    cfg.DictOpt('physical_interface_mappings', default={},
                help='physnet:interface pairs for flat and VLAN networks '
                     '(a VLAN network gets <interface>.<vlan id>).'),
]

agent_opts: list[cfg.Opt] = [
    cfg.FloatOpt('polling_interval', default=2.0, min=0.1,
                 help='Seconds between full rescans of the taps (new taps '
                      'are seen at once from netlink events; the rescan '
                      'is the safety net and retries what failed).'),
]


def register(conf: cfg.ConfigOpts) -> None:
    """Register the options (idempotent)."""
    conf.register_opts(vxlan_opts, group='vxlan')
    conf.register_opts(linux_bridge_opts, group='linux_bridge')
    conf.register_opts(agent_opts, group='agent')


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [('vxlan', vxlan_opts), ('linux_bridge', linux_bridge_opts),
            ('agent', agent_opts)]
