"""A forked child opens its own broker connections: the RPC transports
its parent cached are not handed to it (two processes writing AMQP frames
on one socket corrupt the stream)."""
from __future__ import annotations

import os

from kaon import conf
from kaon.rpc import common


def test_a_forked_child_gets_a_transport_of_its_own() -> None:
    conf.load()
    parent = common.transport()
    assert common.transport() is parent         # cached in this process
    pid = os.fork()
    if pid == 0:                    # the child: report, exit, whatever
        status = 2
        try:
            status = 0 if common.transport() is not parent else 1
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, \
        "the child was handed its parent's transport"
    assert common.transport() is parent         # the parent keeps its own
