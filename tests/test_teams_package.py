"""The Teams app package, written by the real command and opened again."""

import io
import json
import subprocess
import sys
import zipfile

import pytest
from PIL import Image

from commands.registry import FAMILIES
from testkit.teams_ids import APP_ID

PUBLISHER = {"TEAMS_PUBLISHER_NAME": "NHS Lothian eHealth", "TEAMS_WEBSITE_URL": "https://example.nhs.scot/clusterbot",
             "TEAMS_PRIVACY_URL": "https://example.nhs.scot/clusterbot/privacy",
             "TEAMS_TERMS_URL": "https://example.nhs.scot/clusterbot/terms"}


def _package(tmp_path, *flags, **env):
    out = tmp_path / "clusterbot-teams.zip"
    done = subprocess.run([sys.executable, "-m", "bot", "teams-package", "--out", str(out), *flags],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **env}, cwd=tmp_path,
                          timeout=120)
    return done, out


@pytest.mark.wall_clock
def test_the_package_has_the_manifest_and_both_icons(tmp_path):
    done, out = _package(tmp_path, "--version", "2.3.0", TEAMS_APP_ID=APP_ID, **PUBLISHER)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        color = Image.open(io.BytesIO(package.read("color.png"))).convert("RGBA")
        outline = Image.open(io.BytesIO(package.read("outline.png"))).convert("RGBA")
    assert manifest["manifestVersion"] == "1.22" and manifest["$schema"].endswith("/v1.22/MicrosoftTeams.schema.json")
    assert manifest["id"] == APP_ID and manifest["version"] == "2.3.0"
    assert manifest["developer"] == {"name": "NHS Lothian eHealth", "websiteUrl": PUBLISHER["TEAMS_WEBSITE_URL"],
                                     "privacyUrl": PUBLISHER["TEAMS_PRIVACY_URL"],
                                     "termsOfUseUrl": PUBLISHER["TEAMS_TERMS_URL"]}
    bot = manifest["bots"][0]
    assert bot["botId"] == APP_ID and set(bot["scopes"]) == {"team", "groupChat", "personal"}
    lists = {tuple(each["scopes"]): [c["title"] for c in each["commands"]] for each in bot["commandLists"]}
    assert lists[("team", "groupChat")] == ["help"] + [f.lstrip("/") for f in FAMILIES][:9]  # the registry's
    assert lists[("personal",)][0] == "help" and "action list" in lists[("personal",)]
    assert "cluster" not in lists[("personal",)]  # a cluster is set up in its channel, never 1:1
    for each in bot["commandLists"]:
        assert len(each["commands"]) <= 10
        assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in each["commands"])
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert color.size == (192, 192) and outline.size == (32, 32)
    pixels = [outline.getpixel((x, y)) for y in range(32) for x in range(32)]
    assert {p[:3] for p in pixels if p[3]} == {(255, 255, 255)}  # white …
    assert any(p[3] == 0 for p in pixels) and any(p[3] == 255 for p in pixels)  # … on transparent
    assert outline.getbbox() == (0, 0, 32, 32)  # no padding around the outline glyph
    glyph = Image.eval(color.convert("L"), lambda v: 255 if v > 200 else 0).getbbox()  # the white bars
    assert glyph is not None and glyph[0] >= 48 and glyph[1] >= 48 and glyph[2] <= 144 and glyph[3] <= 144
    assert glyph[2] - glyph[0] >= 90  # and it uses the 96×96 safe area


@pytest.mark.wall_clock
def test_the_package_needs_the_app_id(tmp_path):
    done, _ = _package(tmp_path, **PUBLISHER)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "TEAMS_APP_ID is not set" in done.stderr


@pytest.mark.wall_clock
def test_the_package_names_each_publisher_setting_it_lacks_and_writes_nothing(tmp_path):
    for missing in PUBLISHER:
        given = {k: v for k, v in PUBLISHER.items() if k != missing}
        done, out = _package(tmp_path, TEAMS_APP_ID=APP_ID, **given)
        assert done.returncode == 2 and f"{missing} is not set" in done.stderr and not out.exists()
    done, out = _package(tmp_path, TEAMS_APP_ID=APP_ID, **{**PUBLISHER, "TEAMS_PRIVACY_URL": "http://example.org/p"})
    assert done.returncode == 2 and "TEAMS_PRIVACY_URL should be an https:// address" in done.stderr
    done, out = _package(tmp_path, "--version", "1.0", TEAMS_APP_ID=APP_ID, **PUBLISHER)
    assert done.returncode == 2 and "1.2.0" in done.stderr and not out.exists()
    assert done.stderr.count("\n") == 1
