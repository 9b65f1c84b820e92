"""The Ed25519 signature over a certificate's issued data.

The private key is generated once into the instance folder (mode 600) and never leaves it;
the public key is shown on the public verification page. The signature covers the stored
issued data (not the state: a revocation does not break it), so a record altered in the
database, or a PDF whose QR code was copied onto other data, fails verification.
"""
from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

log = logging.getLogger(__name__)

KEY_FILE = "certificate-signing-key.pem"
_cache: dict[str, Ed25519PrivateKey] = {}


def _key_path() -> Path:
    return Path(current_app.config["INSTANCE_DIR"]) / KEY_FILE


def private_key() -> Ed25519PrivateKey:
    """The signing key, generated on first use; a second process finds the first one's file."""
    path = _key_path()
    cached = _cache.get(str(path))
    if cached is not None:
        return cached
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            # O_EXCL: of two processes starting at once, one writes and the other reads its key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            log.info("generated the certificate signing key %s", path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path} is not an Ed25519 private key")
    _cache[str(path)] = key
    return key


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_pem() -> str:
    """The public key for the verification page."""
    return public_key().public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def signed_data(record: Any) -> dict[str, Any]:
    """The issued data the signature covers, from the record's own stored columns."""
    return {
        "number": record.number,
        "verify_code": record.verify_code,
        "name": record.name,
        "gender": record.gender,
        "id_type": str(record.id_type.value if hasattr(record.id_type, "value") else record.id_type),
        "id_number": record.id_number,
        "certificate_level_id": record.certificate_level_id,
        "plan_id": record.plan_id,
        "issue_date": record.issue_date.isoformat() if record.issue_date else None,
    }


def canonical(record: Any) -> bytes:
    return json.dumps(signed_data(record), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(record: Any) -> str:
    """The base64 Ed25519 signature over the record's issued data (the caller stores it)."""
    return base64.b64encode(private_key().sign(canonical(record))).decode()


def verify_signature(record: Any) -> bool:
    """True when the stored signature holds over the record's stored issued data."""
    if not record.signature or not record.number:
        return False
    try:
        signature = base64.b64decode(record.signature, validate=True)
        public_key().verify(signature, canonical(record))
    except (InvalidSignature, ValueError):
        return False
    return True


def public_key_text() -> str:
    """The public key as shown on the verification page (PEM), for anyone to check a signature."""
    return public_key_pem()
