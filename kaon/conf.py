"""All of kaon's options, declared once.

Names follow Neutron's wherever Neutron has the option, so that an operator's
neutron.conf knowledge (and often the file itself) carries over.  The sample
config file is generated from these declarations (`kaon config-sample`).
"""
from __future__ import annotations

import copy
import os
import socket

from oslo_config import cfg

CONF = cfg.CONF

core_opts = [
    cfg.HostAddressOpt('bind_host', default='127.0.0.1',
                       help='The host IP to bind the API server to.'),
    cfg.PortOpt('bind_port', default=9696,
                help='The port to bind the API server to.'),
    cfg.IntOpt('api_workers', default=1, min=1,
               help='Number of API worker processes. 1 serves from one '
                    'process with threads; more forks gunicorn workers.'),
    cfg.IntOpt('api_threads', default=16, min=1,
               help='Threads per API worker process.'),
    cfg.IntOpt('client_socket_timeout', default=30, min=0,
               help='Seconds a client has to send a whole request (head '
                    'and body), and that an idle kept-alive connection is '
                    'kept; 0 means forever. Requests are read without '
                    'holding an API thread, so a slow client only holds '
                    'its socket this long.'),
    cfg.StrOpt('state_path', default='/var/lib/kaon',
               help='Where kaon keeps its state (SQLite DB, DHCP files).'),
    cfg.StrOpt('auth_strategy', default='noauth',
               choices=[('noauth', 'no authentication: requests act as the '
                         'admin, or as the project in their X-Project-Id '
                         'header; for the embedded mode on 127.0.0.1'),
                        ('keystone', "keystonemiddleware's auth_token, "
                         'configured in [keystone_authtoken]')],
               help='The type of authentication to use.'),
    cfg.StrOpt('noauth_project_id', default='admin',
               help='Project that owns resources created by an admin '
                    'request without X-Project-Id in noauth mode.'),
    cfg.StrOpt('base_mac', default='fa:16:3e:00:00:00',
               help='Base MAC address; the zero octets are randomised.'),
    cfg.IntOpt('mac_generation_retries', default=16, min=1,
               help='How many random MACs to try before a port create '
                    'fails with MacAddressGenerationFailure.'),
    cfg.IntOpt('global_physnet_mtu', default=1500, min=68,
               help='MTU of the underlying physical network; the '
                    'largest MTU a network may have.'),
    cfg.IntOpt('max_dns_nameservers', default=5,
               help='Maximum number of DNS nameservers per subnet.'),
    cfg.IntOpt('max_subnet_host_routes', default=20,
               help='Maximum number of host routes per subnet.'),
    cfg.IntOpt('dhcp_agents_per_network', default=1, min=1,
               help='Number of DHCP agents scheduled to host a network.'),
    cfg.BoolOpt('allow_bulk', default=True,
                help='Allow bulk create of networks, subnets and ports.'),
    cfg.IntOpt('pagination_max_limit', default=-1,
               help='Largest page a list request may ask for; -1 means '
                    'no limit.'),
]

# The server's view of agents (neutron.conf in Neutron).
agent_server_opts = [
    cfg.IntOpt('agent_down_time', default=75,
               help='Seconds after the last heartbeat an agent is dead.'),
    cfg.BoolOpt('network_auto_schedule', default=True,
                help='Schedule networks without a DHCP agent to the agent '
                     'asking for its networks.'),
    cfg.BoolOpt('allow_automatic_dhcp_failover', default=True,
                help='Move networks away from DHCP agents silent for '
                     'dhcp_failover_after seconds (default agent_down_time), '
                     'with their DHCP ports.'),
    cfg.BoolOpt('enable_new_agents', default=True,
                help='New agents start admin-up and get networks.'),
]

