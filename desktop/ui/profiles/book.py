"""Named connection profiles and recent URLs, in the settings file without secrets.

A profile is what the connection bar holds (URL, method, headers, body, initial
retry, the "Reconnect & limits" tab) under a name.  Values of secret-looking
headers (``request.is_secret``: Authorization, Proxy-Authorization, Cookie,
X-Api-Key, *token*, *secret*, ...) are written as empty values marked ``secret``;
the values themselves go to the keychain.  Reading checks every field: a
damaged entry is skipped, not fatal; a limit that does not check is read as its
default, and a profile saved before the limits existed loads with all defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING
from urllib.parse import unquote

from desktop.core.files.redact import is_secret, is_secret_param
from desktop.ui.limits import LimitsForm, normalized, parse_limits
from desktop.ui.request import RequestForm
from desktop.ui.tls import TLSForm, pin_of

if TYPE_CHECKING:
    from desktop.ui.settings import Settings

# The keychain item of a client key's passphrase (headers are lower-case names,
# query parameters "?name": neither can start with "tls:").
KEY_PASSPHRASE = "tls:key-passphrase"
RECENT_LIMIT = 20
MAX_PROFILES = 500
_METHODS = ("GET", "POST")
PASSWORD_ITEM = "@basic-auth"  # the Credentials tab's password
COOKIES_ITEM = "@cookies"  # the Credentials tab's cookies, values and all
_RETRY_MAX = 3_600_000
# The limits' text fields, stored as "limits/<name>" in each profile.
_LIMIT_TEXTS = tuple(
    f.name for f in fields(LimitsForm) if f.name != "send_last_event_id"
)


@dataclass(frozen=True, slots=True)
class Profile:
    """A named form with its secret values emptied; ``secrets`` names the items
    (lower-case header names, ``?param``) the keychain was given, so a load
    knows what to ask it for."""

    name: str
    form: RequestForm
    secrets: tuple[str, ...] = ()


def split_secrets(form: RequestForm) -> tuple[RequestForm, dict[str, str]]:
    """The form with secret values emptied, and those values by item: a header
    name, or ``?name`` for a query parameter such as ``?access_token=``."""
    url, secrets = _split_query(form.url)
    headers: list[tuple[str, str]] = []
    for name, value in form.headers:
        if is_secret(name) and value:
            secrets[name.lower()] = value
            headers.append((name, ""))
        else:
            headers.append((name, value))
    proxy = _split_password(form.proxy, secrets, False, _PROXY_PASSWORD)
    tls = form.tls
    if tls.key_passphrase:
        secrets[KEY_PASSPHRASE] = tls.key_passphrase
        tls = replace(tls, key_passphrase="")
    if form.password:
        secrets[PASSWORD_ITEM] = form.password
    if form.cookies:
        secrets[COOKIES_ITEM] = form.cookies
    plain = replace(
        form,
        url=url,
        headers=tuple(headers),
        proxy=proxy,
        tls=tls,
        password="",
        cookies=_names(form.cookies),
    )
    return plain, secrets


def _names(cookies: str) -> str:
    """``a=1; b=2`` → ``a=; b=``: which cookies a profile sends, not their values."""
    names = (piece.partition("=")[0].strip() for piece in cookies.split(";"))
    return "; ".join(f"{name}=" for name in names if name)


def join_secrets(form: RequestForm, secrets: dict[str, str]) -> RequestForm:
    """Put secret values back where :func:`split_secrets` took them from."""
    headers = tuple(
        (name, value or secrets.get(name.lower(), value))
        for name, value in form.headers
    )
    proxy = form.proxy
    start, authority, rest = _authority(proxy)
    user, at, host = authority.rpartition("@")
    if _PROXY_PASSWORD in secrets and at and ":" not in user:
        # The bar shows the proxy's user without a password: "user@host".
        proxy = f"{start}{user}:@{host}{rest}"
    proxy = _join_password(proxy, secrets, _PROXY_PASSWORD)
    url = _join_query(form.url, secrets)
    tls = form.tls
    if not tls.key_passphrase and KEY_PASSPHRASE in secrets:
        tls = replace(tls, key_passphrase=secrets[KEY_PASSPHRASE])
    return replace(
        form,
        url=url,
        headers=headers,
        proxy=proxy,
        tls=tls,
        password=form.password or secrets.get(PASSWORD_ITEM, ""),
        cookies=secrets.get(COOKIES_ITEM, form.cookies) if form.cookies else "",
    )


def secret_items(form: RequestForm) -> list[str]:
    """The items of a stored form whose values the keychain holds."""
    _url, query = _split_query(form.url, empty_too=True)
    headers = [name.lower() for name, _ in form.headers if is_secret(name)]
    proxy: dict[str, str] = {}
    _split_password(form.proxy, proxy, True, _PROXY_PASSWORD)
    passphrase = [KEY_PASSPHRASE] if form.tls.client_cert else []
    own = [PASSWORD_ITEM] * bool(form.user) + [COOKIES_ITEM] * bool(form.cookies)
    return [*headers, *query, *proxy, *passphrase, *own]


def public_url(url: str) -> str:
    """``url`` with the values of secret-looking query parameters removed."""
    return _split_query(url)[0]


_PASSWORD = "@password"  # the item of a ``user:password@`` URL's password
_PROXY_PASSWORD = "proxy@password"  # the same of the profile's proxy URL


def _authority(url: str) -> tuple[str, str, str]:
    """``url`` as (scheme + "//", authority, rest); authority "" when none."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", "", url
    cut = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    return scheme + sep, rest[:cut], rest[cut:]


