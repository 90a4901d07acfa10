import ast
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authsvc.config import Settings
from authsvc.security import policy
from authsvc.security.policy import (
    Blocklist,
    PasswordValidator,
    PolicyRules,
    Unmet,
    normalize_password,
)

GOOD = "Kite-Meadow-42x"  # 15 chars, every class, not blocklisted


@pytest.fixture(scope="module")
def blocklist() -> Blocklist:
    return Blocklist.load()


@pytest.fixture
def default(blocklist: Blocklist) -> PasswordValidator:
    return PasswordValidator(PolicyRules(), blocklist)


def nist_settings(monkeypatch: pytest.MonkeyPatch, **overrides: int) -> Settings:
    monkeypatch.setenv("AUTHSVC_PASSWORD_POLICY", "nist")
    return Settings(**overrides)


@pytest.fixture
def nist(blocklist: Blocklist, monkeypatch: pytest.MonkeyPatch) -> PasswordValidator:
    return PasswordValidator(PolicyRules.from_settings(nist_settings(monkeypatch)), blocklist)


def codes(unmet: list[Unmet]) -> list[str]:
    return [u.code for u in unmet]


# --------------------------------------------------------------------------- normalization
@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_password(text)
    assert normalize_password(once) == once


@given(st.text())
def test_normalize_is_nfkc(text: str) -> None:
    assert normalize_password(text) == unicodedata.normalize("NFKC", text)


def test_normalize_folds_compatibility_forms_and_never_truncates() -> None:
    assert normalize_password("ｐａｓｓ") == "pass"  # full-width letters
    assert normalize_password("e\u0301") == "\u00e9"  # combining accent composed
    assert normalize_password("x" * 5000) == "x" * 5000


# --------------------------------------------------------------------------- rules, one at a time
def test_good_password_passes_default(default: PasswordValidator) -> None:
    assert default.validate(GOOD) == []


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Kite-Mead0w", "min_length"),
        ("kite-meadow-42x", "upper"),
        ("KITE-MEADOW-42X", "lower"),
        ("Kite-Meadow-xyz", "digits"),
        ("KiteMeadow42xyz", "special"),
    ],
)
def test_each_default_rule_fails_alone(
    default: PasswordValidator, password: str, code: str
) -> None:
    assert codes(default.validate(password)) == [code]


def test_min_length_boundary(default: PasswordValidator) -> None:
    assert codes(default.validate("Kite-Mead0w!")) == []  # 12
    assert codes(default.validate("Kite-Mead0w")) == ["min_length"]  # 11


def test_max_length_counts_characters(blocklist: Blocklist) -> None:
    validator = PasswordValidator(PolicyRules(max_length=16), blocklist)
    assert validator.validate("Aé1!" * 4) == []  # 16 characters, 20 UTF-8 bytes
    assert codes(validator.validate("Aé1!" * 4 + "x")) == ["max_length"]


def test_length_is_measured_after_normalization(blocklist: Blocklist) -> None:
    rules = PolicyRules(min_length=4, require_digits=False, require_special=False)
    validator = PasswordValidator(rules, blocklist)
    assert codes(validator.validate("Abce\u0301")) == []  # 5 code points typed, 4 after NFKC
    assert codes(validator.validate("Abe\u0301")) == ["min_length"]  # 4 typed, 3 after NFKC


def test_unicode_letters_count_for_classes(default: PasswordValidator) -> None:
    assert default.validate("Ünïcødé-Pässwörd-9") == []
    assert codes(default.validate("ÜNÏCØDÉ-PÄSSWÖRD-9")) == ["lower"]


def test_any_non_alphanumeric_is_special(default: PasswordValidator) -> None:
    for special in (" ", "€", "😀", "_"):
        assert default.validate(f"KiteMeadow42{special}x") == []


