"""What the dnsmasq driver writes: Neutron's formats, one file per port.

Pure functions from network-info dicts to file contents and to dnsmasq's
command line, plus the small file helpers (atomic writes dnsmasq never sees
half-done).  Formats, as Neutron's dnsmasq driver writes them:

- host (--dhcp-hostsdir):  `<mac>,host-10-0-0-5.<domain>,10.0.0.5`
  (`[fd00::5]` for IPv6), `,set:port-<id>` appended when the port has
  extra DHCP options, so its options (tagged `port-<id>`) apply to it alone;
- addn_hosts (--hostsdir): `10.0.0.5\thost-10-0-0-5.<domain> host-10-0-0-5`
  (FQDN first, so PTR answers carry it);
- opts (--dhcp-optsdir):   `tag:port-<id>,option:<name>,<value>` per port;
  `tag:subnet-<id>,option:router,<gw>` etc. in one file for the subnets,
  the tag being the one each --dhcp-range sets.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import re
import subprocess
from typing import Any, Iterable, Iterator

LOG = logging.getLogger(__name__)

DEVICE_OWNER_DHCP = 'network:dhcp'
# A IPv6 subnet whose addresses come from SLAAC gets no address from DHCP.
_NO_DHCP_ADDRESS = ('slaac', 'dhcpv6-stateless')
# option 249: Microsoft's pre-RFC 3442 classless static routes, which
# Windows clients ask for instead of 121.
_MS_CLASSLESS_ROUTES = '249'
_UUID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                   r'[0-9a-f]{12}$')


# -- files --------------------------------------------------------------------
def is_uuid(name: str) -> bool:
    return bool(_UUID.match(name))


def ensure_dir(path: str) -> None:
    """dnsmasq drops root for user nobody and reads these files later (on
    inotify, on SIGHUP), so they must be readable by everyone."""
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)


def read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ''


def write(path: str, content: str) -> None:
    """Atomically: a temporary file, then rename over the target.

    dnsmasq's inotify handler ignores names starting with a dot, and the
    rename is one IN_MOVED_TO event, so dnsmasq never reads a half-written
    file.
    """
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f'.{name}.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.fchmod(fd, 0o644)        # whatever the umask
        os.write(fd, content.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def sync(path: str, content: str) -> str | None:
    """Write `content` unless the file already holds it.  Returns the old
    content, None if there was no file (an empty content creates none)."""
    try:
        with open(path) as f:
            before: str | None = f.read()
    except FileNotFoundError:
        before = None
    if before != content and (before is not None or content):
        write(path, content)
    return before


def remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def port_ids(directory: str) -> set[str]:
    try:
        return {n for n in os.listdir(directory) if is_uuid(n)}
    except FileNotFoundError:
        return set()


# -- formats ------------------------------------------------------------------
def dhcp_subnets(network: dict) -> dict[str, dict]:
    return {s['id']: s for s in network.get('subnets', ())
            if s.get('enable_dhcp', True)}


def _hostname(ip: str) -> str:
    return 'host-' + ip.replace('.', '-').replace(':', '-')


def _literal(ip: str) -> str:
    """dnsmasq wants IPv6 addresses in brackets where a list could be
    mistaken for one address with colons."""
    return f'[{ip}]' if ':' in ip else ip


def _option(version: int, tag: str, name: str, *values: str) -> str:
    """Neutron's _format_option: numbers stay bare, names get option:."""
    if not name.isdigit():
        name = ('option:' if version == 4 else 'option6:') + name
    return ','.join((f'tag:{tag}', name) + values)


def _allocations(port: dict, subnets: dict[str, dict]
                 ) -> Iterator[tuple[dict, str]]:
    for fixed in port.get('fixed_ips', ()):
        subnet = subnets.get(fixed['subnet_id'])
        if subnet is not None:
            yield subnet, fixed['ip_address']


def _extra_opts(port: dict) -> list[dict]:
    return [o for o in port.get('extra_dhcp_opts') or ()
            if o.get('opt_value') is not None]


def port_files(port: dict, subnets: dict[str, dict],
               domain: str) -> dict[str, str]:
    """The host, addn_hosts and opts file contents of one port.

    DHCP ports (ours and other agents') get DNS names but no host entry:
    they do not ask for DHCP, and their addresses must not be offered.
    """
    mac, tag = port['mac_address'], f"port-{port['id']}"
    extra = _extra_opts(port)
    suffix = f',set:{tag}' if extra else ''
    dhcp_port = port.get('device_owner') == DEVICE_OWNER_DHCP
    host, addn, versions = [], [], set()
    for subnet, ip in _allocations(port, subnets):
        name = _hostname(ip)
        fqdn = f'{name}.{domain}' if domain else name
        addn.append(f'{ip}\t{fqdn} {name}\n')
        versions.add(subnet['ip_version'])
        if dhcp_port or (subnet['ip_version'] == 6 and subnet.get(
                'ipv6_address_mode') in _NO_DHCP_ADDRESS):
            continue
        host.append(f'{mac},{fqdn},{_literal(ip)}{suffix}\n')
    if extra and not host and versions and not dhcp_port:
        host.append(f'{mac},set:{tag}\n')      # options without an address
    opts = [_option(o.get('ip_version', 4), tag, o['opt_name'],
                    str(o['opt_value'])) + '\n'
            for o in extra if o.get('ip_version', 4) in versions]
    return {'host': ''.join(host), 'addn_hosts': ''.join(addn),
            'opts': ''.join(opts)}


