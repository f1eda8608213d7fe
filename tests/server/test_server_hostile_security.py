"""The server against hostile clients and pages: token redaction, Host, Origin, CSP.

A token must never be printed or kept (access log, /api/streams, /api/lab/sent,
/api/lab/browser, a redirect's Location), whatever the spelling of its parameter;
a web page elsewhere must not reach a loopback server through DNS rebinding or a
"simple" cross-site POST; `/` and `/docs` run no third party's code.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import httpx
import pytest

from server.__main__ import check, parser
from server.auth import redact_query, redact_url
from server.trust import LOOPBACK_HOSTS, hosts_for_bind, is_own_origin, refusal

from liveserver import fast

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio
TOKEN = "Tok3n-9f2"


def port_of(live: LiveServer) -> int:
    return int(live.url.rsplit(":", 1)[1])


# -- 1. redaction by the decoded name --------------------------------------------


@pytest.mark.parametrize(
    ("query", "redacted"),
    [
        ("access_token=T", "access_token=***"),
        ("access%5Ftoken=T", "access%5Ftoken=***"),
        ("ACCESS_TOKEN=T&rate=5", "ACCESS_TOKEN=***&rate=5"),
        ("Access%5FToken=T", "Access%5FToken=***"),
        ("access+token=T", "access+token=***"),
        ("token=T&api_key=K&sig=S", "token=***&api_key=***&sig=***"),
        ("rate=5&size=2%20", "rate=5&size=2%20"),  # untouched pieces keep their bytes
        ("access_token=", "access_token="),
        ("", ""),
    ],
)
def test_redaction_judges_the_decoded_name_in_any_case(
    query: str, redacted: str
) -> None:
    assert redact_query(query) == redacted


def test_a_reported_url_loses_its_token_and_password() -> None:
    assert (
        redact_url("http://u:pw@h:1/api/events?ACCESS%5FTOKEN=T#access_token=F")
        == "http://u:***@h:1/api/events?ACCESS%5FTOKEN=***#access_token=***"
    )
    assert redact_url("/api/events?rate=1") == "/api/events?rate=1"


async def test_encoded_and_misspelt_tokens_are_never_shown(
    make_server: Callable[[Settings], LiveServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="server.access")
    live = make_server(fast(token=TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:
        ok = await client.get(f"/api/info?access%5Ftoken={TOKEN}")
        assert ok.status_code == 200  # it authenticates, as before
        misspelt = await client.get(f"/api/info?ACCESS_TOKEN={TOKEN}")
        assert misspelt.status_code == 401
        async with client.stream("GET", f"/api/events?Access%5FToken={TOKEN}") as r:
            assert r.status_code == 401
        async with client.stream("GET", f"/api/events?access%5Ftoken={TOKEN}") as r:
            assert r.status_code == 200
            streams = (await client.get("/api/streams", headers=auth)).text
            sent = (await client.get("/api/lab/sent", headers=auth)).text
    assert "/api/events?access%5Ftoken=***" in streams
    assert TOKEN not in streams and TOKEN not in sent
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "access%5Ftoken=***" in logged and "ACCESS_TOKEN=***" in logged
    assert TOKEN not in logged


async def test_browser_observations_are_kept_without_the_token(
    live: LiveServer,
) -> None:
    stream = f"http://127.0.0.1:9/api/events?access_token={TOKEN}&rate=1"
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:
        observation = {"kind": "open", "ready_state": 1, "at": 1.0, "stream": stream}
        assert (await client.post("/api/lab/browser", json=observation)).is_success
        kept = (await client.get("/api/lab/browser")).json()["observations"]
    assert kept[0]["stream"] == "http://127.0.0.1:9/api/events?access_token=***&rate=1"


async def test_a_trailing_slash_gets_a_readable_404_not_a_redirect(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(token=TOKEN))
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:
        r = await client.get(f"/api/info/?access_token={TOKEN}")
        assert r.status_code == 404
        assert "location" not in r.headers
        assert r.json()["detail"] == "no route at /api/info/: did you mean /api/info?"
        assert TOKEN not in r.text
        other = await client.get("/api/nothing/", params={"access_token": TOKEN})
        assert other.status_code == 404 and other.json() == {"detail": "Not Found"}


# -- 2. the page and the docs ------------------------------------------------------


async def test_the_page_forbids_framing_referrers_and_foreign_scripts(
    live: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:
        r = await client.get("/")
    assert r.headers["referrer-policy"] == "no-referrer"
    csp = dict(
        directive.strip().split(" ", 1)
        for directive in r.headers["content-security-policy"].split(";")
    )
    assert csp["frame-ancestors"] == "'none'"
    assert csp["default-src"] == "'none'"
    script_src = csp["script-src"].split()
    assert len(script_src) == 1 and script_src[0].startswith("'sha256-")
    assert "<script src" not in r.text


async def test_docs_load_no_script_from_another_origin_and_take_a_token(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(token=TOKEN))
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:
        assert (await client.get("/docs")).status_code == 401
        page = await client.get("/docs", params={"access_token": TOKEN})
        assert page.status_code == 200
        assert "https://" not in page.text and "http://" not in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self' 'sha256-" in csp and "frame-ancestors 'none'" in csp
        # Swagger UI's own files need no token (a <script src> cannot send one) ...
        js = await client.get("/docs/assets/swagger-ui-bundle.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith(
            "text/javascript"
        )
        assert b"SwaggerUIBundle" in js.content
        assert (await client.get("/docs/assets/swagger-ui.css")).status_code == 200
        # ... and nothing else is public.
        assert (await client.get("/docs/assets/x.js")).status_code == 401
        assert (await client.get("/openapi.json")).status_code == 401
        missing = await client.get(
            "/docs/assets/x.js", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert missing.status_code == 404


# -- 3. Host and Origin -------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("attacker.example", 400),
        ("attacker.example:{port}", 400),
        ("127.0.0.1.attacker.example:{port}", 400),
        ("10.0.0.1:{port}", 400),  # an address, but not one a loopback bind has
        ("localhost:{port}", 200),
        ("LOCALHOST", 200),
        ("127.0.0.1:{port}", 200),
        ("[::1]:{port}", 200),
    ],
)
async def test_a_loopback_server_answers_only_loopback_hosts(
    live: LiveServer, host: str, status: int
) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:
        r = await client.get(
            "/api/info", headers={"Host": host.format(port=port_of(live))}
        )
    assert r.status_code == status, r.text


async def test_allowed_hosts_and_ip_literals_on_a_wildcard_bind(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(allowed_hosts=("app.example",), any_ip_host=True))
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:

        async def status(host: str) -> int:
            return (await client.get("/api/info", headers={"Host": host})).status_code

        assert await status("app.example") == 200
        assert await status("10.0.0.1:8000") == 200
        assert await status("[fe80::1]:8000") == 200
        assert await status("localhost") == 400  # not in this server's list
        assert await status("rebind.attacker.example") == 400


def test_hosts_for_each_kind_of_bind() -> None:
    assert hosts_for_bind("127.0.0.1", "127.0.0.1", [], loopback=True) == (
        LOOPBACK_HOSTS
    )
    assert hosts_for_bind("127.0.0.2", "127.0.0.2", [], loopback=True) == (
        *LOOPBACK_HOSTS,
        "127.0.0.2",
    )
    assert hosts_for_bind("192.0.2.7", "192.0.2.7", ["LB.example"], loopback=False) == (
        "192.0.2.7",
        "lb.example",
    )
    assert hosts_for_bind("2001:db8::7", "2001:db8::7", [], loopback=False) == (
        "[2001:db8::7]",
    )
    wildcard = hosts_for_bind("0.0.0.0", "0.0.0.0", ["x.example"], loopback=False)
    assert set(LOOPBACK_HOSTS) < set(wildcard) and "x.example" in wildcard


@pytest.mark.parametrize(
    ("origin", "host", "own"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://localhost:8000", "127.0.0.1:8000", True),  # a loopback alias
        ("http://[::1]:8000", "localhost:8000", True),
        ("http://127.0.0.1:3000", "127.0.0.1:8000", False),  # another local app
        ("http://evil.example", "127.0.0.1:8000", False),
        ("http://evil.example:8000", "127.0.0.1:8000", False),
        ("https://app.example", "app.example", True),  # behind a TLS proxy
        ("http://app.example:8080", "app.example", False),
        ("null", "127.0.0.1:8000", False),
        ("", "127.0.0.1:8000", False),
    ],
)
def test_own_origin(origin: str, host: str, own: bool) -> None:
    assert is_own_origin(origin, host) is own


def test_refusal_rules() -> None:
    host, cors = "127.0.0.1:8000", ("http://page.test",)
    assert refusal("POST", None, None, host, cors) is None  # curl, the app
    assert refusal("GET", "http://evil.example", "cross-site", host, cors) is None
    assert refusal("POST", "http://page.test", "cross-site", host, cors) is None
    assert refusal("DELETE", None, "cross-site", host, cors)
    assert refusal("PUT", "http://evil.example", None, host, cors)
    assert refusal("PATCH", "null", "same-origin", host, cors)


async def test_a_page_elsewhere_cannot_change_state(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(cors_origins=("http://page.test",)))
    own = f"http://localhost:{port_of(live)}"
    plain = {"Content-Type": "text/plain"}
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:

        async def drop(**headers: str) -> httpx.Response:
            return await client.post("/api/lab/drop", headers={**plain, **headers})

        evil = await drop(Origin="http://evil.example")
        assert evil.status_code == 403
        assert "--cors-origin http://evil.example" in evil.json()["detail"]
        assert (await drop(**{"Sec-Fetch-Site": "cross-site"})).status_code == 403
        other_port = f"http://127.0.0.1:{port_of(live) + 1}"
        assert (await drop(Origin=other_port)).status_code == 403
        assert (await drop(Origin=own)).status_code == 200
        assert (await drop(Origin="http://page.test")).status_code == 200
        assert (await drop()).status_code == 200
        deleted = await client.delete(
            "/api/lab/browser", headers={"Origin": "http://evil.example"}
        )
        assert deleted.status_code == 403
        read = await client.get("/api/info", headers={"Origin": "http://evil.example"})
        assert read.status_code == 200  # reading: CORS keeps the body from the page


# -- 5. the command line ------------------------------------------------------------


@pytest.mark.parametrize("token", [" ", "", "\t", " T"])
def test_a_blank_token_is_refused(token: str) -> None:
    problems, _ = check(parser().parse_args(["--token", token]), token)
    assert len(problems) == 1 and "blank" in problems[0]


def test_no_token_on_a_public_bind_warns_and_insecure_is_its_hidden_alias() -> None:
    for flag in ("--no-token", "--insecure"):
        args = parser().parse_args(["--host", "0.0.0.0", flag])
        problems, warnings = check(args, None)
        assert problems == []
        assert len(warnings) == 1 and "without a token" in warnings[0]
    problems, _ = check(parser().parse_args(["--host", "0.0.0.0"]), None)
    assert "--no-token" in problems[0]
    assert check(parser().parse_args(["--no-token"]), None) == ([], [])  # loopback
    bad = parser().parse_args(
        ["--allowed-host", "a*.example", "--allowed-host", "b:80"]
    )
    problems, _ = check(bad, None)
    assert len(problems) == 2 and "--allowed-host b:80" in problems[1]
    shown = parser().format_help()
    assert "--no-token" in shown and "--insecure" not in shown
    assert "--allowed-host" in shown


@pytest.mark.parametrize(
    "name",
    [
        "access_token",
        "ACCESS_TOKEN",
        "api_key",
        "sig",
        "Signature",
        "auth",
        "page",
        "monkey",
        "password",
        "x-secret",
        "cookie",
        "authority",
        "since",
        "",
    ],
)
def test_the_server_and_the_app_agree_on_secret_parameters(name: str) -> None:
    """server/auth.py keeps a copy of desktop/core/files/redact.py's rule (the
    server never imports desktop): the two must judge every name alike."""
    from desktop.core.files import redact
    from server import auth

    assert auth.is_secret_param(name) == redact.is_secret_param(name)
