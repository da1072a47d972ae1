"""What a DHCP driver may raise to the agent.

The agent knows networks and ports as the server describes them
(kaon.wire.NetworkInfo, from `get_network_info`); a driver
(kaon.wire.DhcpDriver) turns one network into a running DHCP server.
dnsmasq is today's backend (kaon.agent.linux.dnsmasq); another DHCP server
is another entry point of kaon.dhcp_drivers, the agent unchanged.
"""


class DhcpServeError(Exception):
    """The DHCP server for a network cannot serve what it was given; str()
    says why (for the agent's log and its reported state)."""
