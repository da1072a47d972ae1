"""What the dnsmasq driver writes: Neutron's formats, one file per port.

Pure functions from network-info dicts to file contents and to dnsmasq's
command line.  Formats, as Neutron's dnsmasq driver writes them:

- host (--dhcp-hostsdir):  `<mac>,host-10-0-0-5.<domain>,10.0.0.5`
  (`[fd00::5]` for IPv6), `,set:port-<id>` appended when the port has
  extra DHCP options, so its options (tagged `port-<id>`) apply to it alone;
- addn_hosts (--hostsdir): `10.0.0.5\thost-10-0-0-5.<domain> host-10-0-0-5`
  (FQDN first, so PTR answers carry it);
- opts (--dhcp-optsdir):   `tag:port-<id>,option:<name>,<value>` per port;
  `tag:subnet-<id>,option:router,<gw>` etc. in one file for the subnets,
  the tag being the one each --dhcp-range sets.

Every value goes through dnsmasq_values on its way in: a port with a value
that is not canonical or could break a line raises `Refused` (the driver
then does not serve it); subnets were sorted out by dnsmasq_subnets.
"""
from __future__ import annotations

import ipaddress
import logging
import subprocess
import time
from typing import Any, Iterable, Iterator

from kaon.agent.linux import dnsmasq_values as values
from kaon.agent.linux.dnsmasq_subnets import Plan
from kaon.constants import DEVICE_OWNER_DHCP
from kaon.wire import ExtraDhcpOpt, NetworkInfo, Port, Subnet

LOG = logging.getLogger(__name__)

# A IPv6 subnet whose addresses come from SLAAC gets no address from DHCP.
_NO_DHCP_ADDRESS = ('slaac', 'dhcpv6-stateless')
# option 249: Microsoft's pre-RFC 3442 classless static routes, which
# Windows clients ask for instead of 121.
_MS_CLASSLESS_ROUTES = '249'


# -- formats ------------------------------------------------------------------
def _hostname(ip: str) -> str:
    return 'host-' + ip.replace('.', '-').replace(':', '-')


def _literal(ip: str) -> str:
    """dnsmasq wants IPv6 addresses in brackets where a list could be
    mistaken for one address with colons."""
    return f'[{ip}]' if ':' in ip else ip


def _option(version: int, tag: str, name: str, *items: str,
            value: str | None = None) -> str:
    """Neutron's _format_option: numbers stay bare, names get option:.
    `items` are single fields; `value` (an extra DHCP option's) may be a
    comma-separated list."""
    name = values.opt_name(name)
    if not name.isdigit():
        name = ('option:' if version == 4 else 'option6:') + name
    return values.line((f'tag:{tag}', name) + items, tail=value)


def _allocations(port: Port, subnets: dict[str, Subnet]
                 ) -> Iterator[tuple[Subnet, str]]:
    """(subnet, ip) of the port's addresses on served subnets, each IP
    canonical, of the subnet's version and inside it."""
    for fixed in port.get('fixed_ips') or ():
        if not isinstance(fixed, dict) or \
                not isinstance(fixed.get('subnet_id'), str):
            raise values.Refused(f'fixed IP {fixed!r}: not well formed')
        subnet = subnets.get(fixed['subnet_id'])
        if subnet is not None:
            ip = values.ip(fixed.get('ip_address'), subnet['ip_version'])
            if ipaddress.ip_address(ip) not in \
                    ipaddress.ip_network(subnet['cidr']):
                raise values.Refused(f'IP address {ip!r}: outside '
                                     f"{subnet['cidr']}")
            yield subnet, ip


def _extra_opts(port: Port) -> list[ExtraDhcpOpt]:
    return [o for o in port.get('extra_dhcp_opts') or ()
            if o.get('opt_value') is not None]


def port_files(port: Port, subnets: dict[str, Subnet],
               domain: str) -> dict[str, str]:
    """The host, addn_hosts and opts file contents of one port.

    DHCP ports (ours and other agents') get DNS names but no host entry:
    they do not ask for DHCP, and their addresses must not be offered.

    :raises values.Refused: a value of the port cannot be written safely.
    """
    mac = values.mac(port.get('mac_address'))
    tag = 'port-' + values.uuid(port.get('id'), 'port id')
    extra = _extra_opts(port)
    suffix = (f'set:{tag}',) if extra else ()
    dhcp_port = port.get('device_owner') == DEVICE_OWNER_DHCP
    host, addn, versions = [], [], set()
    for subnet, ip in _allocations(port, subnets):
        name = _hostname(ip)
        fqdn = f'{name}.{values.domain(domain)}' if domain else name
        addn.append(values.line((ip, f'{fqdn} {name}'), sep='\t'))
        versions.add(subnet['ip_version'])
        if dhcp_port or (subnet['ip_version'] == 6 and subnet.get(
                'ipv6_address_mode') in _NO_DHCP_ADDRESS):
            continue
        host.append(values.line((mac, fqdn, _literal(ip)) + suffix))
    if extra and not host and versions and not dhcp_port:
        host.append(values.line((mac, f'set:{tag}')))   # options, no address
    opts = [_option(o.get('ip_version', 4), tag, o.get('opt_name'),
                    value=o['opt_value'])
            for o in extra if o.get('ip_version', 4) in versions]
    return {'host': ''.join(host), 'addn_hosts': ''.join(addn),
            'opts': ''.join(opts)}


