"""Prometheus metrics of one hub process, on a registry owned by the app (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.messages_in = Counter(
            "openlines_messages_in_total",
            "Client messages stored",
            ["channel_type"],
            registry=self.registry,
        )
        self.messages_out = Counter(
            "openlines_messages_out_total",
            "Outgoing messages by final status",
            ["channel_type", "status"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "openlines_duplicates_total",
            "Messages recognised as already stored",
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "openlines_outbox_pending",
            "Outgoing messages waiting to be sent",
            registry=self.registry,
        )
        self.socket_connections = Gauge(
            "openlines_socket_connections",
            "Open Socket.IO connections on this process",
            ["namespace"],
            registry=self.registry,
        )
        self.emit_failures = Counter(
            "openlines_emit_failures_total",
            "Realtime emits that raised",
            registry=self.registry,
        )
        self.event_failures = Gauge(
            "openlines_event_handler_failures",
            "Event subscribers that raised",
            registry=self.registry,
        )
        self.ingest_latency = Histogram(
            "openlines_ingest_seconds",
            "Time to store one inbound message",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.commit_batch = Histogram(
            "openlines_commit_batch_messages",
            "Messages stored by one group commit (one journaled insert_many)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=self.registry,
        )
