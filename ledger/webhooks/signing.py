"""Standard Webhooks signatures (https://www.standardwebhooks.com/): what a receiver checks.

``webhook-signature`` is ``v1,`` and the base64 HMAC-SHA256, under the endpoint's
secret, of ``{webhook-id}.{webhook-timestamp}.{body}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["signed_headers"]


def signed_headers(key: bytes, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{signature}",
    }
