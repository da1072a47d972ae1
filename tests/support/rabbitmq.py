"""A private, throwaway RabbitMQ node for tests.

Nothing system-wide is used or touched: the Debian `rabbitmq-server`
package's scripts (/usr/lib/rabbitmq/bin, not the /usr/sbin wrappers, which
su to the `rabbitmq` user and use /var/lib/rabbitmq) run a node of its own:

* its own node name, `kaon-test-<random>@localhost`, so it never clashes
  with the packaged `rabbit@<host>` node (which may be running on 5672);
* everything in a temporary directory: Mnesia, logs, config, the enabled
  plugins file (empty: no management plugin), the PID file, and HOME, so
  the Erlang cookie is a fresh one there too; the system env file
  /etc/rabbitmq/rabbitmq-env.conf is replaced by an empty one;
* AMQP on 127.0.0.1 only, at a free port (plus, if asked, the same port
  on given local addresses: the test hosts' underlay), and its own Erlang
  distribution port; only EPMD (4369) is shared with any other Erlang
  node (it is meant to be shared; the first node to need it starts it as
  a daemon);
* one user with a random password, created at first boot.

    with RabbitMQ() as rabbit:
        server = KaonServer(options={'transport_url': rabbit.url})
        ...
        rabbit.restart()        # same node, same port, same data

It runs as the current user (root on the test machines; the node does not
mind).  `stop()` sends SIGTERM, on which RabbitMQ shuts down cleanly (the
same as `rabbitmqctl stop`, without the CLI's second or so of start-up), and
kills the process group if the node does not go in time.
"""
from __future__ import annotations

import os
import random
import socket
import subprocess
import tempfile
import time
import uuid

from tests.support.procs import PrivateServer, end_process_group

SCRIPTS = '/usr/lib/rabbitmq/bin'
SETUP_HINT = ('apt-get install rabbitmq-server (./dev setup does it) and '
              'try again')


class RabbitMQNotInstalled(RuntimeError):
    """No RabbitMQ server scripts on this machine."""


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def pick_port(low: int = 20000, high: int = 32000) -> int:
    """A free port below Linux's ephemeral range (32768-60999), so that no
    outgoing connection takes it while the broker is down for a restart;
    the CLI tools' distribution ports (10000 above the node's) stay valid.
    """
    for _ in range(200):
        port = random.randint(low, high)
        if _port_free(port) and _port_free(port + 10000):
            return port
    raise RuntimeError(f'no free port in {low}-{high}')


