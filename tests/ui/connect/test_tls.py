"""The app's TLS: a refused certificate offers trust, the TLS tab lists and
revokes it, "Don't verify" badges the tab, profiles keep the settings and the
key's passphrase goes to the keychain; real uvicorn TLS servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
import trustme
from PySide6.QtWidgets import QFileDialog

from desktop.core.engine.certificate import TLSProblem
from desktop.core.engine.state import State
from desktop.core.engine.transport import TrustedCertificate
from desktop.core.files.recording import header_for
from desktop.ui.profiles.book import KEY_PASSPHRASE, ProfileBook
from desktop.ui.request import RequestForm, build_options
from desktop.ui.settings import Settings
from desktop.ui.stream_view import UNVERIFIED_BADGE
from desktop.ui.tls import TLSForm

from app_driver import drive, open_stream, until
from tlsserver import Certificates, make_certificates, tls_server

if TYPE_CHECKING:
    from pathlib import Path

    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certs"))


def test_a_refused_certificate_offers_trust_which_opens_and_can_be_revoked(
    loop: AppLoop, viewer: Viewer, certs: Certificates
) -> None:
    with tls_server(certs.self_signed) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))

        async def scenario() -> None:
            view = open_stream(viewer, url)
            session = view.handle.session
            await until(lambda: session.state is State.CLOSED, 10, "closed")
            assert session.failed
            assert session.tls_failure is not None
            assert session.tls_failure.problem is TLSProblem.SELF_SIGNED
            cert = session.tls_failure.certificate
            assert cert is not None
            panel = view.state
            view.refresh()
            assert panel.trust_button.isVisibleTo(panel)
            shown = panel.certificate.text().replace("\n", "")
            assert cert.fingerprint in shown
            panel.trust_button.click()
            await until(lambda: session.state is State.OPEN or session.events, 10)
            pin = TrustedCertificate("127.0.0.1", port, cert.sha256)
            assert view.bar.tls.form().trusted == (pin,)
            assert view.bar.tls.trusted.count() == 1
            assert cert.fingerprint in view.bar.tls.trusted.item(0).text()
            assert view.bar.tabs.tabText(view.bar.tabs.indexOf(view.bar.tls)).endswith(
                "\N{BULLET}"
            )
            view.refresh()
            assert panel.values["tls"].text().startswith("TLSv1.")
            assert not panel.trust_button.isVisibleTo(panel)
            # Revoke: the next connect refuses the certificate again.
            view.bar.tls.trusted.setCurrentRow(0)
            view.bar.tls.revoke.click()
            assert view.bar.tls.form().trusted == ()
            view.bar.connect_button.click()
            await until(lambda: session.tls_failure is not None, 10, "refused again")

        drive(loop, scenario(), viewer)


def test_trusting_an_expired_certificate_opens_with_a_warning_naming_the_expiry(
    loop: AppLoop, viewer: Viewer, certs: Certificates
) -> None:
    with tls_server(certs.expired) as url:

        async def scenario() -> None:
            view = open_stream(viewer, url, tls=TLSForm(ca_file=certs.ca_file))
            session = view.handle.session
            await until(lambda: session.tls_failure is not None, 10, "refused")
            assert session.tls_failure is not None
            assert session.tls_failure.problem is TLSProblem.EXPIRED
            cert = session.tls_failure.certificate
            assert cert is not None
            view.refresh()
            view.state.trust_button.click()
            await until(lambda: session.events >= 1, 10, "an event")
            view.refresh()
            assert view.notices.keys() == ["pinned-out-of-dates"]
            row = view.notices.row("pinned-out-of-dates")
            assert row is not None and row.isVisibleTo(view)
            assert row.property("network")  # the warning icon, not the info one
            assert f"expired on {cert.not_after}" in row.toolTip()
            tls_shown = view.state.values["tls"].text()
            assert f"EXPIRED {cert.not_after[:10]}" in tls_shown

        drive(loop, scenario(), viewer)


def test_dont_verify_badges_the_tab_while_it_is_on(
    loop: AppLoop, viewer: Viewer, certs: Certificates
) -> None:
    with tls_server(certs.self_signed) as url:

        async def scenario() -> None:
            view = open_stream(viewer, url, tls=TLSForm(verify=False))
            session = view.handle.session
            await until(lambda: session.events >= 1, 10, "an event")
            viewer.window.refresh()
            tabs = viewer.window.tabs
            assert tabs.tabText(tabs.indexOf(view)).startswith(UNVERIFIED_BADGE)
            view.bar.tls.no_verify.setChecked(False)
            view.bar.connect_button.click()
            await until(lambda: session.tls_failure is not None, 10, "refused")
            viewer.window.refresh()
            assert not tabs.tabText(tabs.indexOf(view)).startswith(UNVERIFIED_BADGE)

        drive(loop, scenario(), viewer)


def test_a_ca_file_from_the_tls_tab_opens_a_stream(
    loop: AppLoop, viewer: Viewer, certs: Certificates
) -> None:
    with tls_server(certs.good) as url:

        async def scenario() -> None:
            view = open_stream(viewer, url, tls=TLSForm(ca_file=certs.ca_file))
            session = view.handle.session
            await until(lambda: session.events >= 1, 10, "an event")
            assert session.tls_failure is None
            assert not session.failed

        drive(loop, scenario(), viewer)


def test_use_ca_file_after_a_refusal_reconnects_with_the_chosen_ca(
    loop: AppLoop,
    viewer: Viewer,
    certs: Certificates,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Qt's own dialog is stood in for: it would run a nested modal loop.
    chosen: list[str] = []
    asked: list[str] = []

    def pick(parent: object, caption: str, start: str, filters: str) -> tuple[str, str]:
        asked.append(filters)
        return (chosen.pop(0), filters) if chosen else ("", "")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
    stranger = tmp_path / "another-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    with tls_server(certs.good) as url:

        async def scenario() -> None:
            view = open_stream(viewer, url)
            session = view.handle.session
            await until(lambda: session.tls_failure is not None, 10, "refused")
            assert session.tls_failure is not None
            assert session.tls_failure.problem is TLSProblem.UNTRUSTED
            panel, tls = view.state, view.bar.tls
            view.refresh()
            assert panel.ca_button.isVisibleTo(panel)
            # Cancelled: nothing changes, no new connect.
            first = view.handle.task  # a connect starts a new task
            panel.ca_button.click()
            assert asked and "*.pem" in asked[-1]
            assert tls.ca_file.text() == ""
            await asyncio.sleep(0.2)
            assert view.handle.task is first
            # A CA that did not issue the certificate: refused again, by that CA.
            chosen.append(str(stranger))
            panel.ca_button.click()
            assert tls.form().ca_file == str(stranger)
            await until(lambda: view.handle.task is not first, 10, "a new connect")
            await until(lambda: session.tls_failure is not None, 10, "refused")
            assert session.tls_failure is not None
            assert session.tls_failure.problem is TLSProblem.UNTRUSTED
            # The issuing CA: the stream opens.
            chosen.append(certs.ca_file)
            panel.ca_button.click()
            assert tls.form().ca_file == certs.ca_file
            await until(lambda: session.events >= 1, 10, "an event")
            assert session.tls_failure is None and not session.failed

        drive(loop, scenario(), viewer)


def test_unreadable_tls_files_are_a_message_not_a_connect(
    loop: AppLoop, viewer: Viewer
) -> None:
    async def scenario() -> None:
        tls = TLSForm(client_cert="/nonexistent/client.pem")
        view = open_stream(viewer, "https://127.0.0.1:9/", tls=tls)
        assert "TLS settings" in view.bar.error.text()
        assert view.handle.task is None

    drive(loop, scenario(), viewer)


def test_a_profile_keeps_tls_and_the_passphrase_goes_to_the_keychain(
    loop: AppLoop,
) -> None:
    del loop  # a QApplication for the settings file
    pin = TrustedCertificate("example.test", 8443, "ab" * 32)
    tls = TLSForm(
        verify=False,
        ca_file="/etc/ca.pem",
        client_cert="/home/me/c.pem",
        client_key="/home/me/c.key",
        key_passphrase="hunter2",
        trusted=(pin,),
    )
    book = ProfileBook(Settings())
    profile, secrets = book.save("mTLS", RequestForm("https://h/x", tls=tls))
    assert secrets == {KEY_PASSPHRASE: "hunter2"}
    assert KEY_PASSPHRASE in profile.secrets
    settings_file = Settings().qt.fileName()
    with open(settings_file, encoding="utf-8") as file:
        assert "hunter2" not in file.read()
    again = ProfileBook(Settings()).get("mTLS")
    assert again is not None
    assert again.form.tls == TLSForm(
        verify=False,
        ca_file="/etc/ca.pem",
        client_cert="/home/me/c.pem",
        client_key="/home/me/c.key",
        trusted=(pin,),
    )


def test_a_recording_leaves_the_passphrase_out() -> None:
    options = build_options(
        RequestForm(
            "https://h/x",
            tls=TLSForm(client_cert="/c.pem", key_passphrase="hunter2"),
        )
    )
    assert options.transport.client_key_password == "hunter2"
    header = header_for(options, raw=False)
    assert header.options.transport.client_key_password is None
    assert "hunter2" not in str(header.to_json())
