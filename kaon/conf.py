"""All of kaon's options, declared once.

Names follow Neutron's wherever Neutron has the option, so that an operator's
neutron.conf knowledge (and often the file itself) carries over.  The sample
config file is generated from these declarations (`kaon config-sample`).
"""
from __future__ import annotations

import os

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
    cfg.StrOpt('state_path', default='/var/lib/kaon',
               help='Where kaon keeps its state (SQLite DB, DHCP files).'),
    cfg.StrOpt('auth_strategy', default='noauth', choices=['noauth'],
               help='The type of authentication to use.'),
    cfg.StrOpt('noauth_project_id', default='admin',
               help='Project that owns resources created by an admin '
                    'request without X-Project-Id in noauth mode.'),
    cfg.StrOpt('base_mac', default='fa:16:3e:00:00:00',
               help='Base MAC address; the zero octets are randomised.'),
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

database_opts = [
    cfg.StrOpt('connection', secret=True,
               help='SQLAlchemy URL of the database. Default: SQLite file '
                    '<state_path>/kaon.sqlite.'),
    cfg.IntOpt('max_retries', default=20,
               help='How often a transaction that lost a race (deadlock, '
                    'unique conflict, locked database) is retried.'),
    cfg.IntOpt('max_pool_size', default=10,
               help='Connections per process in the pool (PostgreSQL).'),
]

quota_opts = [
    cfg.IntOpt('quota_network', default=100,
               help='Networks per project; -1 means unlimited.'),
    cfg.IntOpt('quota_subnet', default=100,
               help='Subnets per project; -1 means unlimited.'),
    cfg.IntOpt('quota_port', default=500,
               help='Ports per project; -1 means unlimited.'),
]

CONF.register_opts(core_opts)
CONF.register_opts(database_opts, group='database')
CONF.register_opts(quota_opts, group='quotas')


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """The oslo-config-generator hook: every option by section."""
    return [('DEFAULT', core_opts), ('database', database_opts),
            ('quotas', quota_opts)]


def database_url(conf: cfg.ConfigOpts = CONF) -> str:
    """The configured database URL, or the embedded SQLite file."""
    if conf.database.connection:
        return conf.database.connection
    return 'sqlite:///' + os.path.join(conf.state_path, 'kaon.sqlite')


def load(argv: list[str] | None = None,
         config_files: list[str] | None = None) -> cfg.ConfigOpts:
    """Parse config files (and no command line: the CLI owns argv)."""
    files = [f for f in (config_files or []) if f]
    CONF(args=argv or [], project='kaon', default_config_files=files)
    return CONF
