"""Ed25519 signatures over a certificate's issued data.

The private key is generated once into the instance folder (mode 600) and never leaves it;
the public key is shown on the public verification page. A record altered in the database,
or a forged PDF carrying a copied QR code, no longer matches its stored signature.
"""
from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app

KEY_FILE = "certificate_signing_key.pem"
_cache: dict[str, Ed25519PrivateKey] = {}
_lock = threading.Lock()


def _key_path() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / KEY_FILE


def private_key() -> Ed25519PrivateKey:
    """The signing key, generated on first use with mode 600 (another process may race: O_EXCL)."""
    path = _key_path()
    with _lock:
        key = _cache.get(str(path))
        if key is not None:
            return key
        if not path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        _cache[str(path)] = key
        return key


def public_key_text() -> str:
    """The public key in base64 (raw 32 bytes), as shown on the verification page."""
    raw = private_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def signed_data(record) -> bytes:
    """The canonical bytes of the issued data a signature covers."""
    data = {
        "number": record.number,
        "verify_code": record.verify_code,
        "name": record.name,
        "gender": record.gender,
        "id_type": str(record.id_type.value if hasattr(record.id_type, "value") else record.id_type),
        "id_number": record.id_number,
        "certificate_level_id": record.certificate_level_id,
        "issue_date": record.issue_date.isoformat() if record.issue_date else None,
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(record) -> str:
    """The base64 signature of the record's issued data (the caller stores it)."""
    return base64.b64encode(private_key().sign(signed_data(record))).decode()


def verify_signature(record) -> bool:
    """True when the record's stored signature holds over its stored data."""
    if not record.signature:
        return False
    try:
        signature = base64.b64decode(record.signature, validate=True)
        private_key().public_key().verify(signature, signed_data(record))
    except (InvalidSignature, ValueError):
        return False
    return True