# The DHCP agent (dhcp_agent.ini in Neutron).
dhcp_agent_opts = [
    cfg.StrOpt('host', default=socket.gethostname(),
               sample_default='<hostname>',
               help='Name of this agent\'s host, as the server knows it.'),
    cfg.StrOpt('availability_zone', default='nova',
               help='Availability zone of this agent.'),
    cfg.IntOpt('resync_interval', default=5,
               help='Seconds between resyncs of networks marked for it.'),
    cfg.StrOpt('dhcp_driver', default='dnsmasq',
               help='The DHCP backend: an entry point of kaon.dhcp_drivers '
                    '("dnsmasq", "noop": the agent\'s bookkeeping only, no '
                    'DHCP server). Neutron\'s '
                    '"neutron.agent.linux.dhcp.Dnsmasq" means "dnsmasq".'),
    cfg.IntOpt('num_sync_threads', default=4, min=1,
               help='Networks configured in parallel during a full sync.'),
    cfg.StrOpt('dhcp_confs', default='$state_path/dhcp',
               help='Where the per-network dnsmasq files live.'),
    cfg.IntOpt('dhcp_lease_duration', default=86400,
               help='DHCP lease duration in seconds; -1 means infinite.'),
    cfg.IntOpt('dnsmasq_lease_max', default=2 ** 24,
               help='Upper bound of --dhcp-lease-max.'),
    cfg.StrOpt('dns_domain', default='openstacklocal',
               help='Domain of the host names dnsmasq hands out.'),
    cfg.ListOpt('dnsmasq_dns_servers', default=[],
                help='Upstream DNS servers for dnsmasq; none by default.'),
    cfg.StrOpt('dnsmasq_user', default='',
               help='User dnsmasq drops to once started; empty: "dnsmasq" '
                    'if that user exists, else "nobody". dnsmasq keeps root '
                    '(and the agent warns) when it could not search every '
                    'directory above dhcp_confs.'),
    cfg.StrOpt('dnsmasq_group', default='',
               help="Group dnsmasq runs as and that owns kaon's dnsmasq "
                    "files (0640, directories 0750); empty: dnsmasq_user's "
                    'primary group.'),
    cfg.FloatOpt('bulk_reload_interval', default=1.0, min=0,
                 help='At most one dnsmasq SIGHUP per network per this many '
                      'seconds; changes that need one are coalesced.'),
    cfg.StrOpt('dhcp_namespace_prefix', default='qdhcp-',
               help='Prefix of the per-network namespaces (tests set their '
                    'own to simulate several hosts on one machine).'),
    cfg.StrOpt('bridge_prefix', default='brq',
               help='Prefix of the per-network Linux bridges.'),
    cfg.IntOpt('report_interval', default=30,
               help='Seconds between report_state heartbeats.'),
    cfg.IntOpt('check_child_processes_interval', default=60,
               help='Seconds between checks that dnsmasq is alive; 0 '
                    'disables respawning.'),
    cfg.FloatOpt('dhcp_check_interval', default=5.0, min=0,
                 help='Seconds between checks of the files dnsmasq reads, '
                      'for every network served (drift is repaired and '
                      'logged); 0 disables the periodic check.'),
    cfg.FloatOpt('dhcp_retry_max_interval', default=60.0, min=1,
                 help='A network that fails to be served is retried after '
                      '1, 2, 4 ... seconds, at most this many apart.'),
]

# The compute side (`kaon vm`): the namespace "hypervisor".
compute_opts = [
    cfg.StrOpt('vm_namespace_prefix', default='vm-',
               help='Prefix of VM namespaces (a VM named x lives in '
                    '<prefix>x).'),
    cfg.FloatOpt('vm_boot_timeout', default=30.0,
                 help='Seconds a boot waits for each stage (port ready, '
                      'DHCP lease) before it fails and cleans up.'),
]

database_opts: list[cfg.Opt] = [
    cfg.StrOpt('connection', secret=True,
               help='SQLAlchemy URL of the database. Default: SQLite file '
                    '<state_path>/kaon.sqlite.'),
    cfg.IntOpt('max_retries', default=20,
               help='How often a transaction that lost a race (deadlock, '
                    'unique conflict, locked database) is retried.'),
    cfg.IntOpt('max_pool_size', default=10,
               help='Connections per process in the pool (PostgreSQL).'),
]

quota_opts: list[cfg.Opt] = [
    cfg.IntOpt('quota_network', default=100,
               help='Networks per project; -1 means unlimited.'),
    cfg.IntOpt('quota_subnet', default=100,
               help='Subnets per project; -1 means unlimited.'),
    cfg.IntOpt('quota_port', default=500,
               help='Ports per project; -1 means unlimited.'),
]

# oslo.middleware's sizelimit option (same group, name and default, so a
# neutron.conf carries over); kaon's HTTP front enforces it while reading.
body_size_opts: list[cfg.Opt] = [
    cfg.IntOpt('max_request_body_size', default=114688,
               help='The maximum body size for each request, in bytes.'),
]

