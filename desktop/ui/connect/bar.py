"""The connection bar: URL, method, headers (secrets masked), body, initial retry,
and the "Reconnect & limits" tab (desktop/ui/connect/limits_panel.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.files.redact import is_secret
from desktop.core.insight.advice import DEFAULT_IDLE_AFTER_S
from desktop.ui.connect.credentials_panel import CredentialsForm, CredentialsPanel
from desktop.ui.connect.limits_panel import LimitsPanel
from desktop.ui.connect.tls_panel import TLSPanel
from desktop.ui.form_error import RequestError
from desktop.ui.limits import parse_limits
from desktop.ui.request import RequestForm, mask, with_password, without_password
from desktop.ui.theme import named

if TYPE_CHECKING:
    from PySide6.QtCore import QObject

Index = QModelIndex | QPersistentModelIndex
_LIMITS_TAB = "Reconnect && limits"  # && : a tab text's "&" is a mnemonic
_TLS_TAB = "TLS"
_CREDENTIALS_TAB = "Credentials"
_EDIT = Qt.ItemDataRole.EditRole
_DISPLAY = Qt.ItemDataRole.DisplayRole


class HeadersModel(QAbstractTableModel):
    """Name/value rows; values of secret-looking headers are masked unless revealed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[list[str]] = []
        self.reveal = False

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else 2

    def data(self, index: Index, role: int = _DISPLAY) -> object:
        if not index.isValid():
            return None
        name, value = self._rows[index.row()]
        text = name if index.column() == 0 else value
        if role == _EDIT:
            return text
        if role == _DISPLAY:
            if index.column() == 1 and not self.reveal and is_secret(name):
                return mask(value)
            return text
        return None

    def setData(self, index: Index, value: object, role: int = _EDIT) -> bool:  # noqa: N802
        if not index.isValid() or role != _EDIT:
            return False
        self._rows[index.row()][index.column()] = str(value)
        row = index.row()
        self.dataChanged.emit(self.index(row, 0), self.index(row, 1))
        return True

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY
    ) -> object:
        if role == _DISPLAY and orientation is Qt.Orientation.Horizontal:
            return ("Header", "Value")[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def headers(self) -> tuple[tuple[str, str], ...]:
        return tuple((n, v) for n, v in self._rows if n.strip() or v.strip())

    def set_headers(self, headers: tuple[tuple[str, str], ...]) -> None:
        self.beginResetModel()
        self._rows = [[n, v] for n, v in headers]
        self.endResetModel()

    def set_header(self, name: str, value: str) -> None:
        """Replace the header ``name`` (any case), or add it; empty removes it."""
        rows = [r for r in self._rows if r[0].lower() != name.lower()]
        if value:
            rows.append([name, value])
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def add_row(self) -> int:
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
        self._rows.append(["", ""])
        self.endInsertRows()
        return len(self._rows) - 1

    def remove_row(self, row: int) -> None:
        if 0 <= row < len(self._rows):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()

    def set_reveal(self, reveal: bool) -> None:
        self.reveal = reveal
        if self._rows:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self._rows) - 1, 1))


