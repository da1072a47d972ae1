"""The `kaon` command."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from kaon import conf
from kaon.conf import CONF


def _server(args: argparse.Namespace) -> int:
    os.makedirs(CONF.state_path, exist_ok=True)
    from kaon.api import server
    from kaon.db.migrate import SchemaMismatch
    try:
        server.serve(with_dhcp_agent=args.dhcp_agent)
    except SchemaMismatch as err:
        print(f'kaon server: {err}', file=sys.stderr)
        return 2
    return 0


def _dhcp_agent(args: argparse.Namespace) -> int:
    import signal
    import threading
    from kaon.agent.dhcp.service import DhcpAgentService
    os.makedirs(CONF.state_path, exist_ok=True)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    service = DhcpAgentService(CONF).start()
    done.wait()
    service.stop()
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    os.makedirs(CONF.state_path, exist_ok=True)
    from kaon.api.server import open_database
    from kaon.db import migrate
    db = open_database()
    migrate.upgrade(db.engine)
    print(f'database at revision {migrate.current_revision(db.engine)}')
    return 0


def _config_sample(args: argparse.Namespace) -> int:
    from oslo_config import generator
    generator.main(['--namespace', 'kaon'])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='kaon', description='A Neutron-compatible network control plane.')
    parser.add_argument('--config-file', action='append', default=[],
                        help='oslo.config file (repeatable); default '
                             '/etc/kaon/kaon.conf if it exists')
    parser.add_argument('--debug', action='store_true')
    sub = parser.add_subparsers(dest='command', required=True)
    server = sub.add_parser('server', help='serve the Neutron v2.0 API')
    server.add_argument('--dhcp-agent', action='store_true',
                        help='also run a DHCP agent in this process')
    server.set_defaults(func=_server)
    sub.add_parser('dhcp-agent', help='run a DHCP agent (root)'
                   ).set_defaults(func=_dhcp_agent)
    db = sub.add_parser('db', help='database schema').add_subparsers(
        dest='db_command', required=True)
    db.add_parser('upgrade', help='apply Alembic migrations'
                  ).set_defaults(func=_db_upgrade)
    sub.add_parser('config-sample', help='print a sample kaon.conf '
                   'generated from the option definitions'
                   ).set_defaults(func=_config_sample)
    return parser


def _config_files(args: argparse.Namespace) -> list[str]:
    if args.config_file:
        missing = [f for f in args.config_file if not os.path.exists(f)]
        if missing:
            raise SystemExit(f'kaon: config file not found: {missing[0]}')
        return args.config_file
    default = '/etc/kaon/kaon.conf'
    return [default] if os.path.exists(default) else []


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format='%(asctime)s %(levelname)s %(name)s: '
                               '%(message)s')
    logging.getLogger('alembic').setLevel(logging.WARNING)
    conf.load(config_files=_config_files(args))
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
