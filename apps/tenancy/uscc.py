"""统一社会信用代码 (Unified Social Credit Code, GB 32100-2015) validation.

18 characters from a 31-symbol alphabet (digits and upper-case letters without I, O, S, V, Z):
1 registration authority, 1 entity category, 6 administrative division (digits), 9 organization
code, 1 check character computed from the first 17 with the weights 3^i mod 31.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28


def uscc_check_character(first17: str) -> str:
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> None:
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValidationError(_("A unified social credit code has exactly 18 characters."), code="uscc_length")
    bad = sorted({char for char in code if char not in ALPHABET})
    if bad:
        raise ValidationError(
            _("Characters not allowed in a unified social credit code: %(chars)s (I, O, S, V and Z are never used)."),
            code="uscc_charset",
            params={"chars": " ".join(bad)},
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            _("Characters 3–8 of a unified social credit code are the administrative division code "
              "and must be digits."),
            code="uscc_division",
        )
    if uscc_check_character(code[:17]) != code[17]:
        raise ValidationError(
            _("The check character does not match: please re-check the code on the business licence."),
            code="uscc_check",
        )
