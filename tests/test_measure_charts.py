"""/measure chart: PNGs read back with Pillow — size, not blank, signals drawn — through the platform-free
driver (testkit/driver.py) and through signed Slack requests, on both databases; and the chart writer on its own."""

import io

import pytest
from PIL import Image

from analysis.charts import BLUE, ORANGE, Panel, Picture, render
from commands import Caller
from commands.results import Upload, plain_text
from testkit import factories
from testkit.slack_requests import dispatch_command
from tests.test_measures import ADD, refused, set_up

STEADY = [32, 34, 31, 33, 30, 32, 34, 31, 33, 30, 32, 31]
HIGHER = [40, 44, 41, 45, 42, 46]


def record_history(cluster, practice: str = "80123") -> None:
    lines = [f"{m}/2025 {v}/100 practice {practice}" for m, v in enumerate(STEADY, start=1)]
    lines += [f"{m}/2026 {v}/100 practice {practice}" for m, v in enumerate(HIGHER, start=1)]
    cluster.measure("record D1 " + "\n".join(lines))


def upload_of(cluster, text: str) -> Upload:
    """The chart `/measure <text>` drew, as delivery uploaded it."""
    said = cluster.driver.say(f"/measure {text}")
    assert "Drawing the chart of D1" in said.text, said.text
    [upload] = [sent.upload for sent in said.sent if sent.kind == "upload"]
    return upload


def has_colour(image: Image.Image, colour: str, at_least: int = 20) -> bool:
    wanted = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return sum(count for count, pixel in image.getcolors(maxcolors=1 << 20) if pixel[:3] == wanted) >= at_least


def opened(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    return image.convert("RGB")


@pytest.fixture
def charted(product):
    cluster = set_up(product)
    cluster.measure(ADD)
    record_history(cluster)
    return cluster


def test_a_practice_chart_is_a_large_png_with_its_signals(charted):
    upload = upload_of(charted, "chart D1 practice 80123")
    # the practice's code in the name (issue 23): one practice's chart no longer overwrites the next's
    assert upload.filename == "riverside-cluster-d1-practice-80123-2026-11-26.png" and upload.channel == "CCLUSTER"
    comment = plain_text(upload.comment)
    assert "shared the chart of D1 Asthma reviews within 2 weeks for Riverside Medical Practice" in comment
    assert "shift above the median (6 months) — improvement" in comment
    image = opened(upload.content)
    assert image.width >= 1000 and image.height >= 500
    assert len(image.getcolors(maxcolors=1 << 20)) > 50  # not blank: lines, text, markers
    assert has_colour(image, BLUE) and has_colour(image, ORANGE)  # the data, and the signal's points


def test_all_draws_small_multiples_with_the_cluster(charted):
    charted.measure("record D1 Oct 2026 7/10 practice 80456")
    charted.measure("record D1 Sep 2026 6/10 practice 80456")
    upload = upload_of(charted, "chart D1 all")
    image = opened(upload.content)
    assert image.width >= 1200 and image.height >= 500
    assert has_colour(image, BLUE)
    single = opened(upload_of(charted, "chart D1 cluster").content)
    assert single.size != image.size


def test_too_little_data_is_said_in_words(product):
    cluster = set_up(product)
    cluster.measure(ADD)
    refused(cluster.measure("chart D1"), "Not enough data yet: D1 has 0 points for the cluster")
    cluster.measure("record D1 Oct 2026 4/10")
    refused(cluster.measure("chart D1 practice 80123"), "has 1 point for Riverside Medical Practice. A chart needs 2, "
                                                       "and the run-chart rules need 10 useful points")
    cluster.measure("record D1 Sep 2026 5/10\nAug 2026 3/10")
    upload = upload_of(cluster, "chart D1 practice 80123")
    # three points: the middle one is the median itself, so two are useful
    assert "the run-chart rules need 10 useful points; there are 2 so far" in plain_text(upload.comment)
    assert "no signal" not in plain_text(upload.comment)


def test_bad_chart_requests(charted):
    refused(charted.measure("chart D1 sideways"), "isn't a chart I can draw")
    refused(charted.measure("chart D1 practice 99999"), "No practice with code 99999")
    refused(charted.measure("chart D8"), "There's no measure D8")


def test_spc_charts_draw_limits(charted):
    charted.measure("edit D1 chart p")
    image = opened(upload_of(charted, "chart D1 practice 80123").content)
    assert has_colour(image, "#D55E00")  # the control limits


def test_signed_request_uploads_the_png(app, slack_api):
    factories.riverside(factories.on_slack(app), practices=1, members={"ULEAD": "80123"})
    dispatch_command(app, "/topic", "propose Asthma reviews after discharge")
    dispatch_command(app, "/measure", ADD)
    lines = [f"{m}/2025 {v}/100" for m, v in enumerate(STEADY, start=1)]
    dispatch_command(app, "/measure", "record D1 " + "\n".join(lines))
    ack = dispatch_command(app, "/measure", "chart D1 all")
    assert ack.json["response_type"] == "ephemeral" and "Drawing the chart of D1" in ack.text
    [complete] = slack_api.wait_for("files.completeUploadExternal")
    [content] = slack_api.uploads.values()
    assert complete.args["channel_id"] == "CCLUSTER"
    assert "shared the chart of `D1`" in complete.args["initial_comment"]
    image = opened(content)
    assert image.width >= 1000 and image.height >= 500


def test_the_writer_shows_gaps_and_a_remark():
    picture = Picture("D1 Test", "Run chart", "Percent", [Panel("One", ["a", "b", "c", "d"], [1, None, 3, 2],
                                                                  [2, 2, 2, 2], remark="not enough data yet")],
                      goal=2.5, better="Higher is better")
    image = opened(render(picture))
    assert image.size == (1280, 640)
    assert has_colour(image, BLUE)


def test_the_console_saves_the_png_and_says_where(product, tmp_path, monkeypatch):
    from bot.console import run_line
    monkeypatch.chdir(tmp_path)
    caller = Caller("ULEAD", "CCLUSTER", "T-CONSOLE")
    for typed in ("/cluster setup Riverside Cluster", "/cluster practice add 80123 Riverside Medical Practice",
                  "/cluster join 80123", "/topic propose Asthma reviews after discharge", f"/measure {ADD}",
                  "/measure record D1 Aug 2026 30/100; Sep 2026 33/100; Oct 2026 36/100"):
        assert not run_line(product, typed, caller).startswith("!"), typed
    shown = run_line(product, "/measure chart D1", caller)
    [saved] = list(tmp_path.glob("*.png"))
    assert f"[file saved here: {saved}]" in shown and "shared the chart of D1" in shown
    assert opened(saved.read_bytes()).width >= 1000
