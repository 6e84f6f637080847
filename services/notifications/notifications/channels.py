"""The ways out: email over SMTP, SMS through a provider's HTTP API, webhooks over HTTP. Each raises
`ChannelError` (with the HTTP status when there is one) on failure; timeouts are short and set by settings."""
from __future__ import annotations

import base64
import http.client
import json
import smtplib
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


def post_webhook(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    status, _ = _post(url, body, headers, timeout)
    if not 200 <= status < 300:
        raise ChannelError(f"receiver answered {status}", status)
    return status
