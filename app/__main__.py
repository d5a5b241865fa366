"""``python -m app [--host HOST] [--port PORT]``: settings, the embedded database, uvicorn.
``python -m app worker``: a process that runs jobs only (``app.worker``).

We run ``uvicorn.Server.serve()`` inside our own asyncio entry point and own the signals, so the shutdown is
ours: stop accepting, finish and confirm what was received, close sockets with 1001, stop the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import signal
import sys
from collections.abc import Callable, Generator
from typing import Any

import uvicorn
from loguru import logger
from pydantic import SecretStr

from app.db import EmbeddedDatabase, Supervisor
from app.logging import setup_logging
from app.main import create_app
from app.serving import uvicorn_config
from app.settings import Settings
from app.worker import WorkerRefused, work


class GracefulServer(uvicorn.Server):
    """uvicorn would close WebSockets with 1012 and re-raise the signal; we drain first and close with 1001."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # signals are handled by main()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            for server in self.servers:
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    logger.info("workspace server ready on http://{}:{} (ws://{}:{}/ws)", host, port, host, port)
                    break
                break

    async def shutdown(self, sockets: Any = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting first
        app = self.config.app
        runtime = getattr(getattr(app, "state", None), "runtime", None)
        if runtime is not None:
            try:
                await runtime.drain()
            except Exception:
                logger.exception("draining on shutdown failed")
        await super().shutdown(sockets)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app", description="Workspace server")
    parser.add_argument(
        "command",
        nargs="?",
        choices=["serve", "worker"],
        default="serve",
        help="serve (default): HTTP and WebSocket, running jobs too unless RUN_JOBS=false; worker: run jobs only "
        "(needs MONGODB_URI and FANOUT=changestream)",
    )
    parser.add_argument("--host", help="listen address (env HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (env PORT, default 8000)")
    return parser.parse_args(argv)


async def serve(settings: Settings) -> int:
    embedded: EmbeddedDatabase | None = None
    supervisor: asyncio.Task[None] | None = None
    if settings.mongodb_uri is None:
        # The server binds its port only after the database is up: keep the database off it.
        embedded = EmbeddedDatabase(settings.db_dir, log_file=settings.logs_dir / "db.log", avoid_ports={settings.port})
        uri = await embedded.start()
        settings = settings.model_copy(update={"mongodb_uri": SecretStr(uri)})
        # We started it, so we keep it running: restarted (same port) whenever it dies, until we stop it.
        supervisor = asyncio.create_task(Supervisor(embedded).run(), name="db-supervisor")
    try:
        app = create_app(settings)
        config = uvicorn_config(app, settings)  # with the header timeout, as the tests' servers
        server = GracefulServer(config)
        loop = asyncio.get_running_loop()

        def on_signal(sig: signal.Signals) -> None:
            logger.info("received {}, shutting down", sig.name)
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig)
        await server.serve()
        return 0 if server.started else 1
    finally:
        if supervisor is not None:
            supervisor.cancel()  # before stop(): no restart while we stop it
            await asyncio.wait([supervisor])
        if embedded is not None:
            await embedded.stop()


def raise_file_limit() -> None:
    """Every WebSocket is a file descriptor: lift the soft limit to the hard one (MAX_CONNECTIONS is 10000)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (not on Windows). uvicorn would pick it itself, but only in ``uvicorn.run``; we
    run ``Server.serve()`` in our own loop, so we choose it here. The profile of the updates benchmark showed the
    stdlib loop's socket writes as the largest single cost."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_file_limit()
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings(**overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    setup_logging(settings.log_level, settings.logs_dir)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(work(settings) if args.command == "worker" else serve(settings))
    except WorkerRefused as exc:
        logger.error("worker not started: {}", exc)
        return 2
    except Exception as exc:
        logger.error("server failed to start: {}", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