# The firewall agent (security groups on the taps kaon plugs; Neutron's
# [securitygroup] section and the L2 agent's polling).
firewall_agent_opts = [
    cfg.BoolOpt('firewall_agent', default=False,
                help='Run a firewall agent inside `kaon server '
                     '--dhcp-agent` (`kaon up` always runs one; split '
                     'deployments run `kaon firewall-agent`).'),
    cfg.StrOpt('firewall_driver', default='nftables',
               help='The firewall: an entry point of kaon.firewall_drivers '
                    '("nftables"; "noop": bookkeeping only, nothing '
                    'filtered).'),
    cfg.StrOpt('firewall_table', default='kaon_fw',
               help='Name of the nftables tables (bridge and inet) the '
                    'nftables driver owns.'),
    cfg.FloatOpt('firewall_poll_interval', default=2.0, min=0.1,
                 help='Seconds between looks for taps plugged or gone; a '
                      'failed pass is retried after as long.'),
    cfg.FloatOpt('firewall_resync_interval', default=60.0, min=1,
                 help='Seconds between full resyncs with the server (and '
                      'repairs of rules changed behind the agent).'),
]

CONF.register_opts(core_opts)
# oslo.messaging owns transport_url and control_exchange; kaon only changes
# their defaults: the in-process transport, and Neutron's exchange.
_MESSAGING_DEFAULTS = {'transport_url': 'kaon://',
                       'control_exchange': 'neutron'}


def register_messaging_opts(conf: cfg.ConfigOpts = CONF) -> None:
    """Done when RPC is first used, not at import: importing oslo.messaging
    costs the CLI half a second on every command that never needs it."""
    from oslo_messaging import opts as messaging_opts
    for group, opts in messaging_opts.list_opts():
        if group is None:
            conf.register_opts(opts)
    for name, value in _MESSAGING_DEFAULTS.items():
        conf.set_default(name, value)
CONF.register_opts(agent_server_opts)
CONF.register_opts(dhcp_agent_opts)
CONF.register_opts(firewall_agent_opts)
CONF.register_opts(compute_opts)
CONF.register_opts(database_opts, group='database')
CONF.register_opts(quota_opts, group='quotas')
CONF.register_opts(body_size_opts, group='oslo_middleware')


def _messaging_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """oslo.messaging's options as kaon uses them, for the sample file."""
    from oslo_messaging import opts as messaging_opts
    result = []
    for group, opts in messaging_opts.list_opts():
        if group is None:
            opts = [copy.copy(o) for o in opts]
            for opt in opts:
                opt.default = _MESSAGING_DEFAULTS.get(opt.name, opt.default)
            result.append(('DEFAULT', opts))
        elif group == 'oslo_messaging_rabbit':
            result.append((group, list(opts)))
    return result


def _auth_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """auth_token's [keystone_authtoken] (with the password plugin's
    options, as Neutron's sample shows them) and oslo.policy's options."""
    from keystoneauth1 import loading
    from keystonemiddleware import auth_token
    from oslo_policy import opts as policy_opts
    result = [(group, list(opts)) for group, opts in auth_token.list_opts()]
    password = loading.get_auth_plugin_conf_options('password')
    result.append(('keystone_authtoken', password))
    return result + [(g, list(o)) for g, o in policy_opts.list_opts()]


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """The oslo-config-generator hook: every option by section."""
    return [('DEFAULT', core_opts + agent_server_opts + dhcp_agent_opts +
             firewall_agent_opts + compute_opts),
            ('database', database_opts), ('quotas', quota_opts),
            ('oslo_middleware', body_size_opts),
            *_messaging_opts(), *_auth_opts()]


def database_url(conf: cfg.ConfigOpts = CONF) -> str:
    """The configured database URL, or the embedded SQLite file."""
    connection: str | None = conf.database.connection
    if connection:
        return connection
    return 'sqlite:///' + os.path.join(conf.state_path, 'kaon.sqlite')


def load(argv: list[str] | None = None,
         config_files: list[str] | None = None) -> cfg.ConfigOpts:
    """Parse config files (and no command line: the CLI owns argv)."""
    files = [f for f in (config_files or []) if f]
    CONF(args=argv or [], project='kaon', default_config_files=files)
    return CONF
