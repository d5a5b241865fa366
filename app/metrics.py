"""Prometheus metrics, in a registry of the app's own (so several apps in one test process don't clash).

Every metric of ours is named ``workspace_server_...``; the registry also holds the standard process collector
(``process_open_fds``, ``process_resident_memory_bytes``, ...: open descriptors matter at 10,000 sockets). Values
that only grow and are kept by their owners (the bulk writer's command count, the change stream's resumes and
deliveries) are counters read when scraped (``CallbackCounters``), not gauges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

NAMESPACE = "workspace_server"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class CallbackCounters(Collector):
    """Counters whose value lives with its owner and is read at scrape time (``add`` them once it exists)."""

    def __init__(self) -> None:
        self._counters: dict[str, tuple[str, Callable[[], float]]] = {}

    def add(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self._counters[f"{NAMESPACE}_{name}"] = (documentation, read)

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, (documentation, read) in self._counters.items():
            yield CounterMetricFamily(name, documentation, value=read())

    def describe(self) -> Iterator[CounterMetricFamily]:
        return iter(())  # names are added after registration: nothing to check up front


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r, ns = self.registry, NAMESPACE
        ProcessCollector(registry=r)
        self.connections = Gauge("ws_connections", "Open WebSocket connections", namespace=ns, registry=r)
        self.messages = Counter(
            "ws_messages_total", "Client messages received, by type", ["type"], namespace=ns, registry=r
        )
        self._message_children: dict[str, Any] = {}
        self.errors = Counter("ws_errors_total", "Error replies, by code", ["code"], namespace=ns, registry=r)
        self.db_writes = Counter(
            "db_workspace_writes_total", "Coalesced workspace update writes", namespace=ns, registry=r
        )
        self.updates = Counter("workspace_updates_total", "Workspace updates confirmed", namespace=ns, registry=r)
        self.coalesced = Counter(
            "workspace_updates_coalesced_total",
            "Updates that shared a database write with another",
            namespace=ns,
            registry=r,
        )
        self.write_latency = Histogram(
            "db_write_seconds",
            "Latency of one coalesced workspace write",
            buckets=_LATENCY_BUCKETS,
            namespace=ns,
            registry=r,
        )
        self.confirm_latency = Histogram(
            "update_confirm_seconds",
            "From receiving a workspace.update to sending its workspace.sync_confirm (the latency the README's p99 "
            "target is about)",
            buckets=_LATENCY_BUCKETS,
            namespace=ns,
            registry=r,
        )
        self.reorder_writes = Counter(
            "db_reorder_writes_total",
            "Documents rewritten by reorders (fractional order_index)",
            namespace=ns,
            registry=r,
        )
        self.http_errors = Counter(
            "http_errors_total", "REST error responses, by code", ["code"], namespace=ns, registry=r
        )
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests, by method, route template and status",
            ["method", "route", "status"],
            namespace=ns,
            registry=r,
        )
        self.http_latency = Histogram(
            "http_request_seconds",
            "HTTP request duration, by method and route template",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            namespace=ns,
            registry=r,
        )
        # Video generation (filled by the video service and poller)
        self.generations = Counter(
            "video_generations_total",
            "Video generations by provider and outcome",
            ["provider", "outcome"],
            namespace=ns,
            registry=r,
        )
        self.poll_cycle = Histogram("poller_cycle_seconds", "Duration of one poll cycle", namespace=ns, registry=r)
        self.provider_latency = Histogram(
            "provider_request_seconds", "Provider request latency", ["provider", "op"], namespace=ns, registry=r
        )
        self.provider_errors = Counter(
            "provider_errors_total", "Provider request errors", ["provider", "kind"], namespace=ns, registry=r
        )
        # jobs (PROTOCOL.md 8, app/jobs)
        self.jobs_ended = Counter(
            "jobs_ended_total",
            "Job runs that ended in this process, by kind and final status",
            ["kind", "status"],
            namespace=ns,
            registry=r,
        )
        self.jobs_running = Gauge("jobs_running", "Jobs running in this process", namespace=ns, registry=r)
        # provider callbacks (app/api/callbacks)
        self.callbacks_received = Counter(
            "callbacks_received_total",
            "Provider callbacks accepted (each only pokes the poller), by provider",
            ["provider"],
            namespace=ns,
            registry=r,
        )
        self.callbacks_refused = Counter(
            "callbacks_refused_total",
            "Provider callbacks refused with 401 (missing, bad or stale signature), by provider and reason",
            ["provider", "reason"],
            namespace=ns,
            registry=r,
        )
        # FANOUT=changestream
        self.fanout_up = Gauge(
            "fanout_stream_up", "1 while the change stream is being followed", namespace=ns, registry=r
        )
        # read from their owners when scraped (``counted`` in app.main)
        self.callbacks = CallbackCounters()
        r.register(self.callbacks)

    def counted(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A counter ``workspace_server_<name>`` whose value ``read()`` gives (the owner keeps the count)."""
        self.callbacks.add(name, documentation, read)

    def count_message(self, kind: str) -> None:
        """``messages.labels(type=kind).inc()``, with the labelled child looked up once per type (the lookup
        showed in the profile of the updates benchmark)."""
        child = self._message_children.get(kind)
        if child is None:
            child = self._message_children[kind] = self.messages.labels(type=kind)
        child.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