def test_every_unmet_rule_is_returned_at_once(default: PasswordValidator) -> None:
    assert codes(default.validate("", email="someone@example.com")) == [
        "min_length",
        "upper",
        "lower",
        "digits",
        "special",
    ]
    unmet = default.validate("password", email="password@example.com")
    assert codes(unmet) == [
        "min_length",
        "upper",
        "digits",
        "special",
        "blocklisted",
        "contains_email",
    ]
    assert all(u.message for u in unmet)


def test_disabled_rules_are_not_checked(blocklist: Blocklist) -> None:
    rules = PolicyRules(
        min_length=4,
        require_upper=False,
        require_lower=False,
        require_digits=False,
        require_special=False,
    )
    assert PasswordValidator(rules, blocklist).validate("zqxjv") == []


# --------------------------------------------------------------------------- blocklist
@pytest.mark.parametrize(
    "password", ["password", "PASSWORD", "Password1!", "qwerty", "ｐａｓｓｗｏｒｄ"]
)
def test_blocklist_is_case_insensitive_on_normalized_password(
    blocklist: Blocklist, password: str
) -> None:
    assert password in blocklist


def test_blocklist_is_large_and_lets_unusual_passwords_through(blocklist: Blocklist) -> None:
    assert len(blocklist) > 30_000
    assert "Kite-Meadow-42x" not in blocklist
    assert 12345 not in blocklist


def test_blocklist_from_iterable() -> None:
    custom = Blocklist(["Hunter2", "ｓｅｃｒｅｔ"])
    assert "hunter2" in custom and "SECRET" in custom and "other" not in custom


def test_blocklisted_password_is_refused_even_if_it_meets_composition(
    default: PasswordValidator,
) -> None:
    assert "P030710p$e4o" in default.blocklist  # listed as "p030710p$e4o"
    assert codes(default.validate("P030710p$e4o")) == ["blocklisted"]


def test_load_returns_the_same_list(blocklist: Blocklist) -> None:
    assert Blocklist.load() is blocklist


# --------------------------------------------------------------------------- e-mail
@pytest.mark.parametrize("password", ["Alice.Smith#2024", "xx-ALICE.SMITH-9Q"])
def test_password_containing_email_local_part_is_refused(
    default: PasswordValidator, password: str
) -> None:
    assert codes(default.validate(password, email="alice.smith@example.com")) == ["contains_email"]


def test_short_local_part_is_not_checked(default: PasswordValidator) -> None:
    assert default.validate("Kite-Meadow-42jo", email="jo@example.com") == []
    assert codes(default.validate("Kite-Meadow-42bob", email="bob@example.com")) == [
        "contains_email"
    ]


def test_unrelated_email_passes(default: PasswordValidator) -> None:
    assert default.validate(GOOD, email="alice@example.com") == []


# --------------------------------------------------------------------------- presets
def test_default_preset_from_settings() -> None:
    rules = PolicyRules.from_settings(Settings())
    assert rules == PolicyRules(
        min_length=12,
        require_upper=True,
        require_lower=True,
        require_digits=True,
        require_special=True,
        max_length=1024,
        preset="default",
    )


def test_default_preset_reads_each_setting() -> None:
    settings = Settings(
        password_min_length=10,
        password_require_upper=False,
        password_require_lower=False,
        password_require_digits=False,
        password_require_special=False,
        password_max_length=128,
    )
    rules = PolicyRules.from_settings(settings)
    assert (rules.min_length, rules.max_length) == (10, 128)
    assert not (rules.require_upper or rules.require_lower)
    assert not (rules.require_digits or rules.require_special)


def test_nist_preset_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = nist_settings(monkeypatch, password_max_length=32)
    rules = PolicyRules.from_settings(settings)
    assert rules.preset == "nist"
    assert rules.min_length == 15
    assert rules.min_length_with_mfa == 8
    assert rules.max_length == 64
    assert not any(
        (rules.require_upper, rules.require_lower, rules.require_digits, rules.require_special)
    )


