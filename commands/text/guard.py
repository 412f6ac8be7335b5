"""The patient-identifier guard: the cluster's log must never hold a CHI or NHS number.

Every command that stores free text passes it through `refuse_patient_identifiers`.

A CHI (Scotland) or NHS (England, Wales) number is 10 digits, and people write them every way:
"010101 1237", "010-101-1237", "010.101.1237", with a non-breaking or thin space pasted from Word, a
zero-width space, a minus sign, a new line, a look-alike dash or bar from another script ("010101ー1237",
"010101ǀ1237"), an invisible filler (U+3164), digits in circles ("❶"). So the text is first normalised
(`normalise`: NFKC, so full-width and other compatibility digits become 0-9; format characters such as
zero-width spaces dropped; every digit of any style as its ASCII digit; every letter that has no case
(modifier letters, Hangul fillers and jamo, CJK, Lisu …) read as a space, since between digits those are
look-alike dashes and bars, while cased letters (Latin, Greek, Cyrillic) stay letters), and then ANY run
of characters that are neither letters nor digits between two digit groups counts as a separator.
We look at each run of digit groups and test every stretch of whole groups that holds exactly 10
digits, so an 11-digit phone number ("0131 123 4567") is not mistaken for one, while a number beside
other figures still is.
A stretch is refused when it passes either check:
- modulus 11 (NHS numbers and CHI until now): weights 10 down to 2 on the first nine digits;
  check digit = 11 − (sum mod 11), where 11 means 0 and 10 means the number cannot exist;
- modulus 10, Luhn style (the scheme CHI added for new numbers in 2025–26) on all ten digits.
Ten digits written right after the word CHI or NHS ("CHI 010101 1238", "NHS no: 943 476 5918", also
spelt out "N H S" or "C.H.I.") are refused whatever their check digit: a typo in a patient's number is
still that patient's number.
The price of catching every separator: ten digits of unrelated figures that happen to pass a check
("scores 12, 34, 56, 78, 91") are refused too; the message says how to write them instead.

Beyond numbers (`find_personal_details`), two shapes that identify a patient in words are refused:
- a date of birth: the words DOB, d.o.b., "date of birth" or "born" followed by a date in any usual form
  ("DOB 03/02/1941", "d.o.b. 3.2.41", "born 3 Feb 1941", "date of birth: 03-02-1941");
- a title, a capitalised name and a date with its year right after ("Mrs Jean Brown 03/02/1941",
  "Mr J Smith, 3/2/1941").
What ordinary QI text says stays allowed: a date on its own ("meeting on 03/02/2027"), a name and a date
with words between them or no year ("Dr Brown to audit by 3 Feb"), "born in Glasgow", "Mrs Brown's
practice". A name alone, an address or a postcode is not detected (SECURITY.md's coverage table).
"""

import re
import unicodedata
from datetime import date
from functools import lru_cache

from commands.errors import Refusal
from storage.mentions import MENTION

SEPARATOR = r"[\W_]+"  # after normalisation: anything that is neither a letter nor a digit
CASED = {"Lu", "Ll", "Lt"}  # letters with case (Latin, Greek, Cyrillic …): the only letters kept as letters
DIGIT_RUN = re.compile(rf"\d+(?:{SEPARATOR}\d+)*")
SEPARATORS = re.compile(SEPARATOR)


def _spelt(*words: str) -> str:
    """The words as a pattern that also matches them letter by letter ("N H S", "C.H.I", "n-o")."""
    return "|".join(SEPARATOR.replace("+", "*").join(re.escape(letter) for letter in word) for word in words)


# The word CHI or NHS (not inside another word), perhaps "no", "number" or "#", then digits.
NAMED = re.compile(rf"(?<![^\W\d_])(?:{_spelt('CHI', 'NHS')})"
                   rf"(?:[\W_]*(?:{_spelt('number', 'num', 'no', 'nr')})(?![^\W\d_]))?[\W_]*(?=\d)", re.IGNORECASE)


def normalise(text: str) -> str:
    """The text as the guard reads it: NFKC, no format characters (zero-width spaces, joiners, bidi
    marks), every digit of any style (Arabic-Indic, Devanagari, ❶, ⓵, ➀ …) as its ASCII digits, and
    every letter without case, number that is not a digit, or combining mark as a space."""
    if text.isascii():
        return text
    return "".join(map(_read, unicodedata.normalize("NFKC", text)))


@lru_cache(maxsize=8192)
def _read(char: str) -> str:
    """One character as the guard reads it (see `normalise`)."""
    if char.isascii():
        return char
    category = unicodedata.category(char)
    if category == "Cf":
        return ""
    if category in CASED:
        return char
    if category == "Nd":
        return str(unicodedata.decimal(char))
    value = unicodedata.numeric(char, None) if category == "No" else None
    if value is not None and value == int(value):
        return str(int(value))  # ❶ ⓵ ➀ ➊ ⓿, and ❿ or ⓫ as the figures they show
    # A letter with no case (ー ㅡ 一 ꓸ ǀ ˍ ː ـ, the Hangul fillers U+115F U+1160 U+3164 U+FFA0), a number
    # that is no digit (〡) or a mark: between digits, a look-alike separator; elsewhere, no word the
    # guard reads.
    return " " if category[0] in "LMN" else char


