"""Random JSON and query strings at every route in the OpenAPI schema: never a 500.

A small stand-in for schemathesis (not a dependency): the routes come from the
app's own /openapi.json, so a new route is fuzzed without touching this test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from liveserver import fast, start

if TYPE_CHECKING:
    from collections.abc import Iterator

    from liveserver import LiveServer

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
NAMES = st.sampled_from(
    [
        "kind",
        "params",
        "steps",
        "interval_s",
        "lines",
        "fail_at",
        "seconds",
        "count",
        "status",
        "ms",
        "mode",
        "buffer_bytes",
        "rate",
        "size",
        "retry_after_s",
    ]
)
KIND_BODY = st.fixed_dictionaries(
    {"kind": st.sampled_from(["countdown", "build", "download", "flaky", "x"])},
    optional={"params": st.dictionaries(NAMES, JSON, max_size=4)},
)
BODIES = (
    KIND_BODY | st.dictionaries(NAMES | st.text(max_size=8), JSON, max_size=4) | JSON
)
QUERY = st.dictionaries(
    NAMES, st.text(max_size=12) | st.integers().map(str), max_size=3
)
SEGMENT = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#%"),
    min_size=1,
    max_size=12,
)


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[LiveServer]:
    # Long jobs are cut short: every one runs at most this many events.
    live = start(fast(job_log_size=100, max_finished_jobs=5))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(fuzzed: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzzed.url, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def operations(client: httpx.Client) -> list[tuple[str, str]]:
    schema = client.get("/openapi.json").json()
    ops = [(m.upper(), p) for p, item in schema["paths"].items() for m in item]
    assert ("POST", "/api/jobs") in ops and ("POST", "/api/lab/refuse") in ops
    return ops


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_route_answers_500(
    client: httpx.Client, operations: list[tuple[str, str]], data: st.DataObject
) -> None:
    method, path = data.draw(st.sampled_from(operations))
    while "{" in path:
        head, _, rest = path.partition("{")
        path = head + data.draw(SEGMENT) + rest.partition("}")[2]
    query = data.draw(QUERY)
    if method == "POST":
        body = data.draw(BODIES)
        r = client.post(path, json=body, params=query)
        status = r.status_code
    else:
        with client.stream(method, path, params=query) as r:
            status = r.status_code  # headers are enough: streams are not read
    assert status < 500, (method, path, query, status)
    if method == "POST" and path == "/api/jobs" and status == 201:
        client.post(f"/api/jobs/{r.json()['id']}/cancel")
    if path.startswith("/api/lab/"):
        client.post("/api/lab/reset")
