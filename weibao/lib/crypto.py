"""Identifier encryption at rest and the keyed blind index (DESIGN.md §6).

``encrypt`` uses authenticated encryption: AES-256-GCM by default, SM4-GCM when
``WEIBAO_FIELD_CIPHER=sm4-gcm`` (商用密码). The first byte of a ciphertext names its cipher, so
records written under either setting stay readable after a switch. ``blind_index`` is an
HMAC-SHA256 of the normalised value under a separate key: equal values give equal indexes, which
allows exact look-up without decrypting, and the index reveals nothing without the key.
"""

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

AES_GCM, SM4_GCM = 1, 2
_NONCE = 12


class DecryptionError(ValueError):
    pass


def _decode_key(raw: str, name: str) -> bytes:
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError(f"{name} must be base64") from None
    if len(key) != 32:
        raise ValueError(f"{name} must be 32 bytes (base64 of 32 random bytes)")
    return key


@cache
def _keys(field_key: str, index_key: str) -> tuple[bytes, bytes, bytes]:
    field = _decode_key(field_key, "WEIBAO_FIELD_KEY")
    sm4 = hmac.new(field, b"weibao sm4 key", hashlib.sha256).digest()[:16]  # SM4 takes 128-bit keys
    return field, sm4, _decode_key(index_key, "WEIBAO_BLIND_INDEX_KEY")


def _current():
    return _keys(settings.FIELD_ENCRYPTION_KEY, settings.BLIND_INDEX_KEY)


def encrypt(plaintext: str) -> bytes:
    field, sm4, _ = _current()
    nonce = os.urandom(_NONCE)
    data = plaintext.encode()
    if settings.FIELD_CIPHER == "sm4-gcm":
        encryptor = Cipher(algorithms.SM4(sm4), modes.GCM(nonce)).encryptor()
        body = encryptor.update(data) + encryptor.finalize()
        return bytes([SM4_GCM]) + nonce + body + encryptor.tag
    return bytes([AES_GCM]) + nonce + AESGCM(field).encrypt(nonce, data, None)


def decrypt(ciphertext: bytes) -> str:
    field, sm4, _ = _current()
    blob = bytes(ciphertext)
    kind, nonce, body = blob[0], blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
    try:
        if kind == AES_GCM:
            return AESGCM(field).decrypt(nonce, body, None).decode()
        if kind == SM4_GCM:
            decryptor = Cipher(algorithms.SM4(sm4), modes.GCM(nonce, body[-16:])).decryptor()
            return (decryptor.update(body[:-16]) + decryptor.finalize()).decode()
    except Exception as exc:  # InvalidTag and friends: wrong key or altered data
        raise DecryptionError("identifier cannot be decrypted: wrong key or altered data") from exc
    raise DecryptionError(f"unknown cipher marker {kind}")


def blind_index(value: str, kind: str = "") -> str:
    """Keyed index of a normalised identifier; ``kind`` separates document types."""
    _, _, key = _current()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


# --- many values at once (bulk feeds): same formats as ``encrypt`` / ``blind_index``, less overhead per value


def encrypt_many(values) -> list[bytes]:
    """``[encrypt(v) for v in values]``, with one cipher object and one call for all the nonces."""
    values = list(values)
    if settings.FIELD_CIPHER == "sm4-gcm":
        return [encrypt(v) for v in values]
    field, _sm4, _ = _current()
    seal = AESGCM(field).encrypt
    nonces = os.urandom(_NONCE * len(values))
    marker = bytes([AES_GCM])
    out = []
    append = out.append
    for i, value in enumerate(values):
        nonce = nonces[i * _NONCE : (i + 1) * _NONCE]
        append(marker + nonce + seal(nonce, value.encode(), None))
    return out


def blind_index_many(values, kind: str = "") -> list[str]:
    """``[blind_index(v, kind) for v in values]``: the keyed HMAC state after ``kind:`` is computed once."""
    _, _, key = _current()
    base = hmac.new(key, f"{kind}:".encode(), hashlib.sha256)
    out = []
    append = out.append
    for value in values:
        mac = base.copy()
        mac.update(value.encode())
        append(mac.hexdigest())
    return out
