from app.models.idempotency import IdempotencyKey
from app.models.item import DeliveryLink, DeliveryType, Item, PriceMode
from app.models.media import MediaFile, MediaPurpose
from app.models.operator import Invitation, OperatorAction
from app.models.payment import (
    DIRECT_ITEM_ID,
    MAX_AMOUNT,
    ORDER_ID_PATTERN,
    PAID_STATUSES,
    PHONE_PATTERN,
    EventOutcome,
    FulfilmentStatus,
    Payment,
    PaymentEvent,
    PaymentStatus,
    PaymentStatusChange,
    can_transition,
)
from app.models.project import (
    ApiClient,
    ClientSecret,
    EndpointFailure,
    Environment,
    Project,
    WebhookEndpoint,
)
from app.models.refund import Refund, RefundStatus
from app.models.report import PaymentDayTotals, ReconcileDay
from app.models.simulator import SimulatedTransaction
from app.models.user import User, UserSession
from app.models.webhook import (
    DEFAULT_EVENTS,
    DeliveryStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
)

__all__ = [
    "DEFAULT_EVENTS",
    "DIRECT_ITEM_ID",
    "MAX_AMOUNT",
    "PHONE_PATTERN",
    "ORDER_ID_PATTERN",
    "PAID_STATUSES",
    "can_transition",
    "ApiClient",
    "ClientSecret",
    "DeliveryLink",
    "DeliveryStatus",
    "DeliveryType",
    "EndpointFailure",
    "Environment",
    "EventOutcome",
    "EventType",
    "FulfilmentStatus",
    "IdempotencyKey",
    "MediaFile",
    "MediaPurpose",
    "Invitation",
    "Item",
    "OperatorAction",
    "Payment",
    "PriceMode",
    "PaymentDayTotals",
    "ReconcileDay",
    "PaymentEvent",
    "PaymentStatus",
    "PaymentStatusChange",
    "Project",
    "Refund",
    "RefundStatus",
    "SimulatedTransaction",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
