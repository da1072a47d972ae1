"""What every resource command shares: how it is added to the parser (help
with an example, --os-url/--os-cloud, output options), how its errors end
(one line, exit 1), and the argument types of openstack's `key=value`
options."""
from __future__ import annotations

import argparse
import functools
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, TypeAlias

from kaon.cli import auth, output
from kaon.cli.client import DEFAULT_URL, Client, CliError

Handler = Callable[[argparse.Namespace], int]
if TYPE_CHECKING:   # generic for mypy only, a plain class at run time
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


def client_for(args: argparse.Namespace) -> Client:
    """The command's API client, made once: with Keystone credentials that
    is one login (kaon.cli.auth decides), however many parts ask."""
    if getattr(args, 'api_client', None) is None:
        args.api_client = auth.client(getattr(args, 'os_url', None),
                                      getattr(args, 'os_cloud', None))
    client: Client = args.api_client
    return client


class LazyClient:
    """client_for(args) made on first use, once even from many threads:
    what needs no API (`kaon down`, `kaon vm console-log`) needs no login,
    and a failed one surfaces where the API is used, as a CliError."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._args = args
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            api = client_for(self._args)
        return getattr(api, name)


def _reporting(func: Handler) -> Handler:
    """main() just returns what the handler returns: failures the user can
    act on become `kaon: <message>` on stderr and exit status 1."""
    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args) or 0
        except CliError as err:
            print(f'kaon: {err}', file=sys.stderr)
            return 1
    return run


def add_command(sub: Subparsers, name: str, func: Handler,
                help: str, examples: list[str], prints: bool = True,
                listed: bool = True, api: bool = True
                ) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with examples; `prints` adds -f/-c;
    an unlisted one is left out of its parent's list of commands; `api`
    adds --os-url (the kaon API), every command gets --os-cloud."""
    epilog = 'examples:\n' + '\n'.join(f'  {e}' for e in examples)
    extra: dict[str, Any] = {'help': help} if listed else {}
    parser = sub.add_parser(
        name, description=help[:1].upper() + help[1:] + '.', epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter, **extra)
    if api:
        parser.add_argument(
            '--os-url', metavar='URL',
            help='the API endpoint (default: $KAON_URL, else with Keystone '
                 "credentials the catalog's network endpoint, else the "
                 "configuration's bind_host and bind_port: "
                 f'{DEFAULT_URL} unless changed)')
    parser.add_argument(
        '--os-cloud', metavar='CLOUD',
        help='log in to Keystone as this clouds.yaml cloud (default: '
             '$OS_CLOUD; OS_AUTH_URL & co. work too, as for openstack)')
    if prints:
        output.add_options(parser)
    parser.set_defaults(func=_reporting(func))
    return parser


def group(sub: Subparsers, name: str, help: str) -> Subparsers:
    """`kaon network ...`: a command made of subcommands."""
    parser = sub.add_parser(name, help=help, description=help)
    return parser.add_subparsers(dest=f'{name}_command', required=True,
                                 metavar='COMMAND')


def toggle(parser: argparse.ArgumentParser, dest: str, on: str, off: str,
           help_on: str, help_off: str) -> None:
    """--on/--off pair: True, False, or None when neither is given."""
    pair = parser.add_mutually_exclusive_group()
    pair.add_argument(on, dest=dest, action='store_const', const=True,
                      default=None, help=help_on)
    pair.add_argument(off, dest=dest, action='store_const', const=False,
                      help=help_off)


def boolean(text: str) -> bool:
    """true/false as neutronclient's `--enable_dhcp true` spells it."""
    value = text.strip().lower()
    if value in ('true', 't', 'yes', 'y', '1', 'on'):
        return True
    if value in ('false', 'f', 'no', 'n', '0', 'off'):
        return False
    raise argparse.ArgumentTypeError(f"'{text}' is not true or false")


def key_values(keys: dict[str, str], required: tuple[str, ...] = ()
               ) -> Callable[[str], dict[str, str]]:
    """An argparse type for `k1=v1,k2=v2`: `keys` maps every accepted
    spelling (openstack's `ip-address`, neutronclient's `ip_address`) to
    the one the command uses; unknown or missing keys are usage errors."""
    def parse(text: str) -> dict[str, str]:
        result: dict[str, str] = {}
        for part in text.split(','):
            key, sep, value = part.partition('=')
            if not sep or key.strip() not in keys:
                known = ', '.join(sorted(keys))
                raise argparse.ArgumentTypeError(
                    f"'{part}' is not KEY=VALUE with KEY one of: {known}")
            result[keys[key.strip()]] = value.strip()
        missing = [k for k in required if k not in result]
        if missing:
            raise argparse.ArgumentTypeError(
                f"'{text}' lacks {missing[0]}=")
        return result
    parse.__name__ = 'KEY=VALUE'
    return parse


def only_set(**attrs: Any) -> dict[str, Any]:
    """The request body holds what the user gave, nothing else."""
    return {k: v for k, v in attrs.items() if v is not None}


def tags_update(current: dict[str, Any], args: argparse.Namespace
                ) -> list[str] | None:
    """openstack's set semantics: --tag adds, --no-tag clears first."""
    if not args.tags and not args.no_tag:
        return None
    kept = [] if args.no_tag else list(current.get('tags', []))
    return kept + [t for t in args.tags if t not in kept]


def add_tag_options(parser: argparse.ArgumentParser, setting: bool) -> None:
    parser.add_argument('--tag', dest='tags', action='append', default=[],
                        metavar='TAG',
                        help='tag (repeatable)')
    if setting:
        parser.add_argument('--no-tag', action='store_true',
                            help='remove the existing tags (with --tag: '
                                 'replace them)')


def delete_all(client: Client, resource: str, names: list[str],
               by_name: bool = True) -> None:
    """openstack's delete: try each, say which failed, fail at the end (a
    single failure is just its one-line message)."""
    failed = 0
    for name in names:
        try:
            client.delete(resource, client.find(resource, name, by_name)['id'])
        except CliError as err:
            if len(names) == 1:
                raise
            failed += 1
            print(f'kaon: {resource} {name}: {err}', file=sys.stderr)
    if failed:
        raise CliError(f'{failed} of {len(names)} {resource}s failed to '
                       'delete.')


def apply_set(client: Client, resource: str, item: dict[str, Any],
              body: dict[str, Any], args: argparse.Namespace) -> None:
    """A set command: PUT what changed (with the tag changes); say nothing,
    as openstack's set commands do."""
    tags = tags_update(item, args) if hasattr(args, 'tags') else None
    if tags is not None:
        body['tags'] = tags
    if body:
        client.update(resource, item['id'], body)


def show_command(resource: str, by_name: bool = True) -> Handler:
    """`<resource> show NAME_OR_ID`: the item as a Field/Value table."""
    def show(args: argparse.Namespace) -> int:
        item = client_for(args).find(resource, getattr(args, resource),
                                     by_name)
        output.print_item(args, item)
        return 0
    return show


def delete_command(resource: str, by_name: bool = True) -> Handler:
    """`<resource> delete NAME_OR_ID...`."""
    def delete(args: argparse.Namespace) -> int:
        delete_all(client_for(args), resource, getattr(args, resource),
                   by_name)
        return 0
    return delete


def extended(current: list[Any] | None, added: list[Any], drop: bool
             ) -> list[Any] | None:
    """openstack's set for list attributes: add to (or, with --no-X,
    replace) what is there; None when neither was asked."""
    if not added and not drop:
        return None
    return ([] if drop else list(current or [])) + added