class RabbitMQ(PrivateServer):
    """One private node; `url` is ready once start() returns.

    A context manager: leaving it stops the node and removes its directory,
    whatever happened.  `start_seconds` is how long the last start took.
    """

    def __init__(self, start_timeout: float = 60,
                 addresses: tuple[str, ...] = ()) -> None:
        server = os.path.join(SCRIPTS, 'rabbitmq-server')
        if not os.access(server, os.X_OK):
            raise RabbitMQNotInstalled(f'{server} not found: {SETUP_HINT}')
        self.start_timeout = start_timeout
        self.addresses = addresses      # AMQP listens here too
        self.node = f'kaon-test-{uuid.uuid4().hex[:8]}@localhost'
        self.user = 'kaon'
        self.password = uuid.uuid4().hex
        self.root: str | None = None
        self.port: int | None = None
        self.dist_port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.start_seconds: float | None = None

    # -- addresses -----------------------------------------------------------

    @property
    def url(self) -> str:
        """For oslo.messaging's transport_url."""
        return self.url_on('127.0.0.1')

    def url_on(self, address: str) -> str:
        """transport_url through one of the listening addresses."""
        return (f'rabbit://{self.user}:{self.password}@{address}:'
                f'{self.port}/')

    @property
    def amqp_url(self) -> str:
        """The same for kombu, which spells the scheme amqp://."""
        return f'amqp://{self.user}:{self.password}@127.0.0.1:{self.port}//'

    @property
    def log_path(self) -> str:
        return self._path('log', f'{self.node}.log')

    def log(self) -> str:
        text = ''
        for path in (self.log_path, self._path('log', 'startup.log')):
            try:
                with open(path, errors='replace') as f:
                    text += f'--- {path}\n' + f.read()[-5000:]
            except (OSError, AssertionError):
                pass
        return text

    # -- set-up --------------------------------------------------------------

    def _prepare(self) -> None:
        self.root = tempfile.mkdtemp(prefix='kaon-rabbit-')
        os.chmod(self.root, 0o700)
        for sub in ('mnesia', 'log', 'home', 'plugins-expand'):
            os.makedirs(self._path(sub))
        self.port = pick_port()
        self.dist_port = pick_port()
        while self.dist_port == self.port:
            self.dist_port = pick_port()
        settings = [
            *(f'listeners.tcp.{i} = {address}:{self.port}' for i, address
              in enumerate(('127.0.0.1',) + self.addresses, start=1)),
            'loopback_users = none',
            f'default_user = {self.user}',
            f'default_pass = {self.password}',
            'default_vhost = /',
            # A test machine's disk may be fuller than a broker likes;
            # an alarm would block every publisher and hang the tests.
            'disk_free_limit.absolute = 1MB',
            'vm_memory_high_watermark.relative = 0.9',
            'log.console = false',
            'log.file.level = info',
        ]
        with open(self._path('rabbitmq.conf'), 'w') as f:
            f.write('\n'.join(settings) + '\n')
        with open(self._path('enabled_plugins'), 'w') as f:
            f.write('[].\n')
        open(self._path('rabbitmq-env.conf'), 'w').close()

    def env(self) -> dict[str, str]:
        """The environment for the node and for CLI tools aimed at it.

        RABBITMQ_NODE_IP_ADDRESS would override the listeners of the
        config file, so it is set only when there is just loopback."""
        loopback_only = {} if self.addresses else {
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1'}
        return dict(
            os.environ,
            HOME=self._path('home'),
            LC_ALL='C.UTF-8', LANG='C.UTF-8',
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_USE_LONGNAME='false',
            RABBITMQ_CONF_ENV_FILE=self._path('rabbitmq-env.conf'),
            RABBITMQ_CONFIG_FILE=self._path('rabbitmq.conf'),
            RABBITMQ_ADVANCED_CONFIG_FILE=self._path('advanced.config'),
            RABBITMQ_ENABLED_PLUGINS_FILE=self._path('enabled_plugins'),
            RABBITMQ_PLUGINS_EXPAND_DIR=self._path('plugins-expand'),
            RABBITMQ_MNESIA_BASE=self._path('mnesia'),
            RABBITMQ_MNESIA_DIR=self._path('mnesia', self.node),
            RABBITMQ_FEATURE_FLAGS_FILE=self._path('feature_flags'),
            RABBITMQ_LOG_BASE=self._path('log'),
            RABBITMQ_LOGS=self.log_path,
            RABBITMQ_PID_FILE=self._path('rabbit.pid'),
            **loopback_only,
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=(
                '-kernel inet_dist_use_interface {127,0,0,1}'),
        )

    # -- life cycle ----------------------------------------------------------

    def _start(self) -> None:
        if self.root is None:
            self._prepare()
        self._start_node()

    def _start_node(self) -> None:
        began = time.monotonic()
        out = open(self._path('log', 'startup.log'), 'a')
        try:
            # Its own session: the node, erl_child_setup and inet_gethost
            # share a process group that stop() can kill as a whole.  (EPMD,
            # if this node starts it, daemonizes out of it and stays.)
            self.proc = subprocess.Popen(
                [os.path.join(SCRIPTS, 'rabbitmq-server')], env=self.env(),
                cwd=self.root, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()
        deadline = began + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f'RabbitMQ node {self.node} exited '
                    f'({self.proc.returncode}):\n{self.log()}')
            if self.accepts_connections():
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f'RabbitMQ node {self.node} did not accept AMQP '
                    f'connections within {self.start_timeout}s:\n'
                    f'{self.log()}')
            time.sleep(0.1)
        self.start_seconds = time.monotonic() - began

    def accepts_connections(self) -> bool:
        """An AMQP login works (the listener opens only once the node has
        booted, and the login proves the user is there)."""
        if not self._listening():
            return False
        import kombu
        conn = kombu.Connection(self.amqp_url, connect_timeout=2)
        try:
            conn.connect()
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False
        finally:
            conn.release()

    def _listening(self) -> bool:
        try:
            with socket.create_connection(('127.0.0.1', self.port),
                                          timeout=1):
                return True
        except OSError:
            return False

    def stop(self, timeout: float = 30) -> None:
        """Stop the node cleanly (SIGTERM), or kill it; keep its data."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        end_process_group(proc, timeout)
        # The listener is gone only once the port is free again.
        deadline = time.monotonic() + 10
        while self.port and self._listening() and \
                time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self) -> None:
        """Stop and start the same node: same name, port, user and data."""
        self.stop()
        self._start_node()

    def ctl(self, *args: str, timeout: float = 60
            ) -> subprocess.CompletedProcess:
        """Run rabbitmqctl against this node (list_queues, status...)."""
        return subprocess.run(
            [os.path.join(SCRIPTS, 'rabbitmqctl'), '-n', self.node, *args],
            env=self.env(), capture_output=True, text=True, timeout=timeout)

