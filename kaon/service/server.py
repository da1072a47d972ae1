"""`kaon server`: check the schema, then serve the API until SIGTERM --
in this process with threads (and optionally a DHCP agent), or with
gunicorn worker processes when api_workers > 1."""
from __future__ import annotations

import signal
from types import FrameType

from kaon.conf import CONF
from kaon.service import segments
from kaon.service.api_server import raise_open_files_limit
from kaon.service.database import check_schema


def serve(with_dhcp_agent: bool = False) -> None:
    """Serve until SIGTERM (or Ctrl-C); stop everything on the way out.
    Raises migrate.SchemaMismatch before serving anything if the database
    is not at the code's schema."""
    check_schema()
    segments.prepare()
    raise_open_files_limit()
    # Imported once the checks passed: RPC (oslo.messaging) costs half a
    # second and logs as it loads, which a refused start should not show.
    if CONF.api_workers > 1:
        from kaon.service.workers import serve_workers
        serve_workers()
        return
    from kaon.service.embedded import Embedded
    embedded = Embedded(CONF, with_dhcp_agent=with_dhcp_agent).start()
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        embedded.stop()


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    """Unwind out of the wait in serve(); the clean-up runs on the way."""
    raise SystemExit(0)
