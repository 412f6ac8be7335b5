"""Ids shaped like the real ones Teams sends: long, with colons, at-signs and GUIDs."""

APP_ID = "8f0c3c52-3a8e-4c38-9b7e-2f6f1d3a9c11"
TENANT = "4e2bd9f6-8b1c-4a57-a2f0-6c1d2b3e4f50"  # NHS Scotland's national tenant, say
TEAM = "19:Qw3rTy9uIoP1aSdFgHjKlZxCvBnM0q2W3e4R5t6Y7u8I9o0@thread.tacv2"
CHANNEL = "19:7d1f0e5a2b3c4d5e6f708192a3b4c5d6@thread.tacv2"
OTHER_CHANNEL = "19:0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d@thread.tacv2"
GROUP_CHAT = "19:meeting_NjQ2ZDk3YjgtMWQ4MS00OGM3LWE0ZjEtYjY1ZDE3YzM2ZDRh@thread.v2"


def user(n: int) -> str:
    """A Teams user id (29:1…): around a hundred characters, three times Slack's width."""
    return f"29:1{n:02d}" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_" * 2 + f"zZ{n:04d}"


def aad(n: int) -> str:
    """An AAD object id (a GUID) for the same person."""
    return f"{n:08x}-1a2b-4c3d-8e4f-5a6b7c8d9e0f"


LEAD, PQL_A, PQL_B, NURSE = user(1), user(2), user(3), user(4)