def _entries(content: str) -> Iterator[list[str]]:
    """The fields of each line of a host file read back from disk, which
    may be anything: only lines whose MAC is well formed count."""
    for line in content.splitlines():
        fields = line.strip().split(',')
        try:
            values.mac(fields[0])
        except values.Refused:
            continue
        yield fields


def host_pairs(content: str) -> set[tuple[str, str]]:
    """(mac, ip) of each well-formed address entry of a host file."""
    pairs = set()
    for fields in _entries(content):
        for field in fields[1:]:
            try:
                pairs.add((fields[0], values.ip(field.strip('[]'))))
            except values.Refused:
                continue
    return pairs


def host_macs(content: str) -> set[str]:
    return {fields[0] for fields in _entries(content)}


def lease_pairs(network: NetworkInfo, subnets: dict[str, Subnet]
                ) -> list[tuple[str, str]]:
    """(mac, ip) of every IPv4 address dnsmasq serves (for the initial
    lease file; IPv6 leases are keyed by the client's DUID and IAID, which
    the server does not know).  Ports refused elsewhere are left out."""
    pairs = []
    for port in network.get('ports', ()):
        if port.get('device_owner') == DEVICE_OWNER_DHCP:
            continue
        try:
            mac = values.mac(port.get('mac_address'))
            pairs += [(mac, ip) for subnet, ip in _allocations(port, subnets)
                      if subnet['ip_version'] == 4]
        except values.Refused:
            continue
    return pairs


def init_leases(network: NetworkInfo, subnets: dict[str, Subnet],
                duration: int) -> bytes:
    """dnsmasq's lease file before its first start: a lease per port, so
    that it ACKs the renewals of clients holding leases from an earlier
    server (see Dnsmasq._write_init_leases)."""
    # dnsmasq writes 0 as the expiry of an infinite lease.
    expiry = 0 if duration == -1 else int(time.time()) + duration
    return ''.join(values.line((str(expiry), mac, ip, '*', '*'), sep=' ')
                   for mac, ip in lease_pairs(network, subnets)).encode()


def _dhcp_port_ips(network: NetworkInfo, subnet: Subnet) -> list[str]:
    ips = []
    for port in network.get('ports', ()):
        if port.get('device_owner') != DEVICE_OWNER_DHCP:
            continue
        try:
            ips += [ip for _, ip in _allocations(port, {subnet['id']: subnet})]
        except values.Refused:
            continue
    return ips


def _dns_option(network: NetworkInfo, subnet: Subnet, tag: str
                ) -> list[str]:
    """Neutron's choice: the subnet's dns_nameservers; ['0.0.0.0'] (or
    ['::']) means "announce none".  Without any, dnsmasq announces its own
    address (the default); only with several DHCP agents on the subnet are
    all their addresses listed, so clients can fail over."""
    version = subnet['ip_version']
    servers = list(subnet.get('dns_nameservers') or ())
    if servers in (['0.0.0.0'], ['::']):
        return [_option(version, tag, 'dns-server')]
    if not servers:
        servers = _dhcp_port_ips(network, subnet)
        if len(servers) < 2:
            return []
    return [_option(version, tag, 'dns-server',
                    *(_literal(s) if version == 6 else s for s in servers))]


def _route_options(plan: Plan, subnet: Subnet, tag: str) -> list[str]:
    """Router and classless routes, as Neutron sends them.

    A 0.0.0.0/0 host route replaces the gateway.  Other IPv4 subnets of
    the network are on-link routes (`cidr,0.0.0.0`).  Classless routes
    make clients ignore the router option (RFC 3442), so once there are
    any, the default route is added to them.  Without a gateway the router
    option is sent empty: otherwise dnsmasq would announce itself.
    """
    gateway = subnet.get('gateway_ip')
    routes = []
    for route in subnet.get('host_routes') or ():
        if route['destination'] == '0.0.0.0/0':
            gateway = route['nexthop']
        else:
            routes += [route['destination'], route['nexthop']]
    for other in plan.onlink:
        if other != subnet['cidr']:
            routes[:0] = [other, '0.0.0.0']
    options = []
    if routes:
        if gateway:
            routes += ['0.0.0.0/0', gateway]
        options.append(_option(4, tag, 'classless-static-route', *routes))
        options.append(_option(4, tag, _MS_CLASSLESS_ROUTES, *routes))
    options.append(_option(4, tag, 'router', *([gateway] if gateway else [])))
    return options