def _split_password(
    url: str, secrets: dict[str, str], empty_too: bool, item: str = _PASSWORD
) -> str:
    """Move the password of ``user:password@host`` into ``secrets``: the URL
    keeps ``user:@host`` so :func:`_join_query` knows where it goes back."""
    start, authority, rest = _authority(url)
    userinfo, at, host = authority.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon or not (password or empty_too):
        return url
    secrets[item] = password
    return f"{start}{user}:@{host}{rest}"


def _split_query(url: str, *, empty_too: bool = False) -> tuple[str, dict[str, str]]:
    # Raw string surgery, not parse/urlencode: the other parameters must keep
    # their exact encoding.
    secrets: dict[str, str] = {}
    url = _split_password(url, secrets, empty_too)
    head, mark, query = url.partition("?")
    if not mark or not query:
        return url, secrets
    query, hash_mark, fragment = query.partition("#")
    parts: list[str] = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        if eq and is_secret_param(unquote(name)) and (value or empty_too):
            secrets[f"?{unquote(name)}"] = value
            parts.append(f"{name}=")
        else:
            parts.append(part)
    return f"{head}?{'&'.join(parts)}{hash_mark}{fragment}", secrets


def _join_password(url: str, secrets: dict[str, str], item: str = _PASSWORD) -> str:
    start, authority, rest = _authority(url)
    if item in secrets and ":@" in authority:
        user, _, host = authority.rpartition(":@")
        url = f"{start}{user}:{secrets[item]}@{host}{rest}"
    return url


def _join_query(url: str, secrets: dict[str, str]) -> str:
    url = _join_password(url, secrets)
    head, mark, query = url.partition("?")
    if not mark or not query:
        return url
    query, hash_mark, fragment = query.partition("#")
    parts: list[str] = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        item = f"?{unquote(name)}"
        if eq and not value and item in secrets:
            part = f"{name}={secrets[item]}"
        parts.append(part)
    return f"{head}?{'&'.join(parts)}{hash_mark}{fragment}"


def clean_name(name: str) -> str:
    """A profile name as stored: trimmed, one line."""
    return " ".join(name.split())


