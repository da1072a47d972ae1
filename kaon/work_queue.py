"""Per-network serialised work: one network's events one at a time, in
(priority, arrival) order, many networks in parallel (Neutron's
ResourceProcessingQueue, without the 0.1 s polling loop).  The DHCP agent
uses it for casts it receives, the server's notifier for casts it sends."""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

LOG = logging.getLogger(__name__)
Job = Callable[[], None]
Entry = tuple[int, int, Job, 'Future[None]']


class NetworkWorkQueue:
    def __init__(self, workers: int, name: str = 'work') -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._pending: dict[str, list[Entry]] = {}
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._idle = threading.Condition(self._lock)

    def submit(self, network_id: str, priority: int, job: Job
               ) -> Future[None]:
        """Queue `job`; the future is done once it ran (its exception, if
        it raised, is logged and set on the future)."""
        done: Future[None] = Future()
        with self._lock:
            heapq.heappush(self._pending.setdefault(network_id, []),
                           (priority, next(self._seq), job, done))
            if network_id in self._busy:
                return done
            self._busy.add(network_id)
        self._pool.submit(self._drain, network_id)
        return done

    def _drain(self, network_id: str) -> None:
        while True:
            with self._lock:
                heap = self._pending.get(network_id)
                if not heap:
                    self._pending.pop(network_id, None)
                    self._busy.discard(network_id)
                    self._idle.notify_all()
                    return
                _, _, job, done = heapq.heappop(heap)
            try:
                job()
            except Exception as err:  # noqa: BLE001 - one must not stop others
                LOG.exception('DHCP work for network %s failed', network_id)
                done.set_exception(err)
            else:
                done.set_result(None)

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._lock:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def shutdown(self) -> None:
        """Finish the jobs running; cancel the others (whoever waits for
        them is told)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            pending, self._pending = self._pending, {}
        for heap in pending.values():
            for *_, done in heap:
                done.cancel()
