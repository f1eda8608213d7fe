"""Settings: every knob of one server instance, as one value."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field

from server.trust import LOOPBACK_HOSTS


def _fd_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 65_536 if soft == resource.RLIM_INFINITY else soft


def fd_reserve() -> int:
    """Descriptors kept for all but connections: files, logs, and the sockets
    asyncio accepts in one go before any of them can be closed (`listen_backlog`).
    """
    return max(64, _fd_limit() // 8)


def default_max_connections() -> int:
    """The soft RLIMIT_NOFILE less `fd_reserve` (at least 16)."""
    return max(16, _fd_limit() - fd_reserve())


def listen_backlog() -> int:
    """The listen queue, which is also how many sockets asyncio accepts per loop
    pass (BaseSelectorEventLoop._accept_connection): half the fd reserve, so a
    burst past the connection cap is closed before the descriptors run out."""
    return max(16, min(2048, fd_reserve() // 2))


@dataclass(frozen=True, slots=True)
class Settings:
    """What `create_app` needs; tests use pings and retries of tens of ms."""

    retry_ms: int = 3000  # announced with ``retry:`` on every connect
    ping_s: float = 15.0  # a keep-alive comment after this long without a write
    ping_event: bool = False  # send ``event: ping`` instead of a comment
    log_size: int = 10_000  # events kept by the all-events topic for replay
    log_bytes: int = 16 * 1024 * 1024  # and the bytes it keeps alive at most
    job_log_size: int = 10_000  # events kept per job topic (its whole story)
    job_log_bytes: int = 4 * 1024 * 1024  # bytes kept per job topic (events, frames)
    max_finished_jobs: int = 100  # finished jobs kept, then forgotten (404)
    finished_jobs_bytes: int = 32 * 1024 * 1024  # their logs' bytes, all together
    max_running_jobs: int = 64  # a start past it gets 429 with Retry-After
    token: str | None = None  # bearer token every route needs, if set
    lab: bool = False  # mount /api/lab/... (fault injection)
    cors_origins: tuple[str, ...] = ()  # CORS off unless origins are given
    # This server's own origins under its loopback aliases (http://localhost:PORT,
    # http://127.0.0.1:PORT …): CORS lets a page on one read streams on another,
    # which browsers pool apart (the "six connections" lesson's page does so).
    own_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS  # Host names answered (trust.py)
    any_ip_host: bool = False  # also answer any IP-literal Host (a wildcard bind)
    max_body_bytes: int = 1024 * 1024  # a longer request body gets 413
    max_connections: int | None = None  # None: the fd limit less a reserve
    headers_timeout_s: float = 10.0  # to complete a request's headers; 0: none
    body_timeout_s: float = 10.0  # to receive a body once headers are in; 0: none
    lab_sent_bytes: int = 32 * 1024 * 1024  # the lab's sent logs, all together
    backlog_bytes: int = 1_000_000  # unsent bytes a subscription may queue
    send_timeout_s: float = 10.0  # blocked or unacknowledged this long: dropped
    batch_bytes: int = 64 * 1024  # largest single write of ready events
    stats_interval_s: float = 1.0  # period of the `stats` gauge on /api/events
    shutdown_timeout_s: float = 2.0  # streams are closed within this on SIGTERM
    broker_url: str | None = None  # redis:// or rediss://; None: in-memory log
    redis_prefix: str = "sse-viewer:"  # key prefix of the Redis broker's streams
    worker_id: str | None = None  # X-SSE-Worker; None: w1-<pid> (one process)
    workers: int = 1  # worker processes serving the port (`serve --workers`)
    per_worker_logs: bool = False  # several workers, each with its own memory log
    job_lease_s: float = 10.0  # Redis: a dead worker's jobs end within ~1.3 leases
    name: str = field(default="sse-viewer server")

    def connection_cap(self) -> int:
        """Open connections at most (``max_connections`` or from the fd limit)."""
        if self.max_connections is not None:
            return self.max_connections
        return default_max_connections()

    def request_cap(self) -> int:
        """Requests under way at most: room is left for `/api/info` and the API."""
        cap = self.connection_cap()
        return max(1, cap - max(4, cap // 16))

    def public(self) -> dict[str, object]:
        """The settings `/api/info` shows (never the token)."""
        return {
            "retry_ms": self.retry_ms,
            "ping_s": self.ping_s,
            "ping_event": self.ping_event,
            "log_size": self.log_size,
            "job_log_size": self.job_log_size,
            "job_log_bytes": self.job_log_bytes,
            "max_finished_jobs": self.max_finished_jobs,
            "finished_jobs_bytes": self.finished_jobs_bytes,
            "max_running_jobs": self.max_running_jobs,
            "backlog_bytes": self.backlog_bytes,
            "max_body_bytes": self.max_body_bytes,
            "max_connections": self.connection_cap(),
            "headers_timeout_s": self.headers_timeout_s,
            "body_timeout_s": self.body_timeout_s,
            "send_timeout_s": self.send_timeout_s,
            "stats_interval_s": self.stats_interval_s,
        }