def subnet_opts(network: NetworkInfo, plan: Plan, domain: str) -> str:
    """The subnets' options; the plan's served subnets were checked
    (dnsmasq_subnets), and each line is checked again as it is made."""
    lines = []
    for subnet_id, subnet in sorted(plan.served.items()):
        tag = f'subnet-{subnet_id}'
        lines += _dns_option(network, subnet, tag)
        if subnet['ip_version'] == 4:
            lines += _route_options(plan, subnet, tag)
        elif domain:
            lines.append(_option(6, tag, 'domain-search',
                                 values.domain(domain)))
    return ''.join(lines)


# -- command line -------------------------------------------------------------
def _dhcp_range(subnet: Subnet, lease: str) -> str | None:
    net = ipaddress.ip_network(subnet['cidr'])
    tag = f"set:subnet-{subnet['id']}"
    if subnet['ip_version'] == 4:
        return values.arg('dhcp-range', tag, str(net.network_address),
                          'static', str(net.netmask), lease)
    if subnet.get('ipv6_address_mode') == 'slaac':
        return None
    return values.arg('dhcp-range', tag, str(net.network_address), 'static',
                      str(net.prefixlen), lease)


def command_line(conf: Any, plan: Plan, conf_dir: str, pid_file: str,
                 interface: str, run_as: tuple[str, str]) -> list[str]:
    """dnsmasq's argv for one network: Neutron's, with these choices.

    --keep-in-foreground: dnsmasq stays the agent's child, to be reaped
    (see process.py).  --bind-dynamic (Neutron's today) rather than
    --bind-interfaces: it follows address changes of the interface and does
    not fail on a still-tentative IPv6 link-local address.
    --dhcp-authoritative: dnsmasq is the only server of the network (or one
    of HA peers with the same files), so it answers a client whose lease it
    does not know (NAK for a wrong address, e.g. after an IP change)
    instead of staying silent until the client gives up.  DNS stays on
    (VMs resolve each other's host-* names) but gets no upstream unless
    dnsmasq_dns_servers is set; --strict-order only matters then.
    --conf-file=/dev/null keeps any system dnsmasq.conf out.  The lease
    maximum counts whole CIDRs, not pools: fixed IPs may lie outside them.
    --user/--group: who dnsmasq runs as once started (see dnsmasq_access);
    `run_as` is (user, group).  Only the plan's served subnets get a range.
    """
    duration = values.number(conf.dhcp_lease_duration, -1, 2 ** 31 - 1,
                             'dhcp_lease_duration')
    lease = 'infinite' if duration == -1 else f'{duration}s'
    cmd = ['dnsmasq', '--no-hosts', '--no-resolv', '--keep-in-foreground',
           '--bind-dynamic', values.arg('interface', values.ifname(interface)),
           '--except-interface=lo', values.arg('pid-file', pid_file),
           values.arg('dhcp-hostsdir', f'{conf_dir}/host'),
           values.arg('hostsdir', f'{conf_dir}/addn_hosts'),
           values.arg('dhcp-optsdir', f'{conf_dir}/opts'),
           values.arg('dhcp-leasefile', f'{conf_dir}/leases'),
           '--dhcp-authoritative',
           values.arg('user', values.posix_name(run_as[0])),
           values.arg('group', values.posix_name(run_as[1]))]
    possible = 0
    for _, subnet in sorted(plan.served.items()):
        arg = _dhcp_range(subnet, lease)
        if arg:
            cmd.append(arg)
            possible += ipaddress.ip_network(subnet['cidr']).num_addresses
    if plan.mtu:
        cmd.append(values.arg('dhcp-option-force', 'option:mtu',
                              str(plan.mtu)))
    cmd += [f'--dhcp-lease-max={min(possible, conf.dnsmasq_lease_max)}',
            '--conf-file=/dev/null']
    if conf.dnsmasq_dns_servers:
        cmd.append('--strict-order')
        cmd += [values.arg('server', values.ip(s))
                for s in conf.dnsmasq_dns_servers]
    if conf.dns_domain:
        cmd.append(values.arg('domain', values.domain(conf.dns_domain)))
    return cmd


def dhcp_release(namespace: str, interface: str | None,
                 pairs: Iterable[tuple[str, str]]) -> None:
    """Drop the leases of these (mac, ip) in the namespace's dnsmasq now.

    dhcp_release sends dnsmasq a DHCPRELEASE as if from the client, so the
    address is free for another MAC at once instead of at lease expiry.
    One `ip netns exec` runs them all (xargs), not one per lease.  IPv6
    (dhcp_release6) would need the client's DUID and IAID; those leases
    are left to expire.
    """
    if not interface:
        return
    lines = [values.line((values.ifname(interface), values.ip(ip, 4),
                          values.mac(mac)), sep=' ')
             for mac, ip in sorted(pairs) if ':' not in ip]
    if not lines:
        return
    cmd = ['ip', 'netns', 'exec', namespace, 'xargs', '-r', '-n', '3',
           'dhcp_release']
    try:
        result = subprocess.run(cmd, input=''.join(lines),
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        LOG.warning('dhcp_release in %s failed: %s', namespace, err)
        return
    if result.returncode != 0:
        LOG.warning('dhcp_release in %s: rc=%s %s', namespace,
                    result.returncode, result.stderr.strip())
