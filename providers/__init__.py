"""Delivery adapters. Depends only on httpx, msgspec and (for ``webhook``) standardwebhooks; never imports
otp_service or Litestar.

Adapter docstrings mark where each fact about a vendor comes from: [doc] the vendor's own
documentation (the page each module cites), [code] public code such as the vendor's SDKs,
[seed] the vendor's example material, not independently confirmed, [guess] our inference, to be
checked against a real reply before relying on it.
"""

from . import _http as http  # the helpers every adapter calls (timeouts, failure classes), for third-party ones too
from .base import (
    DEFAULT_SEND_OPTIONS,
    MAX_VENDOR_BODY_BYTES,
    Channel,
    CheckOutcome,
    DeliveryLookup,
    DeliveryStatus,
    DeliveryUpdate,
    Msisdn,
    ProviderAuthError,
    ProviderDeliveryUnknown,
    ProviderError,
    ProviderProtocolError,
    ProviderRejected,
    ProviderUnavailable,
    ReceiptBatch,
    ReceiptError,
    ReceiptParser,
    SendOptions,
    SendReceipt,
    SmsSender,
    StartedVerification,
    VendorSettings,
    VerificationPending,
    VerificationProvider,
)
from .registry import Providers, ProviderSpec, build_providers, discover, load_vendor_settings

__all__ = (
    "DEFAULT_SEND_OPTIONS",
    "MAX_VENDOR_BODY_BYTES",
    "Channel",
    "CheckOutcome",
    "DeliveryLookup",
    "DeliveryStatus",
    "DeliveryUpdate",
    "Msisdn",
    "ProviderAuthError",
    "ProviderDeliveryUnknown",
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRejected",
    "ProviderSpec",
    "ProviderUnavailable",
    "Providers",
    "ReceiptBatch",
    "ReceiptError",
    "ReceiptParser",
    "SendOptions",
    "SendReceipt",
    "SmsSender",
    "StartedVerification",
    "VendorSettings",
    "VerificationPending",
    "VerificationProvider",
    "build_providers",
    "discover",
    "http",
    "load_vendor_settings",
)
