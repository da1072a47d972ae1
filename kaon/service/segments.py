"""The type drivers as the server starts them (ML2's TypeManager.initialize):
the segment options checked -- a bad range refuses the start, naming the
option, as Neutron's type drivers end the service -- and the allocation
tables made to match the ranges, once, before any API worker serves."""
from __future__ import annotations

from kaon.exceptions import SegmentRangeError
from kaon.plugin import segments, type_drivers
from kaon.service.database import open_database


def prepare() -> None:
    """Raise SystemExit with the bad option's name and value."""
    try:
        ranges = type_drivers.check()
    except SegmentRangeError as err:
        raise SystemExit(f'kaon: {err}') from None
    db = open_database()
    try:
        db.write(lambda conn: segments.sync_allocations(conn, ranges))
    finally:
        db.dispose()
