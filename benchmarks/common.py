"""What every benchmark does at the end: print its table, write its JSON."""
from __future__ import annotations

import json
import os
from typing import Any, Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def finish(results: dict[str, Any], report: Callable[[dict], str],
           out: str) -> None:
    print('\n' + report(results))
    print(f'\n(total {results["seconds"]} s, load average at start '
          f'{results["machine"]["loadavg"]})')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(results, f, indent=2, default=str)
    print(f'results written to {os.path.relpath(out, ROOT)}')
