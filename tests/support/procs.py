"""Finding the processes a test or benchmark started, by what they name."""
from __future__ import annotations

import os


def processes_naming(marker: str) -> list[int]:
    """Processes (not this one) whose command line mentions `marker`:
    a detached kaon up, its dnsmasqs, the VMs' udhcpc clients."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                argv = f.read().decode(errors='replace').split('\0')
        except OSError:
            continue
        if any(marker in arg for arg in argv):
            found.append(int(entry))
    return found