def passes_modulus_11(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def passes_modulus_10(digits: str) -> bool:
    """Luhn: from the right, double every second digit (subtracting 9 above 9); the sum ends in 0."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def is_patient_identifier(digits: str) -> bool:
    return len(digits) == 10 and (passes_modulus_11(digits) or passes_modulus_10(digits))


def find_patient_identifiers(text: str) -> list[str]:
    """Each 10-digit stretch of whole digit groups in `text` that passes either check, and the ten
    digits written right after the word CHI or NHS. A person mentioned by the platform (<@id>) is a
    reference, not text: a Teams id can hold ten digits in a row. (A typed "<@…>" never becomes one:
    the Teams adapter neutralises it, Slack escapes it, and the product refuses any mention that does
    not look like one of the platform's people, `parsing.refuse_posing_mentions`.)"""
    text = normalise(MENTION.sub(_reference_only, text) if "<@" in text else text)
    found = _named(text)
    for run in DIGIT_RUN.finditer(text):
        groups = SEPARATORS.split(run.group())
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) >= 10:
                    break
            if is_patient_identifier(digits):
                found.append(digits)
    return found


def _reference_only(mention: re.Match) -> str:
    # Platform ids always hold a letter (Slack's U…, Teams' 29:1…); digits alone are text posing as one.
    return " " if any(c.isalpha() for c in mention.group(1)) else mention.group(0)


def _named(text: str) -> list[str]:
    """Ten digits (in whole groups) right after the word CHI or NHS, whether or not they pass a check."""
    found = []
    for named in NAMED.finditer(text):
        run = DIGIT_RUN.match(text, named.end())
        digits = ""
        for group in SEPARATORS.split(run.group()):
            digits += group
            if len(digits) >= 10:
                break
        if len(digits) == 10:
            found.append(digits)
    return found


# A date as people write one: 03/02/1941, 3.2.41, 03-02-1941, 3 Feb 1941, 3rd February 1941, Feb 3 1941.
_MONTH = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_NUMERIC_DATE = r"\d{1,2}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*(?:\d{4}|\d{2})(?!\d)"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_WORDED_DATE = rf"(?:{_DAY}\s+(?:of\s+)?{_MONTH},?\s+\d{{2,4}}|{_MONTH}\s+{_DAY},?\s+\d{{2,4}})(?!\d)"
_ANY_DATE = rf"(?:{_NUMERIC_DATE}|{_WORDED_DATE}|{_DAY}\s+(?:of\s+)?{_MONTH}|{_MONTH}\s+{_DAY}(?!\d))"
# DOB, D.O.B., d o b, "date of birth", "born" (perhaps "on"), then a date within a few marks.
DATE_OF_BIRTH = re.compile(
    rf"(?<![^\W\d_])(?:d\W{{0,2}}o\W{{0,2}}b|date\s+of\s+birth|born(?:\s+on)?)(?![^\W\d_])[\s:;,.()=\-–]*"
    rf"(?:{_ANY_DATE})", re.IGNORECASE)
# A title, one to four capitalised names or initials (no possessive), then a date with its year. Staff
# titles (Dr, Prof) are left out: "Dr Brown 03/02/2027: audit presented" is how minutes name a colleague.
_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Master)"
_NAME = r"[A-Z][A-Za-z'’\-]*(?<!'s)(?<!’s)\.?"
TITLED_NAME_AND_DATE = re.compile(
    rf"(?<![A-Za-z])(?i:{_TITLE})\.?\s+(?:{_NAME}\s+){{0,3}}{_NAME}[\s,;:()\-–]*"
    rf"(?:{_NUMERIC_DATE}|{_WORDED_DATE})")
DETAILS = {"date of birth": DATE_OF_BIRTH, "name and date": TITLED_NAME_AND_DATE}


def find_personal_details(text: str) -> str | None:
    """"date of birth" or "name and date" when `text` holds that shape of a patient's details, else None."""
    text = normalise(MENTION.sub(" ", text) if "<@" in text else text)
    for kind, shape in DETAILS.items():
        if shape.search(text):
            return kind
    return None


def refuse_patient_identifiers(text: str, what: str, field: str | None = None) -> str:
    """`text` unchanged, or a Refusal explaining why a number or a patient's details in it cannot be
    stored (shown on the form's `field` when it came from a form)."""
    if find_patient_identifiers(text):
        raise Refusal(
            f"The {what} contains a number that looks like a CHI or NHS number. The cluster's log must "
            "not hold patient-identifiable data, so nothing was saved: please remove the number. (Other "
            "figures that run to ten digits can be kept apart with words, e.g. “12 and 34”.)", field=field,
        )
    details = find_personal_details(text)
    if details == "date of birth":
        raise Refusal(
            f"The {what} contains what looks like a patient's date of birth. The cluster's log must not hold "
            "patient-identifiable data, so nothing was saved: leave the date of birth out and describe the "
            "patient without it, e.g. “a patient in their 80s”.", field=field,
        )
    if details == "name and date":
        raise Refusal(
            f"The {what} contains a title, a name and a date together, which can identify a patient. The "
            "cluster's log must not hold patient-identifiable data, so nothing was saved: leave out the "
            "name or the date, e.g. “one patient (80s) reviewed on 3 Feb”.", field=field,
        )
    return text


HORIZON_YEARS = 5  # a stored date further than this either side of today is a typo, not a plan


def refuse_beyond_horizon(day: date, today: date, what: str, field: str | None = None) -> date:
    """`day` unchanged, or a Refusal when it is more than HORIZON_YEARS from `today`. Checked where a
    meeting or an action stores its date, whichever path (typed, form) the date came by: a meeting in
    year 9999 once broke every listing that showed it."""
    if abs(day.year - today.year) > HORIZON_YEARS or not (
            _years_from(today, -HORIZON_YEARS) <= day <= _years_from(today, HORIZON_YEARS)):
        raise Refusal(f"The {what} ({day:%-d %B %Y}) is more than {HORIZON_YEARS} years away: check the year.",
                      field=field)
    return day


def _years_from(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)
