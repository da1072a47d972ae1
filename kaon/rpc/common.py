"""What both ends of kaon's RPC share: topics, transport, context on the wire.

Topic and method names, versions and payloads are Neutron's (see
shared/RPC.md), so that Neutron's DHCP agent could talk to kaon's server and
kaon's agent to Neutron's.
"""
from __future__ import annotations

import datetime
import os
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_context import context as oslo_context

from kaon.conf import CONF, register_messaging_opts

PLUGIN = 'q-plugin'
REPORTS = 'q-reports-plugin'
DHCP_AGENT = 'dhcp_agent'

# Remote exceptions from these modules are re-raised as themselves (the
# modules that define kaon's exceptions).
ALLOWED_EXMODS = ['kaon.exceptions']

_transports: dict[str, Any] = {}
# A forked child (a gunicorn worker replacing one that died) must not use
# its parent's broker connections: two processes writing AMQP frames on one
# socket corrupt the stream.  The child forgets the cached transports --
# without closing them, which would close the parent's connections -- and
# opens its own on first use.
os.register_at_fork(after_in_child=_transports.clear)

# For an agent's calls to the server: published with RabbitMQ's mandatory
# flag, a call to a topic no queue is bound to (after a broker restart,
# until the server has declared its queues again) fails at once with
# MessageUndeliverable instead of waiting rpc_response_timeout (60 s) for
# a reply that cannot come; the caller's backoff then tries again.
AT_LEAST_ONCE = oslo_messaging.TransportOptions(at_least_once=True)


def transport(conf: cfg.ConfigOpts = CONF) -> Any:
    """One RPC transport per URL and process (connections are pooled)."""
    register_messaging_opts(conf)
    url = conf.transport_url
    if url not in _transports:
        _transports[url] = oslo_messaging.get_rpc_transport(
            conf, url=url, allowed_remote_exmods=ALLOWED_EXMODS)
    return _transports[url]


def admin_context(project_id: str | None = None) -> dict[str, Any]:
    """An admin request context as Neutron puts it on the wire.

    oslo.messaging flattens the dict into `_context_<key>` fields.
    """
    ctx = oslo_context.RequestContext(is_admin=True, project_id=project_id,
                                      roles=['admin', 'member', 'reader'])
    wire = ctx.to_dict()
    wire['timestamp'] = datetime.datetime.utcnow().strftime(
        '%Y-%m-%d %H:%M:%S.%f')
    wire['project_id'] = project_id
    # neutron_lib.context.ContextBase.to_dict's additions (every captured
    # Neutron cast carries them: shared/rpc-examples).
    wire.update(user_id=None, user_name=None, project_name=None,
                has_global_access=True, can_set_project_id=True)
    return wire


def client(topic: str, version: str, conf: cfg.ConfigOpts = CONF,
           **target: Any) -> Any:
    return oslo_messaging.get_rpc_client(
        transport(conf), oslo_messaging.Target(topic=topic, version=version,
                                               **target))


def server(topic: str, host: str | None, endpoints: list[Any],
           conf: cfg.ConfigOpts = CONF) -> Any:
    return oslo_messaging.get_rpc_server(
        transport(conf), oslo_messaging.Target(topic=topic, server=host),
        endpoints)
