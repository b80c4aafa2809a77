"""A merchant's project, its API credentials and webhook endpoint, per environment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, EnumText, JSONType, UTCDateTime, utcnow


class Environment(StrEnum):
    SANDBOX = "sandbox"
    PRODUCTION = "production"


class EndpointFailure(StrEnum):
    """What an endpoint's current run of failures were: the circuit breaker counts only these."""

    TIMEOUT = "timeout"  # no whole answer within WEBHOOK_TIMEOUT_SECONDS
    CONNECTION = "connection"  # refused, unresolvable, or no connection at all
    MIXED = "mixed"  # some of each


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("owner_id", "creation_token"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    store_url_template: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Production takes real money only once an operator approved it (accounts/standing.py).
    production_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Suspended by an operator: no new checkout starts; money already moving goes on.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_reason: Mapped[str | None] = mapped_column(String(500))
    # Archived by its owner: out of the project list, no new checkout; restorable.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The one-time token of the form that created it: the same form sent again (a reload)
    # finds this project instead of creating a second one.
    creation_token: Mapped[str | None] = mapped_column(String(64))

    owner = relationship("User", back_populates="projects")
    api_clients = relationship("ApiClient", back_populates="project")


class ApiClient(Base):
    """The public half of a credential pair: one per (project, environment)."""

    __tablename__ = "api_clients"
    __table_args__ = (UniqueConstraint("project_id", "environment"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    environment: Mapped[Environment] = mapped_column(EnumText(Environment, 16))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    project = relationship("Project", back_populates="api_clients")
    secrets = relationship("ClientSecret", back_populates="api_client")


class ClientSecret(Base):
    """A client_secret, stored only as its SHA-256; several may be valid during rotation."""

    __tablename__ = "client_secrets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    api_client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    api_client = relationship("ApiClient", back_populates="secrets")


class WebhookEndpoint(Base):
    """Where item.purchased goes for one (project, environment); the secret is encrypted."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (UniqueConstraint("project_id", "environment"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    environment: Mapped[Environment] = mapped_column(EnumText(Environment, 16))
    url: Mapped[str | None] = mapped_column(String(2000))
    # The event types it subscribed to (SPEC §11.6); null: models.webhook.DEFAULT_EVENTS.
    events: Mapped[list[str] | None] = mapped_column(JSONType)
    secret_ciphertext: Mapped[str] = mapped_column(String(500))
    # After a rotation the old secret keeps signing (beside the new one) until this time.
    previous_secret_ciphertext: Mapped[str | None] = mapped_column(String(500))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The circuit breaker (app/services/outbox/circuit.py), here so every worker and the portal
    # see one state: timeouts or failed connections in a row, and until when none is attempted.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failure_kind: Mapped[EndpointFailure | None] = mapped_column(EnumText(EndpointFailure, 16))
    circuit_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
