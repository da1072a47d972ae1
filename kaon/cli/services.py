"""`kaon server`, `kaon dhcp-agent`, `kaon firewall-agent`, `kaon
l2-agent`, `kaon db upgrade`, `kaon config-sample`, `kaon policy sample`:
the commands that run or set up kaon's own services (the others talk to
the API)."""
from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import signal
import sys
import threading
from typing import Callable, Iterator, Protocol

from kaon import state_files
from kaon.cli.client import CliError
from kaon.cli.common import Subparsers
from kaon.conf import CONF


def service_logging(args: argparse.Namespace) -> None:
    """Services log what they do; client commands print only results."""
    if not args.debug:
        logging.getLogger().setLevel(logging.INFO)


def port_taken(host: str, port: int) -> str:
    """The one line that says what to do when the API's port is taken."""
    return (f'{host}:{port} is already in use (another kaon, or '
            'neutron-server?): stop it, or move kaon to a free port with '
            'bind_port = PORT in the [DEFAULT] section of a config file '
            'given with --config-file')


def check_api_port() -> None:
    """Fail in one line before starting anything if the configured
    address is taken: a bind the way the server binds (front.listen, with
    SO_REUSEADDR, so only a listener and not a closing connection
    counts)."""
    from kaon.service.front import listen
    host, port = CONF.bind_host, CONF.bind_port
    try:
        listen(host, port).close()
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise CliError(port_taken(host, port)) from None
        raise CliError(f'cannot listen on {host}:{port}: '
                       f'{err.strerror}') from None


@contextlib.contextmanager
def api_port_errors() -> Iterator[None]:
    """The port check, and the same one line should another process take
    the port between the check and the server's own bind."""
    check_api_port()
    try:
        yield
    except OSError as err:
        if err.errno != errno.EADDRINUSE:
            raise
        raise CliError(port_taken(CONF.bind_host, CONF.bind_port)) from None


def _server(args: argparse.Namespace) -> int:
    service_logging(args)
    state_files.state_dir(CONF.state_path)
    from kaon.service import server
    from kaon.service.database import SchemaMismatch
    try:
        with api_port_errors():
            server.serve(with_dhcp_agent=args.dhcp_agent)
    except SchemaMismatch as err:
        print(f'kaon server: {err}', file=sys.stderr)
        return 2
    except CliError as err:
        print(f'kaon server: {err}', file=sys.stderr)
        return 1
    return 0


def _dhcp_agent(args: argparse.Namespace) -> int:
    service_logging(args)
    from kaon.agent.dhcp import drivers
    try:
        # Before RPC is imported (oslo's start-up logging): a refused
        # start is one line.
        drivers.load(CONF.dhcp_driver)
    except drivers.UnknownDriver as err:
        print(f'kaon dhcp-agent: {err}', file=sys.stderr)
        return 2
    from kaon.agent.dhcp.service import DhcpAgentService
    state_files.state_dir(CONF.state_path)
    _serve(lambda: DhcpAgentService(CONF).start())
    return 0


class _Service(Protocol):
    def stop(self) -> None: ...


def _serve(start: Callable[[], _Service]) -> None:
    """Start a service, run it until SIGTERM or SIGINT, stop it."""
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    service = start()
    done.wait()
    service.stop()


def _firewall_agent(args: argparse.Namespace) -> int:
    if args.status:
        return _firewall_status()
    service_logging(args)
    from kaon.agent.firewall.base import FirewallError
    from kaon.agent.firewall.service import (
        FirewallAgentService,
        UnknownDriver,
    )
    state_files.state_dir(CONF.state_path)
    try:
        _serve(lambda: FirewallAgentService(CONF).start())
    except (UnknownDriver, FirewallError) as err:
        print(f'kaon firewall-agent: {err}', file=sys.stderr)
        return 2
    return 0


def _firewall_status() -> int:
    from kaon.agent.firewall.service import status_path
    return _show_status('firewall-agent', status_path(CONF))


