"""Issue 23, data the Board can trust: the cluster figure's one stated method (pooled n/d, or the mean of the
practices' values said as such), complete periods only in the rules, signals posted once with an icon by the
direction of good, the counts in messages, and charts that draw every text as typed. Through the platform-free
driver (testkit/driver.py) on SQLite, with the expected values worked out by hand in the comments."""

from datetime import UTC, date, datetime

from analysis import charts as drawing
from analysis.charts import Panel, Picture, render
from analysis.runchart import run_chart
from commands.measures import charts as chart_command
from commands.measures import series as series_tools
from commands.results import Tone, plain_text
from storage.measures import StoredPoint
from storage.models import Measure, Practice
from testkit import factories
from testkit.driver import Driver
from tests.test_measure_charts import opened, upload_of
from tests.test_measures import ADD, Cluster

STEADY = [32, 34, 31, 33, 30, 32, 34, 31, 33, 30, 32, 31]  # 2025: median 32
HIGHER = [40, 44, 41, 45, 42, 46]                          # Jan–Jun 2026: all above 32


def three_practices(product) -> Cluster:
    """Riverside with three practices; ULEAD leads (80123), UNURSE is in 80456; leads record for 80789."""
    driver = Driver(product)
    factories.riverside(driver.say, practices=3, members={"ULEAD": "80123", "UNURSE": "80456"})
    cluster = Cluster(driver)
    assert cluster.run("/topic", "propose Asthma reviews after discharge", user="ULEAD").tone == Tone.DONE  # T1
    assert "D1" in plain_text(cluster.measure(ADD))
    return cluster


def history(cluster: Cluster, practice: str, months_2026: int = 6) -> None:
    lines = [f"{m}/2025 {v}/100 practice {practice}" for m, v in enumerate(STEADY, start=1)]
    lines += [f"{m}/2026 {v}/100 practice {practice}" for m, v in enumerate(HIGHER[:months_2026], start=1)]
    cluster.measure("record D1 " + "\n".join(lines))


# --- one stated method -------------------------------------------------------------------------------

def test_the_cluster_figure_is_pooled_when_every_practice_gave_n_over_d(product):
    cluster = three_practices(product)
    cluster.measure("record D1 Oct 2026 354/624 practice 80123\nOct 2026 8/9 practice 80456\n"
                    "Oct 2026 60/100 practice 80789")
    text = plain_text(cluster.measure("data D1"))
    # (354 + 8 + 60) / (624 + 9 + 100) = 422/733 = 57.57%: 8/9 weighs 9, not as much as 354/624
    assert "Cluster 57.6% (3 of 3 reported)" in text
    assert "mean of practice values" not in text


def test_a_bare_percentage_makes_the_cluster_a_stated_mean(product):
    cluster = three_practices(product)
    cluster.measure("record D1 Oct 2026 354/624 practice 80123\nOct 2026 8/9 practice 80456\n"
                    "Oct 2026 60% practice 80789")
    text = plain_text(cluster.measure("data D1"))
    # (56.731 + 88.889 + 60.0) / 3 = 68.54%, said as a mean, never passed off as the pooled figure
    assert "Cluster 68.5% (3 of 3 reported; mean of practice values: 1 of 3 gave percentages only)" in text


def point(practice: int, period: date, value: float, numerator=None, denominator=None):
    return StoredPoint(1, practice, period, numerator, denominator, value, "U", datetime(2026, 11, 1, tzinfo=UTC))


def test_the_export_and_the_chart_caption_state_the_method():
    measure = Measure(short_id="D1", name="x", unit="percent", frequency="monthly", chart="ihi")
    practices = [Practice(id=i, name=c, code=c) for i, c in enumerate(("80123", "80456", "80789"), start=1)]
    points = [point(1, date(2026, 10, 1), 354 / 624 * 100, 354, 624), point(2, date(2026, 10, 1), 8 / 9 * 100, 8, 9),
              point(3, date(2026, 10, 1), 60.0), point(1, date(2026, 9, 1), 30.0, 30, 100),
              point(2, date(2026, 9, 1), 40.0, 40, 100), point(3, date(2026, 9, 1), 50.0, 50, 100)]
    _, whole = series_tools.build(measure, points, practices)
    assert whole.methods == [series_tools.POOLED, series_tools.MEAN]
    assert round(whole.values[0], 6) == 40.0  # 120/300
    notes = series_tools.export_notes(measure, whole)
    assert notes == ["Cluster figure: pooled n/d, except Oct 26 mean of practice values: 1 of 3 gave percentages only"]
    assert notes[0] in chart_command.caption_of(measure, [whole])


