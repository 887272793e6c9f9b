import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from apps.tenancy.uscc import ALPHABET, uscc_check_character, validate_uscc


def test_accepts_a_published_sample_code():
    validate_uscc("91350100M000100Y43")


def test_accepts_lower_case_input_of_a_valid_code():
    validate_uscc("91350100m000100y43")


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("91350100M000100Y4", "uscc_length"),
        ("91350100M000100Y433", "uscc_length"),
        ("91350100M000100Y42", "uscc_check"),
        ("91350100M0001O0Y43", "uscc_charset"),  # letter O is never used
        ("913501A0M000100Y43", "uscc_division"),
    ],
)
def test_rejects_malformed_codes_with_a_specific_reason(code, error_code):
    with pytest.raises(ValidationError) as excinfo:
        validate_uscc(code)
    assert excinfo.value.code == error_code


first17 = st.tuples(
    st.text(alphabet=ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
).map("".join)


@given(first17)
def test_a_code_with_its_computed_check_character_is_valid(body):
    validate_uscc(body + uscc_check_character(body))


@given(first17, st.sampled_from(ALPHABET))
def test_any_other_check_character_is_rejected(body, wrong):
    if wrong == uscc_check_character(body):
        wrong = ALPHABET[(ALPHABET.index(wrong) + 1) % len(ALPHABET)]
    with pytest.raises(ValidationError):
        validate_uscc(body + wrong)
