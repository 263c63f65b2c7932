"""WeCom callback crypto, implemented independently of wechatpy: AES-256-CBC, PKCS#7 to 32 bytes, SHA-1 signature."""
import base64
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeCom pads to a multiple of 32 bytes, not AES's 16


def aes_key_bytes(encoding_aes_key: str) -> bytes:
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def encrypt(encoding_aes_key: str, plaintext: str, receive_id: str, random16: bytes | None = None) -> str:
    """base64(AES-CBC(random16 + len(msg) big-endian + msg + receive_id)), IV = key[:16]."""
    key = aes_key_bytes(encoding_aes_key)
    msg = plaintext.encode()
    data = (random16 or os.urandom(16)) + struct.pack(">I", len(msg)) + msg + receive_id.encode()
    pad = BLOCK - len(data) % BLOCK
    data += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def decrypt(encoding_aes_key: str, encrypted: str) -> tuple[str, str]:
    """Inverse of :func:`encrypt`: returns (plaintext, receive_id)."""
    key = aes_key_bytes(encoding_aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    data = dec.update(base64.b64decode(encrypted)) + dec.finalize()
    pad = data[-1]
    if not 1 <= pad <= BLOCK:
        raise ValueError("bad padding")
    data = data[:-pad]
    (length,) = struct.unpack(">I", data[16:20])
    return data[20:20 + length].decode(), data[20 + length:].decode()
