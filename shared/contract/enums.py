"""Closed vocabularies of the contract (docs/contract/events.md)."""

from enum import StrEnum


class Level(StrEnum):
    REGION = "region"
    PREFECTURE = "prefecture"
    COUNTY = "county"


class Size(StrEnum):
    SMALL = "small"
    MICRO = "micro"


class Board(StrEnum):
    XJEE = "XJEE"
    NEEQ = "NEEQ"


class Rule(StrEnum):
    HIGH_TECH_CERTIFICATION = "HIGH_TECH_CERTIFICATION"
    EQUITY_LISTING = "EQUITY_LISTING"
    BOARD_TRANSFER = "BOARD_TRANSFER"


class RecipientRole(StrEnum):
    OPERATOR = "operator"
    ENTERPRISE = "enterprise"


class DeclineReason(StrEnum):
    NOT_INCUBATED = "NOT_INCUBATED"
    OUTSIDE_WINDOW = "OUTSIDE_WINDOW"
    BEFORE_POLICY = "BEFORE_POLICY"
    XJEE_LISTING_NOT_AWARDED = "XJEE_LISTING_NOT_AWARDED"
    ALREADY_AWARDED = "ALREADY_AWARDED"


class IntakeStatus(StrEnum):
    """What became of one intake event (registration.intake.results.v1)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    PARKED = "parked"
    RELEASED = "released"  # a parked fact applied once its reference arrived
    REJECTED = "rejected"


class IntakeError(StrEnum):
    MALFORMED_JSON = "MALFORMED_JSON"
    INVALID_ENVELOPE = "INVALID_ENVELOPE"
    UNKNOWN_EVENT_TYPE = "UNKNOWN_EVENT_TYPE"
    INVALID_DATA = "INVALID_DATA"
    INVALID_USCC = "INVALID_USCC"
    INVALID_DIVISION = "INVALID_DIVISION"
    INCONSISTENT_DATES = "INCONSISTENT_DATES"
    CONFLICTING_DUPLICATE = "CONFLICTING_DUPLICATE"
    ALREADY_REGISTERED = "ALREADY_REGISTERED"
    PARK_EXPIRED = "PARK_EXPIRED"
    TOO_LARGE = "TOO_LARGE"
    # A name a spreadsheet would run as a formula (=, +, -, @ first): no registered name starts so.
    FORMULA_LIKE_NAME = "FORMULA_LIKE_NAME"
    # The envelope's source is not the authenticated sender.
    SOURCE_MISMATCH = "SOURCE_MISMATCH"
    # The sender may not send this event type, or not for this carrier (its registry entry).
    NOT_AUTHORIZED = "NOT_AUTHORIZED"
    # Consumers other than registration: a message that still fails after bounded retries.
    PROCESSING_FAILED = "PROCESSING_FAILED"