def host_pairs(content: str) -> set[tuple[str, str]]:
    """(mac, ip) of each address entry of a host file."""
    pairs = set()
    for line in content.splitlines():
        fields = line.strip().split(',')
        for field in fields[1:]:
            try:
                ip = ipaddress.ip_address(field.strip('[]'))
            except ValueError:
                continue
            pairs.add((fields[0], str(ip)))
    return pairs


def host_macs(content: str) -> set[str]:
    return {line.split(',')[0] for line in content.splitlines()
            if line.strip()}


def lease_pairs(network: dict) -> list[tuple[str, str]]:
    """(mac, ip) of every IPv4 address dnsmasq serves (for the initial
    lease file; IPv6 leases are keyed by the client's DUID and IAID, which
    the server does not know)."""
    subnets = dhcp_subnets(network)
    pairs = []
    for port in network.get('ports', ()):
        if port.get('device_owner') == DEVICE_OWNER_DHCP:
            continue
        for subnet, ip in _allocations(port, subnets):
            if subnet['ip_version'] == 4:
                pairs.append((port['mac_address'], ip))
    return pairs


def _dhcp_port_ips(network: dict, subnet_id: str) -> list[str]:
    return [f['ip_address'] for p in network.get('ports', ())
            if p.get('device_owner') == DEVICE_OWNER_DHCP
            for f in p.get('fixed_ips', ()) if f['subnet_id'] == subnet_id]


def _dns_option(network: dict, subnet: dict, tag: str) -> list[str]:
    """Neutron's choice: the subnet's dns_nameservers; ['0.0.0.0'] (or
    ['::']) means "announce none".  Without any, dnsmasq announces its own
    address (the default); only with several DHCP agents on the subnet are
    all their addresses listed, so clients can fail over."""
    version = subnet['ip_version']
    servers = list(subnet.get('dns_nameservers') or ())
    if servers in (['0.0.0.0'], ['::']):
        return [_option(version, tag, 'dns-server')]
    if not servers:
        servers = _dhcp_port_ips(network, subnet['id'])
        if len(servers) < 2:
            return []
    return [_option(version, tag, 'dns-server',
                    *(_literal(s) if version == 6 else s for s in servers))]


def _route_options(network: dict, subnet: dict, tag: str) -> list[str]:
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
            routes.append(f"{route['destination']},{route['nexthop']}")
    for other in network.get('subnets', ()):
        if other['ip_version'] == 4 and other['cidr'] != subnet['cidr']:
            routes.insert(0, f"{other['cidr']},0.0.0.0")
    options = []
    if routes:
        if gateway:
            routes.append(f'0.0.0.0/0,{gateway}')
        options.append(_option(4, tag, 'classless-static-route', *routes))
        options.append(_option(4, tag, _MS_CLASSLESS_ROUTES, *routes))
    if gateway:
        options.append(_option(4, tag, 'router', gateway))
    else:
        options.append(_option(4, tag, 'router'))
    return options


def subnet_opts(network: dict, domain: str) -> str:
    lines = []
    for subnet_id, subnet in sorted(dhcp_subnets(network).items()):
        tag = f'subnet-{subnet_id}'
        lines += _dns_option(network, subnet, tag)
        if subnet['ip_version'] == 4:
            lines += _route_options(network, subnet, tag)
        elif domain:
            lines.append(_option(6, tag, 'domain-search', domain))
    return ''.join(line + '\n' for line in lines)


# -- command line -------------------------------------------------------------
def _dhcp_range(subnet: dict, lease: str) -> str | None:
    net = ipaddress.ip_network(subnet['cidr'])
    tag = f"set:subnet-{subnet['id']}"
    if subnet['ip_version'] == 4:
        return f'--dhcp-range={tag},{net.network_address},static,' \
               f'{net.netmask},{lease}'
    if subnet.get('ipv6_address_mode') == 'slaac':
        return None
    return f'--dhcp-range={tag},{net.network_address},static,' \
           f'{net.prefixlen},{lease}'


def command_line(conf: Any, network: dict, conf_dir: str, pid_file: str,
                 interface: str) -> list[str]:
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
    """
    duration = conf.dhcp_lease_duration
    lease = 'infinite' if duration == -1 else f'{duration}s'
    cmd = ['dnsmasq', '--no-hosts', '--no-resolv', '--keep-in-foreground',
           '--bind-dynamic', f'--interface={interface}',
           '--except-interface=lo', f'--pid-file={pid_file}',
           f'--dhcp-hostsdir={conf_dir}/host',
           f'--hostsdir={conf_dir}/addn_hosts',
           f'--dhcp-optsdir={conf_dir}/opts',
           f'--dhcp-leasefile={conf_dir}/leases', '--dhcp-authoritative']
    possible = 0
    for _, subnet in sorted(dhcp_subnets(network).items()):
        arg = _dhcp_range(subnet, lease)
        if arg:
            cmd.append(arg)
            possible += ipaddress.ip_network(subnet['cidr']).num_addresses
    if network.get('mtu'):
        cmd.append(f"--dhcp-option-force=option:mtu,{network['mtu']}")
    cmd += [f'--dhcp-lease-max={min(possible, conf.dnsmasq_lease_max)}',
            '--conf-file=/dev/null']
    if conf.dnsmasq_dns_servers:
        cmd.append('--strict-order')
        cmd += [f'--server={s}' for s in conf.dnsmasq_dns_servers]
    if conf.dns_domain:
        cmd.append(f'--domain={conf.dns_domain}')
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
    lines = [f'{interface} {ip} {mac}\n' for mac, ip in sorted(pairs)
             if ':' not in ip]
    if not interface or not lines:
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
