"""The `kaon` command: global options, then one subcommand per module."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from kaon import conf
from kaon.cli import (agents, keystone, legacy, ports, resources, services,
                      up, vm)

# Each module adds its subcommands with register(subparsers).
COMMANDS = [services, vm, up, resources, ports, agents, keystone, legacy]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='kaon', description='A Neutron-compatible network control plane.')
    parser.add_argument('--config-file', action='append', default=[],
                        help='oslo.config file (repeatable); default '
                             '/etc/kaon/kaon.conf if it exists')
    parser.add_argument('--debug', action='store_true')
    sub = parser.add_subparsers(dest='command', required=True)
    for module in COMMANDS:
        module.register(sub)
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
    level = logging.DEBUG if args.debug else logging.WARNING
    logging.basicConfig(level=level, format='%(asctime)s %(levelname)s '
                                            '%(name)s: %(message)s')
    logging.getLogger('alembic').setLevel(logging.WARNING)
    conf.load(config_files=_config_files(args))
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
