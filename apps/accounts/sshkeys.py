"""OpenSSH public keys: strict parsing, the key's size check and its SHA256 fingerprint.

A key is accepted only as ``<type> <base64 blob> [comment]`` (no authorized_keys options), for the types
ssh-ed25519, ecdsa-sha2-nistp256/384/521 and ssh-rsa (at least 2048 bits). The blob is decoded and
walked: its embedded type must be the declared one, each part must have the size its type requires, and
nothing may follow the last part. The fingerprint is what ``ssh-keygen -lf`` prints: ``SHA256:`` and the
unpadded base64 of the blob's SHA-256.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

RSA_MIN_BITS = 2048
RSA_MAX_BITS = 16384
MAX_LINE = 16 * 1024
MAX_COMMENT = 200
_ECDSA = {"ecdsa-sha2-nistp256": ("nistp256", 65), "ecdsa-sha2-nistp384": ("nistp384", 97),
          "ecdsa-sha2-nistp521": ("nistp521", 133)}
KEY_TYPES = ("ssh-ed25519", *_ECDSA, "ssh-rsa")


@dataclass(frozen=True)
class PublicKey:
    key_type: str
    blob: bytes
    comment: str
    bits: int

    @property
    def line(self) -> str:
        """The key as an authorized_keys line (no comment: the name is ours, the key is the owner's)."""
        return f"{self.key_type} {base64.b64encode(self.blob).decode()}"

    @property
    def fingerprint(self) -> str:
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def string(self) -> bytes:
        if self.at + 4 > len(self.data):
            raise ValueError("truncated")
        (length,) = struct.unpack(">I", self.data[self.at:self.at + 4])
        start, self.at = self.at + 4, self.at + 4 + length
        if self.at > len(self.data):
            raise ValueError("truncated")
        return self.data[start:self.at]

    def done(self) -> bool:
        return self.at == len(self.data)


def _invalid(message: str) -> ValidationError:
    return ValidationError({"public_key": [message]})


def parse_public_key(text: str) -> PublicKey:
    """The key in ``text`` or a ValidationError on ``public_key`` saying what is wrong with it."""
    text = (text or "").strip()
    if not text:
        raise _invalid(_("Paste a public key."))
    if len(text) > MAX_LINE or "\n" in text or "\r" in text or "\x00" in text:
        raise _invalid(_("Paste one public key, on one line."))
    if "PRIVATE KEY" in text:
        raise _invalid(_("This is a private key. Paste the public key (the .pub file) and keep the private key "
                         "secret."))
    parts = text.split(None, 2)
    key_type = parts[0]
    if key_type not in KEY_TYPES:
        raise _invalid(_("Unsupported key type “%(type)s”. Use one of: %(types)s.")
                       % {"type": key_type[:40], "types": ", ".join(KEY_TYPES)})
    if len(parts) < 2:
        raise _invalid(_("The key has no data after its type."))
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(_("The key's data is not valid base64.")) from None
    comment = parts[2].strip() if len(parts) > 2 else ""
    if len(comment) > MAX_COMMENT or not comment.isprintable():
        raise _invalid(_("The key's comment is too long or has control characters."))
    try:
        bits = _check_blob(key_type, _Reader(blob))
    except ValueError:
        raise _invalid(_("The key's data is not a valid %(type)s key.") % {"type": key_type}) from None
    if key_type == "ssh-rsa" and bits < RSA_MIN_BITS:
        raise _invalid(_("RSA keys must have at least %(min)d bits; this one has %(bits)d.")
                       % {"min": RSA_MIN_BITS, "bits": bits})
    return PublicKey(key_type=key_type, blob=blob, comment=comment, bits=bits)


def _check_blob(key_type: str, reader: _Reader) -> int:
    if reader.string() != key_type.encode():
        raise ValueError("embedded type differs")
    if key_type == "ssh-ed25519":
        if len(reader.string()) != 32:
            raise ValueError("ed25519 key size")
        bits = 256
    elif key_type in _ECDSA:
        curve, point_size = _ECDSA[key_type]
        if reader.string() != curve.encode():
            raise ValueError("curve differs")
        point = reader.string()
        if len(point) != point_size or point[0] != 4:
            raise ValueError("ecdsa point")
        bits = int(curve.removeprefix("nistp"))
    else:
        exponent, modulus = reader.string(), reader.string()
        if not exponent or not modulus or exponent[0] & 0x80 or modulus[0] & 0x80:
            raise ValueError("negative or empty rsa numbers")
        e, n = int.from_bytes(exponent, "big"), int.from_bytes(modulus, "big")
        if e < 3 or e % 2 == 0 or n % 2 == 0:
            raise ValueError("rsa numbers")
        bits = n.bit_length()
        if bits > RSA_MAX_BITS:
            raise ValueError("rsa too large")
    if not reader.done():
        raise ValueError("trailing data")
    return bits
