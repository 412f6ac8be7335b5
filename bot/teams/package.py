"""The Teams app package: manifest.json and two icons in a .zip, to upload in Teams or the admin centre.

The command menu (bots[].commandLists) comes from the same registry as dispatch, help and the Slack
manifest, so a new command family appears in Teams' menu too: one list for a team's channels and group
chats (help and every family), one for the 1:1 chat (help and a person's own lists across clusters).
The registry's message shortcuts (Slack's "…" menu) are the message extension's actions on a message.
The publisher, its pages and the version are the deployment's (TEAMS_PUBLISHER_NAME …, --version): a
tenant admin approving the app reads them in the admin centre.
"""

import io
import json
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata

from bot.teams.extension import manifest_commands as extension_commands
from commands.registry import FAMILIES

MANIFEST_VERSION = "1.22"
SCHEMA = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
NHS_BLUE = (0, 94, 184)
SCOPES = ["team", "groupChat", "personal"]
COMMANDS_PER_LIST = 10  # Teams' limit per list
VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")  # the manifest's own pattern
HELP = {"title": "help", "description": "What I can do, with an example of each command"}


@dataclass(frozen=True)
class Publisher:
    """Who publishes the app, as a tenant admin sees it before approving (all required)."""

    name: str
    website: str
    privacy: str
    terms: str


def project_version() -> str:
    try:
        return metadata.version("clusterbot")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def command_lists() -> list[dict]:
    channel = [HELP] + [{"title": fam.command.lstrip("/")[:32], "description": fam.summary[:128]}
                        for fam in FAMILIES.values()]
    # What the 1:1 chat answers: the subcommands the registry marks personal, for each of your clusters.
    personal = [HELP] + [{"title": f"{fam.command.lstrip('/')} {' '.join(sub.words)}"[:32],
                          "description": f"{sub.summary[:1].upper()}{sub.summary[1:]}, in each of your clusters"[:128]}
                         for fam in FAMILIES.values() for sub in fam.subcommands if sub.personal]
    return [{"scopes": ["team", "groupChat"], "commands": channel[:COMMANDS_PER_LIST]},
            {"scopes": ["personal"], "commands": personal[:COMMANDS_PER_LIST]}]


def manifest(app_id: str, publisher: Publisher, version: str | None = None) -> dict:
    version = version or project_version()
    if not VERSION.match(version):
        raise ValueError(f"the version must be three numbers like 1.2.0, not {version!r}")
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {"name": publisher.name[:32], "websiteUrl": publisher.website, "privacyUrl": publisher.privacy,
                      "termsOfUseUrl": publisher.terms},
        "name": {"short": "clusterbot", "full": "clusterbot: the GP cluster's administrator"},
        "description": {
            "short": "QI topics, practice polls, actions and meetings for a GP cluster",
            "full": ("The missing administrator of a Scottish GP cluster: propose quality-improvement topics and "
                     "move them through the Model for Improvement, poll the member practices (one ballot per "
                     "practice), track actions and export the log to Excel, schedule meetings with reminders. "
                     "Mention @clusterbot in the cluster's channel, e.g. “@clusterbot cluster help”."),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#005EB8",
        "bots": [{
            "botId": app_id,
            "scopes": SCOPES,
            "supportsFiles": True,  # exports arrive in the person's chat by file consent
            "isNotificationOnly": False,
            "commandLists": command_lists(),
        }],
        # The twin of Slack's message shortcuts: an action on a message ("…" > More actions), answered by
        # the same bot (bot/teams/extension.py).
        "composeExtensions": [{"botId": app_id, "commands": extension_commands()}],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }


def _glyph(draw, left: int, top: int, size: int, fill) -> None:
    """Three rising bars (a run chart's worth of improvement) filling the square at (left, top) of side
    `size` edge to edge: legible at 32 pixels."""
    width, gap = size * 5 // 19, size * 2 // 19
    spare = size - 3 * width - 2 * gap  # rounding, given to the gaps' left so the glyph touches both edges
    for i, height in enumerate((size * 2 // 5, size * 7 // 10, size)):
        x = left + i * (width + gap) + (spare if i == 2 else 0)
        draw.rectangle([x, top + size - height, x + width - 1, top + size - 1], fill=fill)


def icons() -> tuple[bytes, bytes]:
    """color.png: 192×192, the glyph within the central 96×96 safe area on the accent colour; outline.png:
    32×32, white on transparent with no padding (Microsoft's guidance for app icons)."""
    from PIL import Image, ImageDraw

    color = Image.new("RGBA", (192, 192), NHS_BLUE + (255,))
    _glyph(ImageDraw.Draw(color), 48, 48, 96, (255, 255, 255, 255))
    outline = Image.new("RGBA", (32, 32), (255, 255, 255, 0))
    _glyph(ImageDraw.Draw(outline), 0, 0, 32, (255, 255, 255, 255))
    pngs = []
    for image in (color, outline):
        out = io.BytesIO()
        image.save(out, format="PNG")
        pngs.append(out.getvalue())
    return pngs[0], pngs[1]


def write_package(path: str, app_id: str, publisher: Publisher, version: str | None = None) -> None:
    document = manifest(app_id, publisher, version)  # a bad version is refused before a file is written
    color, outline = icons()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:  # files at the root, as Teams expects
        package.writestr("manifest.json", json.dumps(document, indent=2, ensure_ascii=False))
        package.writestr("color.png", color)
        package.writestr("outline.png", outline)
