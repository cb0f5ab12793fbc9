"""The local Functions host: indexes function_app.py, serves HTTP, fires timers and drives queues.

Start it, then either let it run for a while (``run_for``) or drive it deterministically from tests
(``fire_timer``, ``drain``). It emulates one instance: no scale-out, no lease renewal, no host-level
retry policies (see the README).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from devhost.functions import LocalFunction, index_app, load_app
from devhost.hostjson import HostSettings
from devhost.http import HttpFunctions, KeyPolicy
from devhost.outputs import OutputSender
from devhost.queues import QueueDriver, QueuePoller
from devhost.timers import TimerDriver
from shared.config import AppSettings, DevhostSettings
from simulators.common.server import BackgroundServer

log = logging.getLogger("devhost")
REPO_ROOT = Path(__file__).resolve().parent.parent
_IDLE_SLEEP_CAP = 2.0  # the host polls an idle queue at most every 2 s when running locally


def default_settings() -> dict[str, str]:
    """App settings as ``func start`` sees them: local.settings.json, overridden by the environment."""
    return dict(AppSettings.from_environment(local_settings=REPO_ROOT / "local.settings.json").values)


class LocalHost:
    """One local instance of the function app.

    Construction indexes the app and prepares the drivers; ``start`` binds the HTTP port. If construction
    fails, the environment is restored and everything already created is released.
    """

    def __init__(
        self,
        *,
        app_module: str = "function_app",
        settings: Mapping[str, str] | None = None,
        host_settings: HostSettings | None = None,
        http_port: int = 0,
    ) -> None:
        self.settings = dict(settings if settings is not None else default_settings())
        self.host_settings = host_settings or HostSettings.load(REPO_ROOT / "host.json")
        self.functions: dict[str, LocalFunction] = {}
        self.timers: dict[str, TimerDriver] = {}
        self.queues: dict[str, QueueDriver] = {}
        self._outputs: dict[str, OutputSender] = {}
        self._http_port = http_port
        self._server: BackgroundServer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # The app reads its settings from the environment, as in Azure (also while it is imported and
        # indexed); stop() restores it, and so does a failed construction.
        self._saved_environ = {name: os.environ.get(name) for name in self.settings}
        os.environ.update(self.settings)
        try:
            self._build(app_module)
        except BaseException:
            self._release()
            raise

    def _build(self, app_module: str) -> None:
        self.functions = {f.name: f for f in index_app(load_app(app_module), self.settings)}
        devhost = AppSettings(self.settings).get(DevhostSettings)
        keys = KeyPolicy(devhost.check_keys, devhost.function_key, devhost.master_key)
        encoding = self.host_settings.queues.message_encoding
        for name, function in self.functions.items():
            self._outputs[name] = OutputSender(function, self.settings, encoding)
        self.http = HttpFunctions(
            list(self.functions.values()), self.host_settings.route_prefix, keys, self._outputs
        )
        for name, function in self.functions.items():
            if function.trigger == "timerTrigger":
                self.timers[name] = TimerDriver(function, self._outputs[name])
            elif function.trigger == "queueTrigger":
                self.queues[name] = QueueDriver(
                    function, self.settings, self.host_settings.queues, self._outputs[name]
                )

    def _release(self) -> None:
        """Close the storage clients and worker pools, and put the environment back as it was."""
        for queue in self.queues.values():
            queue.close()
        for outputs in self._outputs.values():
            outputs.close()
        for name, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    @property
    def url(self) -> str:
        """Base URL of the HTTP functions (without the route prefix); known once started."""
        if self._server is None:
            raise RuntimeError("the local host has not been started")
        return self._server.url

    def start(self, *, background: bool = True) -> LocalHost:
        """Serve HTTP; with ``background``, also fire timers and poll queues on their own.

        If the port cannot be bound, the host is stopped (environment restored) before the error is raised.
        """
        try:
            self._server = BackgroundServer(self.http, port=self._http_port)
            self._server.start()
        except BaseException:
            self.stop()
            raise
        for timer in self.timers.values():
            if timer.run_on_startup:
                timer.fire()
        if background:
            for name, timer in self.timers.items():
                self._spawn(f"timer-{name}", self._timer_loop, timer)
            for name, queue in self.queues.items():
                self._spawn(f"queue-{name}", self._queue_loop, queue)
        return self

    def _spawn(self, name: str, target: object, driver: object) -> None:
        thread = threading.Thread(target=target, args=(driver,), name=name, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _timer_loop(self, timer: TimerDriver) -> None:
        while not self._stop.is_set():
            timer.tick()
            self._stop.wait(0.2)

    def _queue_loop(self, queue: QueueDriver) -> None:
        # Locally the host caps maxPollingInterval at 2 s, so a local queue never looks stuck.
        poller = QueuePoller(queue, min(_IDLE_SLEEP_CAP, self.host_settings.queues.max_polling_interval))
        while not self._stop.is_set():
            self._stop.wait(poller.step())

    def fire_timer(self, name: str) -> bool:
        """Run timer ``name`` now; True if it succeeded."""
        return self.timers[name].fire()

    def drain(self, timeout: float = 60.0) -> bool:
        """Process queue messages until every trigger queue is empty (retries included); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            received = sum(queue.poll_once() for queue in self.queues.values())
            if received == 0:
                if all(queue.pending() == 0 for queue in self.queues.values()):
                    return True
                time.sleep(0.1)  # messages waiting out their retry delay
        return False

    def run_for(self, seconds: float) -> None:
        """Keep running in the background for ``seconds``."""
        self._stop.wait(seconds)

    def stop(self) -> None:
        """Stop every loop, the HTTP server and the worker pools."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self._server is not None:
            self._server.stop()
        self._release()

    def __enter__(self) -> LocalHost:
        return self.start(background=False)

    def __exit__(self, *exc: object) -> None:
        self.stop()
