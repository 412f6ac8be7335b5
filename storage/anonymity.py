"""What BALLOT_KEY does for an open anonymous poll: keys its voter hashes and seals its choices.

A database reader (a read-only role, a backup, the file itself) can line rows up: by insertion order,
by PostgreSQL's transaction ids, by old row versions and free pages. On an open anonymous poll a vote
writes the who-cast row (a practice or person) and the ballot in one transaction, so no ordering trick
can keep those two apart for ever. What the reader must not get is the *choice* beside them: so while
the poll is open the choice is sealed (AES-GCM under a key derived from BALLOT_KEY, a fresh nonce every
write, one fixed length whatever is chosen). At the close the choices are opened, written afresh in an
order that carries nothing, and everything that named a voter is deleted (storage.polls.close_poll).
docs/design.md, Polls, says what this does and does not protect against.
"""

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED = "sealed:"  # a sealed choice's prefix; anything else in `choices` is plain option numbers
_MASK_BYTES = 4  # a ballot's choices as a bit mask: the same length for one option or ten
_NONCE_BYTES = 12


def anonymous_key(secret: bytes, poll_id: int, voter: str) -> str:
    """An anonymous ballot's voter key: a keyed hash of "practice:<id>" or "person:<user id>". The secret
    is not in the database, so the table alone cannot say whose a ballot is; it still lets the same voter
    change their ballot while the poll is open. Replaced at the close (storage.polls.close_poll)."""
    return "anon:" + hmac.new(secret, f"{poll_id}:{voter}".encode(), hashlib.sha256).hexdigest()[:40]


def _cipher(secret: bytes) -> AESGCM:
    # A key of its own for sealing, so the voter hashes and the seals never share one.
    return AESGCM(hmac.new(secret, b"sealed choices", hashlib.sha256).digest())


def seal(secret: bytes, poll_id: int, chosen: list[int]) -> str:
    """The choices as the database keeps them while the poll is open. Bound to the poll (a sealed ballot
    copied to another poll does not open), and different every time it is written, even unchanged."""
    mask = sum(1 << (n - 1) for n in set(chosen)).to_bytes(_MASK_BYTES, "big")
    nonce = os.urandom(_NONCE_BYTES)
    sealed = nonce + _cipher(secret).encrypt(nonce, mask, str(poll_id).encode())
    return SEALED + base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def unseal(secret: bytes, poll_id: int, text: str) -> list[int]:
    """The choices a ballot holds: opened when sealed, read as they are otherwise (ballots cast before
    choices were sealed). Raises ValueError when the seal does not open with this key."""
    if not is_sealed(text):
        return [int(c) for c in text.split(",") if c]
    raw = base64.urlsafe_b64decode(text[len(SEALED):] + "=" * (-len(text[len(SEALED):]) % 4))
    try:
        mask = int.from_bytes(_cipher(secret).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], str(poll_id).encode()),
                              "big")
    except InvalidTag:
        raise ValueError("a sealed ballot that this BALLOT_KEY does not open") from None
    return [n for n in range(1, _MASK_BYTES * 8 + 1) if mask & (1 << (n - 1))]


def is_sealed(text: str) -> bool:
    return text.startswith(SEALED)
