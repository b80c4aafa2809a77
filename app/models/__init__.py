from app.models.payment import (
    EventOutcome,
    Payment,
    PaymentEvent,
    PaymentStatus,
    PaymentStatusChange,
)
from app.models.project import ApiClient, ClientSecret, Environment, Project, WebhookEndpoint
from app.models.report import PaymentDayTotals
from app.models.simulator import SimulatedTransaction
from app.models.user import User
from app.models.webhook import DeliveryStatus, EventType, WebhookAttempt, WebhookDelivery

__all__ = [
    "ApiClient",
    "ClientSecret",
    "DeliveryStatus",
    "Environment",
    "EventOutcome",
    "EventType",
    "Payment",
    "PaymentDayTotals",
    "PaymentEvent",
    "PaymentStatus",
    "PaymentStatusChange",
    "Project",
    "SimulatedTransaction",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
