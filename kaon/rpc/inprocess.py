"""`kaon://`: an oslo.messaging driver for server and agent in one process.

oslo.messaging's `fake:` driver has the queue semantics we want (topic
queues shared by consumers, per-server queues, fanout to every server
queue, in-memory replies) but its listener polls every 50 ms, which puts
50 ms on every RPC call.  This driver keeps those semantics and wakes a
listener the moment a message is delivered.  Everything above the
transport (targets, clients, RPC servers, serialisation checks) is the
same code as with RabbitMQ.
"""
from __future__ import annotations

import threading
import time
from typing import Any

import oslo_messaging
from oslo_messaging._drivers import base, impl_fake

# oslo.messaging has no type hints (its classes are Any to mypy): the
# `type: ignore[misc]`s below are for subclassing them, which this driver
# is made of.


class _WakingExchange(impl_fake.FakeExchange):  # type: ignore[misc]
    """A fake exchange whose deliveries wake the listeners waiting on it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.arrived = threading.Condition(self._queues_lock)

    def deliver_message(self, topic: str, ctxt: Any, message: Any,
                        server: str | None = None, fanout: bool = False,
                        reply_q: Any = None) -> None:
        with self._queues_lock:
            super().deliver_message(topic, ctxt, message, server=server,
                                    fanout=fanout, reply_q=reply_q)
            self.arrived.notify_all()


class _Exchanges(impl_fake.FakeExchangeManager):  # type: ignore[misc]
    # One set of exchanges per process, shared by every kaon:// transport.
    _exchanges_lock = threading.Lock()
    _exchanges: dict[str, _WakingExchange] = {}

    def get_exchange(self, name: str | None) -> _WakingExchange:
        name = name or self._default_exchange
        with self._exchanges_lock:
            return self._exchanges.setdefault(name, _WakingExchange(name))


class _Listener(impl_fake.FakeListener):  # type: ignore[misc]
    @base.batch_poll_helper  # type: ignore[untyped-decorator]  # untyped lib
    def poll(self, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        exchange = self._exchange_manager.get_exchange(
            self._targets[0].exchange)
        with exchange.arrived:
            while not self._stopped.is_set():
                for target in self._targets:
                    ctxt, message, reply_q, requeue = exchange.poll(
                        target, self._pool)
                    if message is not None:
                        return impl_fake.FakeIncomingMessage(
                            ctxt, message, reply_q, requeue)
                left = None if deadline is None else \
                    deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                exchange.arrived.wait(left)
        return None

    def stop(self) -> None:
        super().stop()
        exchange = self._exchange_manager.get_exchange(
            self._targets[0].exchange)
        with exchange.arrived:
            exchange.arrived.notify_all()


class InProcessDriver(impl_fake.FakeDriver):  # type: ignore[misc]
    def __init__(self, conf: Any, url: Any,
                 default_exchange: str | None = None,
                 allowed_remote_exmods: Any = None) -> None:
        super().__init__(conf, url, default_exchange, allowed_remote_exmods)
        self._exchange_manager = _Exchanges(default_exchange)

    def listen(self, target: Any, batch_size: int,
               batch_timeout: float | None) -> Any:
        exchange = target.exchange or self._default_exchange
        listener = _Listener(self._exchange_manager, [
            oslo_messaging.Target(topic=target.topic, server=target.server,
                                  exchange=exchange),
            oslo_messaging.Target(topic=target.topic, exchange=exchange)])
        return base.PollStyleListenerAdapter(listener, batch_size,
                                             batch_timeout)