class ConnectionBar(QFrame):
    """Emits what the user asks for; shows whether the stream runs, and errors."""

    connectRequested = Signal(object)  # noqa: N815 (a RequestForm)
    stopRequested = Signal()  # noqa: N815
    profileChosen = Signal(str)  # noqa: N815
    saveProfileRequested = Signal()  # noqa: N815
    manageProfilesRequested = Signal()  # noqa: N815

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionBar")
        self.profile_button = named(QToolButton(), "profileButton")
        self.profile_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.profile_button.setMenu(QMenu(self.profile_button))
        self.set_profiles([], "")
        self.method = named(QComboBox(), "methodCombo")
        self.method.addItems(["GET", "POST"])
        self.url = named(QLineEdit(), "urlEdit")
        self.url.setPlaceholderText("Any SSE URL, e.g. https://host/path/events")
        self.url.setClearButtonEnabled(True)
        self.more = named(QToolButton(), "requestToggle")
        # A short word: the list of tabs it opens ("Headers · Body · Limits ·
        # TLS", 189 px) left the URL a quarter of the bar in a 1366 px window.
        self.more.setText("Options")
        self.more.setCheckable(True)
        self.more.setToolTip(
            "Headers and body, reconnect and limits, proxy, TLS, credentials"
        )
        self.retry = named(QSpinBox(), "retrySpin")
        self.retry.setRange(-1, 3_600_000)
        self.retry.setSingleStep(500)
        self.retry.setSpecialValueText("default retry")
        self.retry.setSuffix(" ms retry")
        self.retry.setValue(-1)
        self.retry.setToolTip("Initial reconnection time; a server's retry: field wins")
        # As wide as its usual texts, not as "3600000 ms retry" (152 px).
        typical = self.retry.fontMetrics().horizontalAdvance("30000 ms retry")
        self.retry.setMaximumWidth(typical + 26)
        self.connect_button = named(QPushButton("Connect"), "connectButton")
        self.connect_button.setDefault(True)
        self.stop_button = named(QPushButton("Stop"), "stopButton")
        self.stop_button.setEnabled(False)
        self.error = named(QLabel(), "formError")
        self.error.setWordWrap(True)
        self.error.hide()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.profile_button, self.method, self.url, self.more):
            row.addWidget(widget)
        row.addWidget(self.retry)
        row.addWidget(self.connect_button)
        row.addWidget(self.stop_button)
        row.setStretch(2, 1)

        self.details = self._build_details()
        self.details.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(self.details)

        self.more.toggled.connect(self.details.setVisible)
        self.method.currentTextChanged.connect(self._method_changed)
        self.url.returnPressed.connect(self.request_connect)
        self.connect_button.clicked.connect(self.request_connect)
        self.stop_button.clicked.connect(self.stopRequested)
        self._method_changed(self.method.currentText())

    def _build_details(self) -> QWidget:
        tabs = named(QTabWidget(), "requestTabs")
        tabs.setDocumentMode(True)
        tabs.addTab(self._build_request(), "Headers · Body")
        self.limits = LimitsPanel()
        tabs.addTab(self.limits, _LIMITS_TAB)
        tabs.setTabToolTip(1, "How the stream reconnects, and when it stops")
        self.limits.changed.connect(self._limits_changed)
        tabs.addTab(self._build_proxy(), "Proxy")
        tabs.setTabToolTip(2, "A proxy for this stream")
        self.tls = TLSPanel()
        tabs.addTab(self.tls, _TLS_TAB)
        tabs.setTabToolTip(
            tabs.indexOf(self.tls), "Certificates: whom to trust, and the client's own"
        )
        self.tls.changed.connect(self._tls_changed)
        self.credentials = CredentialsPanel()
        tabs.addTab(self.credentials, _CREDENTIALS_TAB)
        tabs.setTabToolTip(
            tabs.indexOf(self.credentials),
            "Basic auth and cookies, for this stream's origin only",
        )
        self.credentials.changed.connect(self._credentials_changed)
        self.tabs = tabs
        return tabs

    def _tls_changed(self) -> None:
        changed = not self.tls.form().is_default()
        self.tabs.setTabText(
            self.tabs.indexOf(self.tls), _TLS_TAB + (" \N{BULLET}" if changed else "")
        )

    def show_tls(self) -> None:
        """Open the details on the TLS tab (from a certificate error)."""
        self.more.setChecked(True)
        self.tabs.setCurrentWidget(self.tls)

    def _build_proxy(self) -> QWidget:
        box = named(QWidget(), "proxyDetails")
        self.proxy = named(QLineEdit(), "proxyEdit")
        self.proxy.setPlaceholderText(
            "http://[user:password@]host:port  or  socks5://host:port"
        )
        self.proxy.setClearButtonEnabled(True)
        # The password apart and hidden, like the bearer token: never on screen.
        self.proxy_password = named(QLineEdit(), "proxyPasswordEdit")
        self.proxy_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.proxy_password.setPlaceholderText("Proxy password (with user@ above)")
        note = named(
            QLabel(
                "Empty: the environment's proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, "
                "NO_PROXY), else the desktop's proxy settings, never for localhost. "
                "A proxy set here carries localhost too. Its password goes to "
                "the keychain with the profile."
            ),
            "proxyNote",
        )
        note.setWordWrap(True)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 4, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.proxy, 3)
        row.addWidget(self.proxy_password, 1)
        layout.addLayout(row)
        layout.addWidget(note)
        layout.addStretch(1)
        return box

    def _limits_changed(self) -> None:
        """A dot on the tab when any limit differs from the default."""
        changed = not self.limits.form().is_default()
        self.tabs.setTabText(1, _LIMITS_TAB + (" \N{BULLET}" if changed else ""))

    def _credentials_changed(self) -> None:
        used = self.credentials.is_set()
        text = _CREDENTIALS_TAB + (" \N{BULLET}" if used else "")
        self.tabs.setTabText(self.tabs.indexOf(self.credentials), text)

    def _build_request(self) -> QWidget:
        box = named(QWidget(), "requestDetails")
        self.headers = HeadersModel(self)
        self.headers_view = named(QTableView(), "headersTable")
        self.headers_view.setModel(self.headers)
        self.headers_view.verticalHeader().hide()
        self.headers_view.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.Stretch
        )
        self.headers_view.setColumnWidth(0, 160)
        self.headers_view.setSelectionBehavior(
            QAbstractItemView.SelectionBehavior.SelectRows
        )
        self.headers_view.setMaximumHeight(110)
        add = named(QToolButton(), "addHeader")
        add.setText("+")
        add.setToolTip("Add a header")
        remove = named(QToolButton(), "removeHeader")
        remove.setText("\N{MINUS SIGN}")
        remove.setToolTip("Remove the selected header")
        self.reveal = named(QCheckBox("Show secrets"), "revealSecrets")
        self.token = named(QLineEdit(), "bearerEdit")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("Bearer token → Authorization header")
        self.body = named(QPlainTextEdit(), "bodyEdit")
        self.body.setPlaceholderText('POST body, e.g. {"prompt": "hi"}')
        self.body.setMaximumHeight(110)

        grid = QGridLayout(box)
        grid.setContentsMargins(0, 4, 0, 0)
        grid.addWidget(self.headers_view, 0, 0, 3, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addWidget(self.reveal)
        buttons.addStretch(1)
        self.idle = idle_spin()  # the idle warning's threshold (notices bar)
        buttons.addWidget(self.idle)
        grid.addLayout(buttons, 3, 0)
        grid.addWidget(self.token, 4, 0)
        grid.addWidget(self.body, 0, 1, 5, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)

        add.clicked.connect(self._add_header)
        remove.clicked.connect(self._remove_header)
        self.reveal.toggled.connect(self.headers.set_reveal)
        self.reveal.toggled.connect(lambda on: self.credentials.set_reveal(on))
        self.token.editingFinished.connect(self._apply_token)
        return box

    def _add_header(self) -> None:
        row = self.headers.add_row()
        self.headers_view.edit(self.headers.index(row, 0))

    def _remove_header(self) -> None:
        self.headers.remove_row(self.headers_view.currentIndex().row())

    def _apply_token(self) -> None:
        token = self.token.text().strip()
        if token:
            self.headers.set_header("Authorization", f"Bearer {token}")
            self.token.clear()

    def _method_changed(self, method: str) -> None:
        self.body.setEnabled(method == "POST")

    def request_connect(self) -> None:
        """Ask to connect with the form, once its limits parse (else point at them)."""
        self._apply_token()
        try:
            parse_limits(self.limits.form())
        except RequestError as exc:  # point at the field, not just say it
            self.show_error(exc.message)
            self.more.setChecked(True)
            self.tabs.setCurrentWidget(self.limits)
            self.limits.focus_field(exc.field)
            return
        self.connectRequested.emit(self.form())

    # -- what the owner sets ----------

    def form(self) -> RequestForm:
        retry = self.retry.value()
        credentials = self.credentials.form()
        return RequestForm(
            url=self.url.text(),
            method=self.method.currentText(),
            headers=self.headers.headers(),
            body=self.body.toPlainText(),
            retry_ms=None if retry < 0 else retry,
            limits=self.limits.form(),
            proxy=with_password(self.proxy.text().strip(), self.proxy_password.text()),
            tls=self.tls.form(),
            user=credentials.user,
            password=credentials.password,
            cookies=credentials.cookies,
            cookie_file=credentials.cookie_file,
        )

    def set_form(self, form: RequestForm) -> None:
        self.url.setText(form.url)
        self.method.setCurrentText(form.method)
        self.headers.set_headers(form.headers)
        self.body.setPlainText(form.body)
        self.retry.setValue(-1 if form.retry_ms is None else form.retry_ms)
        self.limits.set_form(form.limits)
        proxy, password = without_password(form.proxy)
        self.proxy.setText(proxy)
        self.proxy_password.setText(password)
        self.tls.set_form(form.tls)
        self.credentials.set_form(
            CredentialsForm(form.user, form.password, form.cookies, form.cookie_file)
        )

    def set_profiles(self, names: list[str], current: str) -> None:
        """The profile menu: pick one, save the bar as one, manage them."""
        self.profile_button.setText(current or "Profiles")
        self.profile_button.setToolTip(
            f"Profile {current!r}: load, save or manage profiles"
            if current
            else "Load a saved connection profile, or save this one"
        )
        menu = self.profile_button.menu()
        menu.clear()
        for name in names:
            action = menu.addAction(name.replace("&", "&&"))
            action.setCheckable(True)
            action.setChecked(name == current)
            action.triggered.connect(lambda _=False, n=name: self.profileChosen.emit(n))
        if not names:
            menu.addAction("No profiles yet").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Save as profile…", self.saveProfileRequested.emit)
        manage = menu.addAction("Manage profiles…", self.manageProfilesRequested.emit)
        manage.setEnabled(bool(names))

    def set_running(self, running: bool) -> None:
        self.connect_button.setText("Reconnect" if running else "Connect")
        self.stop_button.setEnabled(running)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))


def idle_spin() -> QDoubleSpinBox:
    """The idle warning's threshold (the state panel's notices), kept with the
    stream's request options."""
    spin = named(QDoubleSpinBox(), "idleSpin")
    spin.setRange(1.0, 3600.0)
    spin.setDecimals(0)
    spin.setSingleStep(5.0)
    spin.setValue(DEFAULT_IDLE_AFTER_S)
    spin.setPrefix("warn when idle ")
    spin.setSuffix(" s")
    spin.setToolTip(
        "Warn when an open connection carries no byte for this long "
        "(proxies often cut idle connections after 30 to 60 s)"
    )
    return spin