def _show_status(command: str, path: str) -> int:
    """A running agent's status file, one line per key; 1 when its last
    pass failed (or no agent ever wrote one)."""
    from kaon.agent import status_file
    try:
        status = status_file.read(path)
    except OSError as err:
        print(f'kaon {command}: no status ({err.strerror})',
              file=sys.stderr)
        return 1
    except ValueError as err:
        print(f'kaon {command}: unreadable status {path}: {err}',
              file=sys.stderr)
        return 1
    for key, value in sorted(status.items()):
        print(f'{key}: {value}')
    return 1 if status.get('last_error') else 0


def _l2_agent(args: argparse.Namespace) -> int:
    from kaon.agent.l2 import options
    options.register(CONF)
    from kaon.agent.l2.service import L2AgentService, status_path
    if args.status:
        return _show_status('l2-agent', status_path(CONF))
    service_logging(args)
    state_files.state_dir(CONF.state_path)
    _serve(lambda: L2AgentService(CONF).start())
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    state_files.state_dir(CONF.state_path)
    from kaon.service import database
    print(f'database at revision {database.upgrade()}')
    return 0


def _config_sample(args: argparse.Namespace) -> int:
    from oslo_config import generator
    generator.main(['--namespace', 'kaon'])
    return 0


def _policy_sample(args: argparse.Namespace) -> int:
    """oslo.policy's own generator, so the sample is exactly what the
    Enforcer registers (and what oslopolicy-sample-generator prints)."""
    from oslo_config import cfg
    from oslo_policy import generator
    generator.generate_sample(['--namespace', 'kaon'],
                              conf=cfg.ConfigOpts())
    return 0


def _agent_command(sub: Subparsers, name: str,
                   func: Callable[[argparse.Namespace], int], summary: str,
                   examples: str) -> None:
    """An agent's command, with --status (its status file)."""
    parser = sub.add_parser(
        name, help=summary, epilog='examples:\n' + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--status', action='store_true',
                        help="print the running agent's status")
    parser.set_defaults(func=func)


def register(sub: Subparsers) -> None:
    server = sub.add_parser('server', help='serve the Neutron v2.0 API')
    server.add_argument('--dhcp-agent', action='store_true',
                        help='also run a DHCP agent in this process')
    server.set_defaults(func=_server)
    sub.add_parser('dhcp-agent', help='run a DHCP agent (root)'
                   ).set_defaults(func=_dhcp_agent)
    _agent_command(
        sub, 'firewall-agent', _firewall_agent,
        'filter the VM taps of this host by their security groups (root)',
        '  kaon firewall-agent --config-file /etc/kaon/kaon.conf\n'
        '  kaon firewall-agent --status    '
        '# ports filtered, last error; exit 1 if the last pass failed')
    _agent_command(
        sub, 'l2-agent', _l2_agent,
        "wire this host's taps into their networks' bridges and VXLAN "
        'tunnels, with l2population (root)',
        '  kaon l2-agent --config-file /etc/kaon/kaon.conf\n'
        "    ([vxlan] local_ip = this host's underlay address)\n"
        '  kaon l2-agent --status    '
        '# taps wired, retries, last error; exit 1 if it failed')
    db = sub.add_parser('db', help='database schema').add_subparsers(
        dest='db_command', required=True)
    db.add_parser('upgrade', help='apply Alembic migrations'
                  ).set_defaults(func=_db_upgrade)
    sub.add_parser('config-sample', help='print a sample kaon.conf '
                   'generated from the option definitions'
                   ).set_defaults(func=_config_sample)
    policy = sub.add_parser('policy', help='access rules (oslo.policy)'
                            ).add_subparsers(dest='policy_command',
                                             required=True)
    policy.add_parser(
        'sample', help="print the default rules (Neutron's) as a commented "
        'policy.yaml to override them in',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='examples:\n  kaon policy sample > /etc/kaon/policy.yaml\n'
               '  (then uncomment and change a rule; the running server '
               'picks it up)').set_defaults(func=_policy_sample)
