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


@pytest.mark.wall_clock
def test_the_package_has_the_manifest_and_both_icons(tmp_path):
    out = tmp_path / "clusterbot-teams.zip"
    done = subprocess.run([sys.executable, "-m", "bot", "teams-package", "--out", str(out)], capture_output=True,
                          text=True, env={"TEAMS_APP_ID": APP_ID, "PATH": "/usr/bin:/bin"}, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        color = Image.open(io.BytesIO(package.read("color.png")))
        outline = Image.open(io.BytesIO(package.read("outline.png"))).convert("RGBA")
    assert manifest["manifestVersion"] == "1.22" and manifest["$schema"].endswith("/v1.22/MicrosoftTeams.schema.json")
    assert manifest["id"] == APP_ID
    bot = manifest["bots"][0]
    assert bot["botId"] == APP_ID and set(bot["scopes"]) == {"team", "groupChat", "personal"}
    titles = [c["title"] for c in bot["commandLists"][0]["commands"]]
    assert titles == [f.lstrip("/") for f in FAMILIES]  # from the registry, every family
    assert all(len(c["description"]) <= 128 for c in bot["commandLists"][0]["commands"])
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert color.size == (192, 192) and outline.size == (32, 32)
    pixels = list(outline.getdata())
    assert {p[:3] for p in pixels if p[3]} == {(255, 255, 255)}  # white …
    assert any(p[3] == 0 for p in pixels) and any(p[3] == 255 for p in pixels)  # … on transparent


@pytest.mark.wall_clock
def test_the_package_needs_the_app_id(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "teams-package", "--out", str(tmp_path / "x.zip")],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "TEAMS_APP_ID is not set" in done.stderr
