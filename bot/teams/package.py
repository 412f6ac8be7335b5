"""The Teams app package: manifest.json and two icons in a .zip, to upload in Teams or the admin centre.

The command menu (bots[].commandLists) comes from the same registry as dispatch, help and the Slack
manifest, so a new command family appears in Teams' menu too.
"""

import io
import json
import zipfile

from commands.registry import FAMILIES

MANIFEST_VERSION = "1.22"
SCHEMA = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
APP_VERSION = "1.0.0"
NHS_BLUE = (0, 94, 184)
WEBSITE = "https://github.com/clusterbot"  # replace with your organisation's pages before publishing
SCOPES = ["team", "groupChat", "personal"]
COMMANDS_PER_LIST = 10  # Teams' limit per scope


def manifest(app_id: str) -> dict:
    commands = [{"title": fam.command.lstrip("/")[:32], "description": fam.summary[:128]}
                for fam in FAMILIES.values()][:COMMANDS_PER_LIST]
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": APP_VERSION,
        "id": app_id,
        "developer": {"name": "clusterbot", "websiteUrl": WEBSITE, "privacyUrl": WEBSITE,
                      "termsOfUseUrl": WEBSITE},
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
            "commandLists": [{"scopes": SCOPES, "commands": commands}],
        }],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }


def _glyph(draw, size: int, fill) -> None:
    """Three rising bars: a run chart's worth of improvement, legible at 32 pixels."""
    unit = size / 8
    for i, height in enumerate((2.0, 3.5, 5.0)):
        left = unit * (1.5 + i * 1.8)
        draw.rectangle([left, size - unit * 1.5 - unit * height, left + unit * 1.2, size - unit * 1.5], fill=fill)


def icons() -> tuple[bytes, bytes]:
    """color.png (192×192, full colour) and outline.png (32×32, white on transparent), as Teams requires."""
    from PIL import Image, ImageDraw

    color = Image.new("RGBA", (192, 192), NHS_BLUE + (255,))
    _glyph(ImageDraw.Draw(color), 192, (255, 255, 255, 255))
    outline = Image.new("RGBA", (32, 32), (255, 255, 255, 0))
    _glyph(ImageDraw.Draw(outline), 32, (255, 255, 255, 255))
    pngs = []
    for image in (color, outline):
        out = io.BytesIO()
        image.save(out, format="PNG")
        pngs.append(out.getvalue())
    return pngs[0], pngs[1]


def write_package(path: str, app_id: str) -> None:
    color, outline = icons()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:  # files at the root, as Teams expects
        package.writestr("manifest.json", json.dumps(manifest(app_id), indent=2, ensure_ascii=False))
        package.writestr("color.png", color)
        package.writestr("outline.png", outline)
