"""One outgoing message, as composed and as put on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    language: str = "id, en"


def as_email(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="lunas.local")
    message["Content-Language"] = mail.language
    message.set_content(mail.text)
    return message
