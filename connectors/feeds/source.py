"""A feed's bytes: a local file, or an http(s) URL streamed with urllib (stdlib only).

Every failure is a one-line ConnectorError naming the feed: a missing file, an HTTP error status, a
refused connection, a timeout, and a response that ends before its Content-Length (a truncated
download must never pass for a short feed). URLs are shown with their user info (user and password)
replaced by `***`; user info in a URL is sent as HTTP Basic credentials, to that URL only.
"""

from __future__ import annotations

import http.client
import io
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from core.errors import ConnectorError

TIMEOUT = 30  # seconds to connect, and per read: a server that stops sending fails the task
BUFFER = 64 * 1024
USER_AGENT = "heartbeat-feed/1"


def safe_location(location: str) -> str:
    """The location as it may be shown: any user info of a URL replaced by `***`."""
    parts = urlsplit(location)
    if "@" not in parts.netloc:
        return location
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


class Source:
    """Where a feed's bytes come from: a path (or file: URL), or an http(s) URL."""

    def __init__(self, location: str, feed_name: str, *, base_dir: Path | None = None,
                 timeout: float = TIMEOUT):
        self.feed_name, self.timeout = feed_name, timeout
        parts = urlsplit(location)
        self.is_http = parts.scheme in ("http", "https")
        self.url = location if self.is_http else None
        self.path: Path | None = None
        if not self.is_http:
            if parts.scheme == "file":
                location = urllib.request.url2pathname(parts.path)
            elif len(parts.scheme) > 1:  # one letter: a Windows drive
                raise self.fail(f"unsupported URL scheme {parts.scheme!r} in {safe_location(location)} "
                                "(expected http, https, file or a path)")
            path = Path(location).expanduser()
            self.path = (base_dir / path if base_dir and not path.is_absolute() else path).absolute()
        self.display = safe_location(location) if self.is_http else str(self.path)

    @property
    def suffix(self) -> str:
        """The file extension of the path or URL path, lowercase ("" if none)."""
        return Path(urlsplit(self.url).path if self.url else str(self.path)).suffix.lower()

    def fail(self, reason: str) -> ConnectorError:
        return ConnectorError(f"feed {self.feed_name}: {reason}")

    def open(self) -> io.BufferedReader:
        """A binary stream of the whole content; the caller closes it (use `with`)."""
        return self._open_http() if self.is_http else self._open_file()

    def _open_file(self) -> io.BufferedReader:
        assert self.path is not None
        try:
            return open(self.path, "rb", buffering=BUFFER)
        except FileNotFoundError:
            raise self.fail(f"file {self.path} not found") from None
        except IsADirectoryError:
            raise self.fail(f"{self.path} is a directory, not a file") from None
        except OSError as exc:
            raise self.fail(f"cannot read {self.path}: {_reason(exc)}") from None

    def local_copy(self, path: Path) -> Source:
        """A source reading `path` (a downloaded copy of this one) but named like this one."""
        copy = Source(str(path), self.feed_name, timeout=self.timeout)
        copy.display = self.display
        return copy

    def _open_http(self) -> io.BufferedReader:
        return self.get()[0]

    def get(self, headers: dict[str, str] | None = None) -> tuple[io.BufferedReader, Message]:
        """GET the URL: its body (the caller closes it) and the response headers. Raises
        NotModified when `headers` carry validators the server answers 304 to; a ConnectorError
        whose `status` is the HTTP status for an error response (None: no response at all)."""
        url, opener = _opener(self.url or "")
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            response = opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 304 and headers:
                raise NotModified() from None
            error = self._http_fail(f"HTTP {exc.code} {exc.reason}")
            error.status = exc.code
            raise error from None
        except urllib.error.URLError as exc:
            raise self._http_fail(_reason(exc.reason)) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._http_fail(_reason(exc)) from None
        return io.BufferedReader(_HttpBody(response, self._http_fail), buffer_size=BUFFER), response.headers

    def _http_fail(self, reason: str) -> ConnectorError:
        error = self.fail(f"GET {self.display}: {reason}")
        error.status = None
        return error


class NotModified(Exception):
    """The server answered 304 Not Modified to a conditional request."""


class _HttpBody(io.RawIOBase):
    """A response body that raises, instead of ending quietly, when fewer bytes arrive than the
    Content-Length announced or the connection breaks (http.client's `readinto` just returns 0)."""

    def __init__(self, response: http.client.HTTPResponse, fail):
        self._response, self._fail = response, fail
        length = response.headers.get("Content-Length")
        self._expected = int(length) if length and length.strip().isdigit() else None
        self._received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            n = self._response.readinto(buffer)
        except (OSError, http.client.HTTPException) as exc:  # reset, timeout, bad chunk
            raise self._fail(f"download interrupted after {self._received} bytes: "
                             f"{_reason(exc) or type(exc).__name__}") from None
        self._received += n
        if n == 0 and len(buffer) and self._expected is not None and self._received < self._expected:
            raise self._fail(f"response truncated: received {self._received} of "
                             f"{self._expected} bytes (Content-Length)")
        return n

    def close(self) -> None:
        self._response.close()
        super().close()


def _opener(url: str) -> tuple[str, urllib.request.OpenerDirector]:
    """The URL without its user info, and an opener sending that user info as Basic credentials
    to that URL (and below it) only, not to wherever a redirect leads."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, urllib.request.build_opener()
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    bare = urlunsplit(parts._replace(netloc=host))
    passwords = urllib.request.HTTPPasswordMgrWithPriorAuth()
    passwords.add_password(None, bare, unquote(user), unquote(password), is_authenticated=True)
    return bare, urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords))


def _reason(exc: BaseException | str) -> str:
    """An OS error's own words ("Connection refused"), else the first line of the message."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