class ProfileBook:
    """Profiles and recent URLs over :class:`Settings` (array ``profiles``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._profiles = self._read()

    # -- profiles ----------

    def names(self) -> list[str]:
        return [p.name for p in self._profiles]

    def get(self, name: str) -> Profile | None:
        return next((p for p in self._profiles if p.name == name), None)

    def save(self, name: str, form: RequestForm) -> tuple[Profile, dict[str, str]]:
        """Add or replace ``name``; returns it and the secrets to keep elsewhere."""
        name = clean_name(name)
        if not name:
            raise ValueError("A profile needs a name.")
        parse_limits(form.limits)  # a RequestError (a ValueError) names the field
        plain, secrets = split_secrets(form)
        # Empty secret fields too: a copy's keychain entries come separately.
        items = tuple(dict.fromkeys([*secrets, *secret_items(plain)]))
        profile = Profile(name, plain, items)
        existing = [i for i, p in enumerate(self._profiles) if p.name == name]
        if existing:
            self._profiles[existing[0]] = profile
        else:
            self._profiles.append(profile)
            self._profiles.sort(key=lambda p: p.name.lower())
        self._write()
        return profile, secrets

    def delete(self, name: str) -> Profile | None:
        profile = self.get(name)
        if profile is not None:
            self._profiles.remove(profile)
            self._write()
        return profile

    def rename(self, old: str, new: str) -> Profile:
        new = clean_name(new)
        profile = self.get(old)
        if profile is None:
            raise ValueError(f"There is no profile {old!r}.")
        if not new:
            raise ValueError("A profile needs a name.")
        if new != old and self.get(new) is not None:
            raise ValueError(f"A profile named {new!r} exists already.")
        renamed = replace(profile, name=new)
        self._profiles[self._profiles.index(profile)] = renamed
        self._profiles.sort(key=lambda p: p.name.lower())
        self._write()
        return renamed

    def free_name(self, base: str) -> str:
        """``base``, or ``base (2)``, ``base (3)``... whichever is not taken."""
        name, n = base, 1
        while self.get(name) is not None:
            n += 1
            name = f"{base} ({n})"
        return name

    def _write(self) -> None:
        qt = self.settings.qt
        qt.remove("profiles")
        qt.beginWriteArray("profiles", len(self._profiles))
        for i, profile in enumerate(self._profiles):
            qt.setArrayIndex(i)
            form = profile.form
            qt.setValue("name", profile.name)
            qt.setValue("url", public_url(form.url))
            qt.setValue("method", form.method)
            qt.setValue("body", form.body)
            qt.setValue("retry_ms", "" if form.retry_ms is None else str(form.retry_ms))
            qt.setValue("proxy", _split_password(form.proxy, {}, True, _PROXY_PASSWORD))
            limits = normalized(form.limits)
            for key in _LIMIT_TEXTS:
                qt.setValue(f"limits/{key}", getattr(limits, key))
            send = "true" if limits.send_last_event_id else "false"
            qt.setValue("limits/send_last_event_id", send)
            tls = form.tls
            qt.setValue("tls/verify", "true" if tls.verify else "false")
            qt.setValue("tls/ca_file", tls.ca_file)
            qt.setValue("tls/client_cert", tls.client_cert)
            qt.setValue("tls/client_key", tls.client_key)
            qt.setValue(
                "tls/trusted", [f"{p.host}:{p.port} {p.sha256}" for p in tls.trusted]
            )
            qt.setValue("user", form.user)  # the password: keyring only
            qt.setValue("cookies", _names(form.cookies))  # values: keyring only
            qt.setValue("cookie_file", form.cookie_file)
            qt.beginWriteArray("headers", len(form.headers))
            for j, (name, value) in enumerate(form.headers):
                qt.setArrayIndex(j)
                qt.setValue("name", name)
                secret = is_secret(name)
                qt.setValue("value", "" if secret else value)
                qt.setValue("secret", "true" if secret else "false")
            qt.endArray()
        qt.endArray()
        qt.sync()

    def _read(self) -> list[Profile]:
        s = self.settings
        qt = s.qt
        profiles: dict[str, Profile] = {}
        count = min(max(qt.beginReadArray("profiles"), 0), MAX_PROFILES)
        for i in range(count):
            qt.setArrayIndex(i)
            name = clean_name(s.text("name"))
            if not name or name in profiles:
                continue
            retry = s.integer("retry_ms", -1, 0, _RETRY_MAX)
            headers: list[tuple[str, str]] = []
            for j in range(min(max(qt.beginReadArray("headers"), 0), 200)):
                qt.setArrayIndex(j)
                header = s.text("name").strip()
                if not header:
                    continue
                if s.flag("secret", False) or is_secret(header):
                    headers.append((header, ""))  # a value typed in by hand stays out
                else:
                    headers.append((header, s.text("value")))
            qt.endArray()
            form = RequestForm(
                url=public_url(s.text("url")),
                method=s.choice("method", _METHODS, "GET"),
                headers=tuple(headers),
                body=s.text("body"),
                retry_ms=None if retry < 0 else retry,
                limits=self._read_limits(),
                proxy=_split_password(s.text("proxy"), {}, True, _PROXY_PASSWORD),
                tls=self._read_tls(),
                user=s.text("user"),
                cookies=_names(s.text("cookies")),
                cookie_file=s.text("cookie_file"),
            )
            profiles[name] = Profile(name, form, tuple(secret_items(form)))
        qt.endArray()
        return sorted(profiles.values(), key=lambda p: p.name.lower())

    def _read_tls(self) -> TLSForm:
        s = self.settings
        pins = (pin_of(text) for text in s.texts("tls/trusted")[:100])
        return TLSForm(
            verify=s.flag("tls/verify", True),
            ca_file=s.text("tls/ca_file")[:4096],
            client_cert=s.text("tls/client_cert")[:4096],
            client_key=s.text("tls/client_key")[:4096],
            trusted=tuple(dict.fromkeys(pin for pin in pins if pin is not None)),
        )

    def _read_limits(self) -> LimitsForm:
        s = self.settings
        texts = {key: s.text(f"limits/{key}")[:200] for key in _LIMIT_TEXTS}
        send = s.flag("limits/send_last_event_id", True)
        return normalized(LimitsForm(**texts, send_last_event_id=send))

    # -- recent URLs ----------

    def recent(self) -> list[str]:
        seen: list[str] = []
        for url in self.settings.texts("recent/urls"):
            url = url.strip()
            if url and url not in seen and "\n" not in url:
                seen.append(url)
        return seen[:RECENT_LIMIT]

    def remember(self, url: str) -> list[str]:
        """Put ``url`` first (once) and keep the newest :data:`RECENT_LIMIT`."""
        url = public_url(url.strip())
        if not url:
            return self.recent()
        urls = [url, *(u for u in self.recent() if u != url)][:RECENT_LIMIT]
        self.settings.set("recent/urls", urls)
        self.settings.sync()
        return urls