def test_nist_length_without_composition(nist: PasswordValidator) -> None:
    assert codes(nist.validate("a" * 14 + "z")) == []  # 15 lower-case letters
    assert codes(nist.validate("a" * 13 + "z")) == ["min_length"]  # 14


def test_nist_allows_eight_with_mfa(nist: PasswordValidator) -> None:
    assert nist.validate("zqxjvbkw", mfa_enabled=True) == []
    assert codes(nist.validate("zqxjvbk", mfa_enabled=True)) == ["min_length"]
    assert codes(nist.validate("zqxjvbkw")) == ["min_length"]


def test_nist_still_uses_blocklist_and_email(nist: PasswordValidator) -> None:
    assert codes(nist.validate("password", mfa_enabled=True)) == ["blocklisted"]
    unmet = nist.validate("my name is carol really", email="carol@example.com")
    assert codes(unmet) == ["contains_email"]


def test_nist_keeps_a_stricter_configured_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = PolicyRules.from_settings(nist_settings(monkeypatch, password_min_length=20))
    assert rules.min_length == 20


def test_mfa_does_not_lower_default_preset(default: PasswordValidator) -> None:
    assert codes(default.validate("Kite-Mead0w", mfa_enabled=True)) == ["min_length"]


def test_inconsistent_rules_are_refused() -> None:
    with pytest.raises(ValueError):
        PolicyRules(min_length=20, max_length=16)
    with pytest.raises(ValueError):
        PolicyRules(preset="nist", max_length=32)


# --------------------------------------------------------------------------- strength
def test_strength_orders_passwords(default: PasswordValidator) -> None:
    ladder = ["abc", "kitemead", "Kitemead0w!", "Kite-Meadow-42x", "Kite-Meadow-42x-Otter"]
    scores = [default.get_strength(p) for p in ladder]
    assert scores == sorted(scores)
    assert scores[0] == 0 and scores[-1] == 4
    assert all(0 <= s <= 4 for s in scores)


def test_blocklisted_password_scores_zero(default: PasswordValidator) -> None:
    assert default.get_strength("Password1!") == 0
    assert default.get_strength("P030710p$e4o") == 0


def test_repetition_adds_no_strength(default: PasswordValidator) -> None:
    assert default.get_strength("x" * 64) == 0
    assert default.get_strength("ab" * 32) == 0


def test_long_passphrase_is_strong(default: PasswordValidator) -> None:
    assert default.get_strength("velvet otter ladder quietly") == 4


@given(st.text(max_size=80))
def test_strength_is_always_in_range(text: str) -> None:
    validator = PasswordValidator(PolicyRules(), Blocklist([]))
    assert 0 <= validator.get_strength(text) <= 4


# --------------------------------------------------------------------------- describe
def test_describe_shape(default: PasswordValidator) -> None:
    described = default.describe()
    assert set(described) == {
        "preset",
        "min_length",
        "max_length",
        "require_upper",
        "require_lower",
        "require_digits",
        "require_special",
        "blocklist",
        "requirements",
    }
    assert described["preset"] == "default"
    assert described["min_length"] == 12
    assert described["blocklist"] is True
    assert described["requirements"] == default.get_requirements()
    assert all(isinstance(r, str) and r for r in described["requirements"])


def test_nist_requirements_mention_mfa_length_and_no_composition(
    nist: PasswordValidator,
) -> None:
    requirements = nist.get_requirements()
    assert requirements[0] == "At least 15 characters (8 with two-step verification)"
    assert not any("upper-case" in r or "digit" in r for r in requirements)
    assert nist.describe()["require_upper"] is False


def test_policy_module_imports_nothing_of_the_app_stack() -> None:
    tree = ast.parse(Path(policy.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names
    }
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    stack = ("fastapi", "starlette", "sqlalchemy", "redis", "authsvc")
    assert not {m for m in imported if m.split(".")[0] in stack}
