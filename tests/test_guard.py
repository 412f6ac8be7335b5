"""The patient-identifier guard, with generated numbers and realistic sentences (hypothesis)."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from commands.errors import Refusal
from commands.text.guard import (
    find_patient_identifiers,
    normalise,
    passes_modulus_10,
    passes_modulus_11,
    refuse_patient_identifiers,
)

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


def with_mod11_check(first9: str) -> str | None:
    total = sum(int(d) * w for d, w in zip(first9, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else first9 + str(check)


def with_luhn_check(first9: str) -> str:
    return next(first9 + d for d in "0123456789" if passes_modulus_10(first9 + d))


@st.composite
def valid_numbers(draw):
    first9 = draw(nine_digits)
    number = with_mod11_check(first9) if draw(st.booleans()) else with_luhn_check(first9)
    assume(number is not None)
    return number


@st.composite
def invalid_numbers(draw):
    number = draw(st.text(alphabet="0123456789", min_size=10, max_size=10))
    assume(not passes_modulus_11(number) and not passes_modulus_10(number))
    return number


# What sits between digit groups when people type or paste: spaces of every width, dashes and minus signs,
# dots, slashes, underscores, zero-width characters, new lines, and runs of them.
UNICODE_SEPARATORS = [" ", "  ", "\t", "-", ".", "/", "_", "\u00a0", "\u2009", "\u202f", "\u2007", "\u200b",
                      "\u200c", "\u2060", "\ufeff", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212",
                      "\ufe63", "\uff0d", "\n", "\r\n", "\n\n", " - ", "\u3000", "·", ":", ",", "\u00ad"]
separators = st.lists(st.sampled_from(UNICODE_SEPARATORS), min_size=1, max_size=3).map("".join)


@st.composite
def split_anyhow(draw, number: str) -> str:
    """`number` cut into 2–4 groups joined by generated separators (any non-alphanumeric run)."""
    cuts = sorted(draw(st.sets(st.integers(1, 9), min_size=1, max_size=3)))
    groups = [number[a:b] for a, b in zip([0, *cuts], [*cuts, 10], strict=True)]
    text = groups[0]
    for group in groups[1:]:
        text += draw(separators) + group
    return text


def typed(number: str, style: int) -> str:
    """The ways people write the numbers: 0101011237, 010101 1237, 010 101 1237, 010-101-1237."""
    return [number, f"{number[:6]} {number[6:]}", f"{number[:3]} {number[3:6]} {number[6:]}",
            f"{number[:3]}-{number[3:6]}-{number[6:]}"][style]


SENTENCES = [
    "Review of patient {} who missed the asthma clinic",
    "{}",
    "Audit of DOACs — e.g. ({}) — by March",
    "Call re pt {}, thanks",
    "Why:\n\n{}\n",
]
NAMED_SENTENCES = ["CHI:{} follow up", "chi {}", "NHS no. {}", "NHS number: {} (typo?)", "pt CHI{}"]


def test_the_documented_example_is_valid():
    assert passes_modulus_11("0101011237")
    assert find_patient_identifiers("patient 0101011237 seen") == ["0101011237"]


def test_modulus_11_rejects_check_digit_ten():
    assert passes_modulus_11("0000000019")  # 1×2 = 2; 11 − 2 = 9
    # 6×2 = 12 ≡ 1 (mod 11), so the check digit would be 10: no tenth digit makes it valid
    assert not any(passes_modulus_11("000000006" + d) for d in "0123456789")


@given(valid_numbers(), st.integers(0, 3), st.sampled_from(SENTENCES))
def test_valid_numbers_in_sentences_are_refused(number, style, sentence):
    text = sentence.format(typed(number, style))
    assert number in find_patient_identifiers(text)
    with pytest.raises(Refusal, match="CHI or NHS number"):
        refuse_patient_identifiers(text, "title")


@given(invalid_numbers(), st.integers(0, 3), st.sampled_from(SENTENCES))
def test_numbers_failing_both_checks_are_allowed(number, style, sentence):
    text = sentence.format(typed(number, style))
    assert find_patient_identifiers(text) == []


@given(st.data(), valid_numbers(), st.sampled_from(SENTENCES + NAMED_SENTENCES))
def test_any_separators_between_groups_are_seen_through(data, number, sentence):
    text = sentence.format(data.draw(split_anyhow(number)))
    assert number in find_patient_identifiers(text)


@given(st.data(), invalid_numbers(), st.sampled_from(NAMED_SENTENCES))
def test_ten_digits_after_chi_or_nhs_are_refused_even_with_a_wrong_check_digit(data, number, sentence):
    text = sentence.format(data.draw(st.one_of(st.just(number), split_anyhow(number))))
    with pytest.raises(Refusal, match="CHI or NHS number"):
        refuse_patient_identifiers(text, "note")


@pytest.mark.parametrize("text", [
    "０１０１０１１２３７",              # full-width digits
    "٠١٠١٠١١٢٣٧",                        # Arabic-Indic digits
    "010\u200b101\u200d1237",            # zero-width space and joiner
    "0\u20061\u200e0101 1237",            # a six-per-em space and a left-to-right mark
])
def test_digits_are_normalised_before_checking(text):
    assert find_patient_identifiers(text) == ["0101011237"]


@pytest.mark.parametrize("text", ["CHIEF 0101011238", "Kimchi 0101011238 x", "NHS 12345", "CHI 01010112389"])
def test_the_words_chi_and_nhs_count_only_as_words_before_ten_digits(text):
    assert find_patient_identifiers(text) == []


@given(st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=200))
def test_text_without_digits_passes_unchanged(text):
    assert refuse_patient_identifiers(text, "note") == text


@pytest.mark.parametrize("text", [
    "Phone the practice on 0131 123 4567",     # 11 digits: a UK phone number
    "Reduce waits by 20% by 31/03/2027",
    "Practice 80123 and 80456 to audit 250 patients",
    "Order 12345678901 items",                  # 11 unbroken digits
    "Sessions: 2026-12-03 at 12:30",
])
def test_everyday_figures_are_not_mistaken(text):
    assert find_patient_identifiers(text) == []


def test_a_number_beside_other_figures_is_still_found():
    assert find_patient_identifiers("Room 3 0101011237") == ["0101011237"]
    assert find_patient_identifiers("010 101 1237 and 943 476 5919") == ["0101011237", "9434765919"]


def test_a_platform_mention_is_a_reference_but_digits_posing_as_one_are_text():
    # A Teams id can hold ten digits in a row that pass a check: a mention is not free text.
    assert find_patient_identifiers("Ask <@29:1AbC0101011237xyz> to call the practice") == []
    assert find_patient_identifiers("Ask <@0101011237> to call") == ["0101011237"]
    assert find_patient_identifiers("Ask <@U0G9QF9C6> about 0101011237") == ["0101011237"]


# Issue 26: what an attacker found still passed. Letters without case (Japanese, Korean, Chinese, Lisu, Latin
# clicks, modifier letters, Arabic tatweel) look like dashes, bars and colons; the Hangul fillers are invisible.
LOOK_ALIKE_SEPARATORS = ["ー", "ㅡ", "一", "ꓸ", "ǀ", "ˍ", "ː", "ـ", "\u3164", "\u115f", "\u1160", "\uffa0",
                         "\u3164\u3164", " ー ", "\u200bㅡ\u200b"]


@pytest.mark.parametrize("separator", LOOK_ALIKE_SEPARATORS)
def test_look_alike_separators_and_invisible_fillers_are_seen_through(separator):
    assert find_patient_identifiers(f"010101{separator}1237") == ["0101011237"]
    assert find_patient_identifiers(f"pt 010{separator}101{separator}1237 seen") == ["0101011237"]


@pytest.mark.parametrize("text", [
    "⓿❶⓿❶⓿❶❶❷❸❼",                       # dingbat negative circled digits
    "⓪➀⓪➊0❶⓵2 3 7",                      # circled, sans-serif circled, double circled, mixed with ASCII
    "0➀0➀ 0➀ ➀➁➂➆",
    "⒈⒉ ⓪⑴⓪⑴⓪⑴ ①②③⑦",                # full-stop, parenthesised and circled digits (NFKC) as before
])
def test_digits_of_every_style_are_read_as_digits(text):
    assert find_patient_identifiers(text) == ["0101011237"]


def test_a_figure_in_a_circle_is_read_as_its_figures():
    assert normalise("❿ and ⓫") == "10 and 11"
    assert normalise("⒈⒉ ⑴") == "1.2. (1)"


@pytest.mark.parametrize("text", ["N H S 010101 1238", "C.H.I 0101011238", "c h i: 0101011238", "N-H-S n o. 0101011238",
                                  "NHS\u3164 0101011238", "N\u3164H\u3164S 0101011238", "C H I number 010 101 1238"])
def test_chi_and_nhs_spelt_out_letter_by_letter_still_name_a_number(text):
    # 0101011238 fails both checks: only the word before it makes it a patient's number.
    assert find_patient_identifiers(text) == ["0101011238"]


@pytest.mark.parametrize("text", ["Kim chief 0101011238", "which 0101011238", "Room 2026年12月05日 at 14:00",
                                  "Phone ㅡ 0131 123 4567", "Chapter ❶ of 3"])
def test_the_new_readings_do_not_make_everyday_text_a_number(text):
    assert find_patient_identifiers(text) == []
