"""The ways out: email over SMTP, SMS through a provider's HTTP API, webhooks over HTTP. Each raises
`ChannelError` (with the HTTP status when there is one) on failure; timeouts are short and set by settings."""
from __future__ import annotations

import base64
import http.client
import json
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlencode, urlsplit


class ChannelError(Exception):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    parts = urlsplit(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers={**headers, "content-length": str(len(body)),
                                                         "user-agent": "jixiao-notifications/1"})
        response = conn.getresponse()
        return response.status, response.read(4096)
    except (OSError, http.client.HTTPException) as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()


def send_email(settings, to: str, subject: str, body: str, message_id: str | None = None) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message["Message-ID"] = make_msgid(idstring=message_id, domain="jixiao.local")
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}") from None


def send_sms(settings, to: str, body: str) -> int:
    """Twilio's Messages API: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To, From,
    Body, HTTP basic auth AccountSid:AuthToken; 201 with the message `sid`. The base URL is configuration (a
    compatible gateway, or a local sink in tests)."""
    if settings.sms_provider != "twilio":
        raise ChannelError(f"no SMS provider ({settings.sms_provider})")
    url = f"{settings.sms_base_url.rstrip('/')}/2010-04-01/Accounts/{settings.sms_account_sid}/Messages.json"
    auth = base64.b64encode(f"{settings.sms_account_sid}:{settings.sms_auth_token}".encode()).decode()
    form = urlencode({"To": to, "From": settings.sms_from, "Body": body}).encode()
    status, answer = _post(url, form, {"authorization": f"Basic {auth}",
                                       "content-type": "application/x-www-form-urlencoded"}, settings.sms_timeout)
    if status not in (200, 201):
        try:
            detail = json.loads(answer).get("message", "")
        except ValueError:
            detail = answer[:200].decode(errors="replace")
        raise ChannelError(f"SMS provider answered {status}: {detail}", status)
    return status


def post_webhook(url: str, body: bytes, headers: dict[str, str], timeout: float,
                 pool: HttpPool | None = None) -> int:
    if pool is not None:
        status = pool.post(url, body, headers, timeout)
    else:
        status, _ = _post(url, body, headers, timeout)
    if not 200 <= status < 300:
        raise ChannelError(f"receiver answered {status}", status)
    return status


ANSWER_LIMIT = 65536  # bytes of an answer read to keep its connection; a longer one closes the connection
IDLE_SECONDS = 15.0  # an idle connection older than this is closed rather than reused (servers drop idle ones)


class _Connection:
    __slots__ = ("file", "idle_since", "sock")

    def __init__(self, sock):
        self.sock, self.file, self.idle_since = sock, sock.makefile("rb"), 0.0

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


class HttpPool:
    """A lean HTTP/1.1 client for webhooks: persistent keep-alive connections per origin (scheme, host, port),
    a request written in one send, the answer's status line and headers parsed by hand and its body read and
    dropped. http.client opens a connection per call and parses headers with the email package; on green sockets
    this is a fraction of its CPU. A request that fails on a reused connection before any answer (the receiver
    closed it while idle) is sent once more on a new one: receivers deduplicate on `webhook-id` anyway."""

    def __init__(self, user_agent: str = "jixiao-notifications/1"):
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._user_agent = user_agent
        self._tls: ssl.SSLContext | None = None

    def close(self) -> None:
        for connections in self._idle.values():
            for conn in connections:
                conn.close()
        self._idle.clear()

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        parts = urlsplit(url)
        https = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if https else 80)
        origin = (parts.scheme, host, port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = host if parts.port is None else f"{host}:{port}"
        if ":" in host and not host.startswith("["):  # an IPv6 literal
            host_header = f"[{host}]" if parts.port is None else f"[{host}]:{port}"
        head = [f"POST {path} HTTP/1.1", f"host: {host_header}", f"user-agent: {self._user_agent}",
                f"content-length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        while True:
            conn, reused = self._take(origin, https, host, port, timeout)
            try:
                conn.sock.settimeout(timeout)
                conn.sock.sendall(request)
                status, keep = self._answer(conn.file)
            except _Stale:
                conn.close()
                if reused:
                    continue  # the receiver closed it while idle: once more on a new connection
                raise ChannelError("RemoteDisconnected: the receiver closed the connection without an answer") \
                    from None
            except (OSError, ValueError) as exc:
                conn.close()
                if reused and isinstance(exc, (BrokenPipeError, ConnectionResetError)):
                    continue
                raise ChannelError(f"{type(exc).__name__}: {exc}") from None
            except BaseException:  # the caller's timeout: the answer may come later on this connection
                conn.close()
                raise
            if keep:
                conn.idle_since = time.monotonic()
                self._idle.setdefault(origin, []).append(conn)
            else:
                conn.close()
            return status

    def _take(self, origin, https: bool, host: str, port: int, timeout: float) -> tuple[_Connection, bool]:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since < IDLE_SECONDS:
                return conn, True
            conn.close()
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if https:
                if self._tls is None:
                    self._tls = ssl.create_default_context()
                sock = self._tls.wrap_socket(sock, server_hostname=host)
        except OSError as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}") from None
        return _Connection(sock), False

    @staticmethod
    def _answer(file) -> tuple[int, bool]:
        """The status and whether the connection may be reused; the body is read and dropped."""
        while True:
            line = file.readline(8192)
            if not line:
                raise _Stale()
            version, _, rest = line.decode("latin-1").partition(" ")
            status = int(rest[:3])
            length, chunked, close = None, False, version != "HTTP/1.1"
            while True:
                header = file.readline(8192)
                if header in (b"\r\n", b"\n"):
                    break
                if not header:
                    raise ConnectionResetError("the answer's headers ended early")
                name, _, value = header.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding":
                    chunked = "chunked" in value
                elif name == "connection":
                    close = "close" in value if version == "HTTP/1.1" else "keep-alive" not in value
            if 100 <= status < 200:
                continue  # an interim answer: the real one follows
            if status in (204, 304):
                return status, not close
            if chunked:
                total = 0
                while True:
                    size = int(file.readline(1024).split(b";")[0], 16)
                    if size == 0:
                        while file.readline(8192) not in (b"\r\n", b"\n", b""):  # trailers, then the blank line
                            pass
                        return status, not close
                    total += size
                    if total > ANSWER_LIMIT:
                        return status, False
                    file.read(size + 2)  # the chunk and its CRLF
            if length is None:
                return status, False  # the body runs to the end of the connection: not reusable
            if length > ANSWER_LIMIT:
                return status, False
            if length and len(file.read(length)) < length:
                return status, False
            return status, not close


class _Stale(Exception):
    """The connection ended before any answer."""
