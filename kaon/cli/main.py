"""The `kaon` command: global options, then one subcommand per module."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from kaon import conf
from kaon.cli import (
    agents,
    keystone,
    legacy,
    ports,
    resources,
    services,
    up,
    vm,
)

# Each module adds its subcommands with register(subparsers).
COMMANDS = [services, vm, up, resources, ports, agents, keystone, legacy]
CONFIG_HELP = ('oslo.config file (repeatable); default /etc/kaon/kaon.conf '
               'if it exists')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='kaon', description='A Neutron-compatible network control plane.')
    parser.add_argument('--config-file', action='append', default=[],
                        help=CONFIG_HELP)
    parser.add_argument('--debug', action='store_true')
    sub = parser.add_subparsers(dest='command', required=True)
    for module in COMMANDS:
        module.register(sub)
    for command in _subcommands(parser):
        _config_file_here_too(command)
    return parser


def _subcommands(parser: argparse.ArgumentParser
                 ) -> list[argparse.ArgumentParser]:
    """Every parser below `parser` (`server`, `network`, `network list`)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += [child, *_subcommands(child)]
    return found


def _config_file_here_too(parser: argparse.ArgumentParser) -> None:
    """`kaon server --config-file F`, as `neutron-server --config-file F`
    is typed.  argparse copies a subcommand's values over the top-level
    ones, so these collect under a dest of their own (absent unless
    given), which main() appends to the top-level list."""
    parser.add_argument('--config-file', action='append',
                        dest='later_config_files', default=argparse.SUPPRESS,
                        metavar='CONFIG_FILE', help=CONFIG_HELP)


def _config_files(args: argparse.Namespace) -> list[str]:
    if args.config_file:
        missing = [f for f in args.config_file if not os.path.exists(f)]
        if missing:
            raise SystemExit(f'kaon: config file not found: {missing[0]}')
        files: list[str] = args.config_file
        return files
    default = '/etc/kaon/kaon.conf'
    return [default] if os.path.exists(default) else []


def _quiet_broken_pipe() -> int:
    """`kaon config-sample | head`: the reader left, so stop without a
    traceback, and keep the interpreter's final flush from raising again
    (Python's documented recipe).  128 + SIGPIPE, as a shell reports a
    writer that a closed pipe ended."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + signal.SIGPIPE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with every --config-file in `config_file`: those
    before the subcommand first, then those after it, in the order typed."""
    args = build_parser().parse_args(argv)
    args.config_file += getattr(args, 'later_config_files', [])
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    level = logging.DEBUG if args.debug else logging.WARNING
    logging.basicConfig(level=level, format='%(asctime)s %(levelname)s '
                                            '%(name)s: %(message)s')
    logging.getLogger('alembic').setLevel(logging.WARNING)
    conf.load(config_files=_config_files(args))
    try:
        result: int = args.func(args)
        sys.stdout.flush()
        return result
    except BrokenPipeError:
        return _quiet_broken_pipe()


if __name__ == '__main__':
    sys.exit(main())
