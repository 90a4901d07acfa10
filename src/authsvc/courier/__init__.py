"""Mail: the messages authsvc sends, the senders (SMTP, log) and the durable outbox."""

from authsvc.courier.courier import Courier
from authsvc.courier.messages import HeaderInjection, MessageFactory
from authsvc.courier.sender import LogSender, MailRejected, MailSender, SmtpSender, make_sender

__all__ = [
    "Courier",
    "HeaderInjection",
    "LogSender",
    "MailRejected",
    "MailSender",
    "MessageFactory",
    "SmtpSender",
    "make_sender",
]
