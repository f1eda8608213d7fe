"""Redis URLs: shown with the password masked, and probed before the server starts."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (user name kept)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


async def probe(url: str) -> str | None:
    """Why Redis at ``url`` does not answer a PING, or None when it does."""
    try:
        client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=2.0,
            socket_timeout=2.0,
            retry=Retry(NoBackoff(), 0),
        )
    except ValueError as exc:  # a URL redis-py cannot read
        return str(exc)
    try:
        await client.ping()
    except RedisError as exc:
        return str(exc) or type(exc).__name__
    finally:
        await client.aclose()
    return None