# --- complete periods ----------------------------------------------------------------------------------

def test_a_period_one_practice_has_not_reported_is_shown_but_never_feeds_the_cluster_signals(product):
    cluster = three_practices(product)
    history(cluster, "80123")
    history(cluster, "80456")
    history(cluster, "80789", months_2026=5)  # Burnside has not sent Jun 2026 yet
    text = plain_text(cluster.measure("data D1"))
    # Jun 2026: 2 of 3 practices; only 5 complete months above the median 32: no shift (6 needed)
    assert "Jun 2026 ·" in text and "(2 of 3 reported; incomplete (2 of 3 practices))" in text
    assert "• Cluster: no signal" in text or "• Cluster: shift" not in text
    assert "for the cluster" not in plain_text(cluster.measure("show D1")).split("Signals")[0]
    done = plain_text(cluster.measure("record D1 Jun 2026 46/100 practice 80789"))
    # Jun complete: six months above 32, the cluster's shift appears, and is said when it appears
    assert "D1 for the cluster: shift above the median (6 months) — improvement" in done
    assert "• Cluster: shift above the median (6 months) — improvement" in plain_text(cluster.measure("data D1"))


def test_the_current_unfinished_period_never_feeds_signals():
    measure = Measure(short_id="D1", name="x", unit="percent", frequency="monthly", chart="ihi",
                      higher_is_better=True)
    practices = [Practice(id=1, name="One", code="80123")]
    values = [*STEADY, *HIGHER]
    periods = [date(2025 + (m // 12), m % 12 + 1, 1) for m in range(len(values))]  # Jan 2025 … Jun 2026
    points = [point(1, p, float(v), v, 100) for p, v in zip(periods, values, strict=True)]
    during, whole = series_tools.build(measure, points, practices, today=date(2026, 6, 20))
    assert whole.complete[-1] is False and series_tools.chart_of(measure, whole).signals == ()  # 5 months only
    assert series_tools.incomplete_note(whole, len(values) - 1) == "incomplete (period not over)"
    assert series_tools.chart_of(measure, during[0]).signals == ()
    _, after = series_tools.build(measure, points, practices, today=date(2026, 7, 1))
    [shift] = series_tools.chart_of(measure, after).signals
    assert (shift.rule, shift.points) == ("shift", 6)


# --- signals posted once --------------------------------------------------------------------------------

def signal_lines(cluster: Cluster) -> list[str]:
    """The signal lines delivery sent (the record's reply, in the channel), in order."""
    return [text for sent in cluster.driver.sent for text in sent.text.splitlines() if "the median" in text]


def test_a_signal_is_posted_once_and_never_again_for_the_same_data(product):
    cluster = three_practices(product)
    history(cluster, "80123", months_2026=5)
    assert signal_lines(cluster) == []
    cluster.measure("record D1 Jun 2026 46/100")
    # Riverside alone records D1: its shift and the cluster's (the same data), each once, as improvements
    assert signal_lines(cluster) == [
        "✅ D1 for the cluster: shift above the median (6 months) — improvement",
        "✅ D1 at Riverside Medical Practice: shift above the median (6 months) — improvement"]
    cluster.measure("record D1 Jun 2026 46/100")  # already recorded: unchanged
    cluster.measure("record D1 Jun 2026 47/100")  # a change that leaves the signals as they were
    cluster.measure("record D1 May 2026 43/100")
    assert len(signal_lines(cluster)) == 2


def test_a_deterioration_is_not_drawn_as_a_rise(product):
    cluster = three_practices(product)
    lower = [f"{m}/2026 {v}/100" for m, v in enumerate([20, 22, 21, 23, 20, 21], start=1)]
    cluster.measure("record D1 " + "\n".join([f"{m}/2025 {v}/100" for m, v in enumerate(STEADY, start=1)] + lower))
    [first, *_] = signal_lines(cluster)
    # below 32: Oct 2025 (30), Nov (32: on the median, skipped), Dec (31) and Jan–Jun 2026: 8 months
    assert first.startswith("⚠️ D1") and "shift below the median (8 months) — deterioration" in first
    assert not any("📈" in sent.text for sent in cluster.driver.sent)


# --- counts in messages ---------------------------------------------------------------------------------

def test_one_practices_data_still_shows_the_whole_clusters_figure_and_signals(product):
    cluster = three_practices(product)
    history(cluster, "80123")
    cluster.measure("record D1 Jun 2026 20/50 practice 80456")
    text = plain_text(cluster.measure("data D1 practice 80456"))
    # Jun 2026: (46 + 20) / (100 + 50) = 44.0%, from both practices, not Hillview's 40.0% alone
    assert "Hillview Surgery 40.0% (20/50) · Cluster 44.0% (2 of 3 reported" in text
    assert "Riverside Medical Practice" not in text
    assert "• Hillview Surgery: not enough data yet" in text


def test_after_a_rebase_the_count_is_the_baselines_not_the_sum():
    chart = run_chart([1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8], rebases=[8])
    # each part of 8 distinct values has its median between points: 8 useful each, 16 in all, neither 10
    assert series_tools.verdict_of_chart(chart) == ("the run-chart rules need 10 useful points since the latest "
                                                    "rebase; there are 8 so far (16 across 2 baselines)")


# --- charts ---------------------------------------------------------------------------------------------

def test_chart_text_is_drawn_as_typed_never_as_mathtext():
    title = r"D1 Cost $x$ \alpha and $\frac$ per practice"
    picture = Picture(title, r"Run chart \beta", "Percent",
                      [Panel(r"Dr $Smith$ \& partners", ["a", "b", "c"], [1, 2, 3], [2, 2, 2])], goal=2.5)
    assert opened(render(picture)).width == 1280  # mathtext would fail on $\frac$ here
    figure = drawing.figure_of(picture)
    texts = {t.get_text(): t for t in figure.findobj(lambda a: hasattr(a, "get_parse_math"))}
    assert title in texts and r"Dr $Smith$ \& partners" in texts
    assert not any(t.get_parse_math() for t in texts.values())


def test_median_and_goal_lines_carry_their_values():
    picture = Picture("D1", "Run chart", "Percent", [Panel("One", ["a", "b", "c", "d"], [1, 3, 2, 4],
                                                           [2.5, 2.5, None, None])], goal=3.5)
    picture.number = lambda v: f"{v:.1f}%"
    words = [t.get_text() for t in drawing.figure_of(picture).findobj(lambda a: hasattr(a, "get_parse_math"))]
    assert "Median 2.5%" in words and "Goal 3.5%" in words


def test_a_long_title_wraps_instead_of_being_cut(product):
    cluster = three_practices(product)
    long_name = "Asthma reviews within 2 weeks of discharge from any hospital in the Health Board area"
    cluster.measure(f'add T1 "{long_name}" percent higher is better')
    cluster.measure("record D1 Aug 2026 30/100\nSep 2026 33/100")
    cluster.measure("record D2 Aug 2026 30/100\nSep 2026 33/100")
    short = opened(upload_of(cluster, "chart D1 practice 80123").content)
    said = cluster.driver.say("/measure chart D2 practice 80123")
    [upload] = [sent.upload for sent in said.sent if sent.kind == "upload"]
    assert opened(upload.content).height > short.height  # the title's second line, not an ellipsis


def test_each_practices_chart_file_has_its_own_name(product):
    cluster = three_practices(product)
    cluster.measure("record D1 Aug 2026 30/100\nSep 2026 33/100")
    cluster.measure("record D1 Aug 2026 3/10\nSep 2026 4/10", user="UNURSE")
    names = {upload_of(cluster, f"chart D1 practice {code}").filename for code in ("80123", "80456")}
    assert names == {"riverside-cluster-d1-practice-80123-2026-11-26.png",
                     "riverside-cluster-d1-practice-80456-2026-11-26.png"}


def test_the_p_charts_caption_explains_its_baseline():
    measure = Measure(short_id="D1", name="x", unit="percent", frequency="monthly", chart="p")
    caption = chart_command.caption_of(measure, [])
    assert "pooled proportion (Σ numerators / Σ denominators)" in caption and "not the run chart's median" in caption
