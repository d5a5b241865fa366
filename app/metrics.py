"""Prometheus metrics, in a registry of the app's own (so several apps in one test process don't clash)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("ws_connections", "Open WebSocket connections", registry=r)
        self.messages = Counter("ws_messages_total", "Client messages received, by type", ["type"], registry=r)
        self._message_children: dict[str, Any] = {}
        self.errors = Counter("ws_errors_total", "Error replies, by code", ["code"], registry=r)
        self.db_writes = Counter("db_workspace_writes_total", "Coalesced workspace update writes", registry=r)
        self.updates = Counter("workspace_updates_total", "Workspace updates confirmed", registry=r)
        self.coalesced = Counter(
            "workspace_updates_coalesced_total", "Updates that shared a database write with another", registry=r
        )
        self.write_latency = Histogram(
            "db_write_seconds",
            "Latency of one coalesced workspace write",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.reorder_writes = Counter(
            "db_reorder_writes_total", "Documents rewritten by reorders (fractional order_index)", registry=r
        )
        self.http_errors = Counter("http_errors_total", "REST error responses, by code", ["code"], registry=r)
        # Video generation (filled by the video service and poller)
        self.generations = Counter(
            "video_generations_total", "Video generations by provider and outcome", ["provider", "outcome"], registry=r
        )
        self.poll_cycle = Histogram("poller_cycle_seconds", "Duration of one poll cycle", registry=r)
        self.provider_latency = Histogram(
            "provider_request_seconds", "Provider request latency", ["provider", "op"], registry=r
        )
        self.provider_errors = Counter(
            "provider_errors_total", "Provider request errors", ["provider", "kind"], registry=r
        )

        # read from their owners when scraped (set_function in app.main)
        self.write_commands = Gauge(
            "db_workspace_write_commands",
            "Database commands that carried the writer's workspace writes (several workspaces share one bulk_write)",
            registry=r,
        )
        # FANOUT=changestream
        self.fanout_up = Gauge("fanout_stream_up", "1 while the change stream is being followed", registry=r)
        self.fanout_resumes = Gauge(
            "fanout_stream_resumes", "Times the change stream was reopened from its resume token", registry=r
        )
        self.fanout_delivered = Gauge(
            "fanout_events_delivered", "Events the change stream handed to this process's connections", registry=r
        )

    def count_message(self, kind: str) -> None:
        """``messages.labels(type=kind).inc()``, with the labelled child looked up once per type (the lookup
        showed in the profile of the updates benchmark)."""
        child = self._message_children.get(kind)
        if child is None:
            child = self._message_children[kind] = self.messages.labels(type=kind)
        child.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
