"""The real Teams app (SDK, FastAPI, uvicorn) on a loopback port, talking to the Microsoft stand-ins."""

from dataclasses import dataclass

import httpx

from bot.config import Settings
from bot.delivery import Delivery
from bot.teams import TeamsServer, build_app, make_platform
from bot.teams.platform import TeamsPlatform
from testkit.teams_ids import APP_ID, TENANT
from testkit.teams_standin import PASSWORD, TeamsStandIn  # noqa: F401


def teams_settings(db, teams_api, *, targeted: bool = False) -> Settings:
    return Settings(database_url=db.url, cluster_tz="Europe/London", slack_api_url="http://127.0.0.1:9/",
                    teams_app_id=APP_ID, teams_app_password=PASSWORD, teams_tenant_id=TENANT,
                    teams_openid_url=teams_api.openid_url, teams_token_url=teams_api.token_url,
                    teams_targeted_messages=targeted)


@dataclass
class Running:
    client: httpx.Client
    platform: TeamsPlatform
    delivery: Delivery

    def send(self, activity: dict, headers: dict) -> httpx.Response:
        return self.client.post("/api/messages", json=activity, headers=headers)


def serve_teams(db, product, teams_api, *, public: bool = False, targeted: bool = True):
    """The app on a loopback port until the generator is closed (the `teams` fixture in conftest.py).
    `public`: its own address is its TEAMS_PUBLIC_URL, so files for a channel are shown there by link.
    `targeted`: TEAMS_TARGETED_MESSAGES on, as the older suites assume (answers for one person in a
    channel as targeted messages there); tests/test_teams_private.py serves it as deployed, off."""
    teams_api.reset()
    settings = teams_settings(db, teams_api, targeted=targeted)
    platform = make_platform(settings, product, timeout=2.0)
    delivery = Delivery(platform, product, update_interval=0.2).start()
    app, web = build_app(settings, product, platform, delivery)
    server = TeamsServer(app, web, "127.0.0.1", 0).start_in_thread()
    if public:  # known only once the port is bound
        platform.public_url = f"http://127.0.0.1:{server.port}"
    try:  # `finally`: a test that closes the generator early (a restart) must not leave the app running
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
            yield Running(client, platform, delivery)
    finally:
        server.stop()
        delivery.stop()
        platform.close()


def post(teams: Running, activity: dict, headers: dict) -> httpx.Response:
    return teams.send(activity, headers)
