"""The Web API client: Slack's own, pointed at SLACK_API_URL.

It retries nothing by itself: a call is made on a delivery worker, which decides what a 429, a
timeout or a refusal means (bot/delivery/), so no thread ever sleeps on a Retry-After.
"""

from slack_sdk import WebClient

TIMEOUT = 10  # seconds for one Web API call


def web_client(token: str | None, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=TIMEOUT, retry_handlers=[])
