"""The import rules of RPC, plugin and scheduler, read from the source.

RPC asks the plugin and nothing below it; the scheduler is below the
plugin and never imports it back (a circle would make either unusable
alone, and is how RPC came to run the scheduler's SQL itself).
"""
from __future__ import annotations

import ast
import pathlib

import pytest

KAON = pathlib.Path(__file__).resolve().parents[2] / 'kaon'


def imported(package: str) -> dict[str, set[str]]:
    """Module file -> the kaon modules it imports (any nesting)."""
    result = {}
    for path in sorted((KAON / package).rglob('*.py')):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.update(f'{node.module}.{a.name}' for a in node.names)
        result[str(path.relative_to(KAON.parent))] = {
            n for n in names if n.startswith('kaon.')}
    return result


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f'{path}: {name}'
                  for path, names in imported(package).items()
                  for name in names if name.startswith(forbidden))


@pytest.mark.parametrize('package, forbidden', [
    ('rpc', ('kaon.db.', 'kaon.scheduler.', 'kaon.ipam.',
             'kaon.plugin.networks', 'kaon.plugin.ports',
             'kaon.plugin.subnets', 'kaon.plugin.agents',
             'kaon.plugin.dhcp')),
    ('scheduler', ('kaon.plugin.', 'kaon.rpc.', 'kaon.api.')),
])
def test_imports_only_go_down(package: str,
                              forbidden: tuple[str, ...]) -> None:
    assert offending(package, forbidden) == []
