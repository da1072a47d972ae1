"""What every benchmark shares: its tables, and printing and writing its
results at the end."""
from __future__ import annotations

import json
import os
from typing import Any, Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [['-' if c is None else str(c) for c in row]
             for row in [headers] + rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ['  '.join(c.rjust(w) if j else c.ljust(w)
                       for j, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def finish(results: dict[str, Any], report: Callable[[dict], str],
           out: str) -> None:
    print('\n' + report(results))
    print(f'\n(total {results["seconds"]} s, load average at start '
          f'{results["machine"]["loadavg"]})')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(results, f, indent=2, default=str)
    print(f'results written to {os.path.relpath(out, ROOT)}')
