"""The patient-identifier guard: the cluster's log must never hold a CHI or NHS number.

Every command that stores free text passes it through `refuse_patient_identifiers`.

A CHI (Scotland) or NHS (England, Wales) number is 10 digits. Typed, it may be split into
groups by spaces or dashes ("010101 1237", "010-101-1237"). We look at each run of digit groups
and test every stretch of whole groups that holds exactly 10 digits, so an 11-digit phone number
("0131 123 4567") is not mistaken for one, while a number beside other figures still is.
A stretch is refused when it passes either check:
- modulus 11 (NHS numbers and CHI until now): weights 10 down to 2 on the first nine digits;
  check digit = 11 − (sum mod 11), where 11 means 0 and 10 means the number cannot exist;
- modulus 10, Luhn style (the scheme CHI added for new numbers in 2025–26) on all ten digits.
"""

import re

from commands.errors import Refusal

DIGIT_RUN = re.compile(r"\d+(?:[ \t\-\u2010\u2011\u2012\u2013]{1,3}\d+)*")
SEPARATORS = re.compile(r"[ \t\-\u2010\u2011\u2012\u2013]+")


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
    """Each 10-digit stretch of whole digit groups in `text` that passes either check."""
    found = []
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


def refuse_patient_identifiers(text: str, what: str, field: str | None = None) -> str:
    """`text` unchanged, or a Refusal explaining why a number in it cannot be stored (shown on the
    form's `field` when it came from a form)."""
    if find_patient_identifiers(text):
        raise Refusal(
            f"The {what} contains a number that looks like a CHI or NHS number. The cluster's log must "
            "not hold patient-identifiable data, so nothing was saved: please remove the number.", field=field,
        )
    return text
