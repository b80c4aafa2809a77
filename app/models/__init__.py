from app.models.payment import (
    EventOutcome,
    Payment,
    PaymentEvent,
    PaymentStatus,
    PaymentStatusChange,
)
from app.models.project import ApiClient, ClientSecret, Environment, Project, WebhookEndpoint
from app.models.simulator import SimulatedTransaction
from app.models.user import User

__all__ = [
    "ApiClient",
    "ClientSecret",
    "Environment",
    "EventOutcome",
    "Payment",
    "PaymentEvent",
    "PaymentStatus",
    "PaymentStatusChange",
    "Project",
    "SimulatedTransaction",
    "User",
    "WebhookEndpoint",
]
