"""The Web API client: Slack's own, pointed at SLACK_API_URL, retrying what is worth retrying."""

from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

TIMEOUT = 10             # seconds for one Web API call
LONGEST_RATE_WAIT = 2    # seconds: a longer Retry-After would break Slack's 3-second window


class ShortRateLimitRetry(RateLimitErrorRetryHandler):
    """Retry a 429 after its Retry-After, when that is short enough to still answer in time."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
        return int((wait[0] if isinstance(wait, list) else wait) or 1) <= LONGEST_RATE_WAIT


def web_client(token: str | None, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=TIMEOUT,
                     retry_handlers=[ConnectionErrorRetryHandler(), ShortRateLimitRetry(max_retry_count=2)])
