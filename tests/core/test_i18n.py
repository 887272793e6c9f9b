"""The UI is complete in English and Simplified Chinese.

* The zh_Hans catalogue is fully translated: no empty or fuzzy entry, the same placeholders, HTML tags and
  entities as the English text, and no ASCII quote that could break an HTML attribute or inline script.
* The committed ``django.mo`` is the compilation of the ``django.po`` next to it (users need no GNU gettext).
* Every translatable string in the project's templates and Python code is in the catalogue. The strings are
  found without GNU gettext: templates go through Django's own ``templatize`` (what ``makemessages`` feeds
  to xgettext), and the gettext calls in its output and in ``.py`` files are read with ``tokenize``/``ast``.
* Pages come out in Chinese for a Chinese browser or language cookie, and in English otherwise.

When a test here fails after adding or changing text: run ``make messages``, translate the new entries in
locale/zh_Hans/LC_MESSAGES/django.po (and drop any ``#, fuzzy``), then run ``make messages`` again to compile.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import Counter
from functools import cache
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_DIR = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = CATALOGUE_DIR / "django.po"
MO_PATH = CATALOGUE_DIR / "django.mo"
HOW_TO_FIX = ("run `make messages`, translate the new entries in locale/zh_Hans/LC_MESSAGES/django.po, "
              "then `make messages` again to compile")

# Where the project's own translatable text lives, and which files makemessages reads there (django domain).
SOURCE_DIRS = ("apps", "tidegrid", "templates", "workers")
TEMPLATE_SUFFIXES = {".html", ".txt"}
SKIPPED_DIRS = {"__pycache__", "node_modules"}

# The gettext functions makemessages hands to xgettext, as (context arg, msgid arg, plural arg) positions.
KEYWORDS: dict[str, tuple[int | None, int, int | None]] = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
}

Key = tuple[str, str, str]  # (msgctxt, msgid, msgid_plural), "" where absent

PRINTF_RE = re.compile(r"%(?:\(\w+\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
BRACE_RE = re.compile(r"\{[^{}]*\}")
TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")
ENTITY_RE = re.compile(r"&#?\w+;")


# --- reading the catalogue -------------------------------------------------------------------------------


@cache
def catalogue() -> polib.POFile:
    assert PO_PATH.exists(), f"{PO_PATH.relative_to(ROOT)} is missing: {HOW_TO_FIX}"
    return polib.pofile(str(PO_PATH))


def live_entries() -> list[polib.POEntry]:
    return [entry for entry in catalogue() if not entry.obsolete]


def key_of(entry) -> Key:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def label(entry) -> str:
    where = ", ".join(f"{path}:{line}" for path, line in entry.occurrences[:3])
    context = f" [{entry.msgctxt}]" if entry.msgctxt else ""
    return f"{entry.msgid!r}{context} ({where})"


def translations_of(entry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[index] for index in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def nplurals() -> int:
    match = re.search(r"nplurals\s*=\s*(\d+)", catalogue().metadata.get("Plural-Forms", ""))
    return int(match[1]) if match else 0


# --- finding the translatable strings in the code, without GNU gettext ----------------------------------


def _string_argument(args: list[ast.expr], index: int | None) -> str | None:
    if index is None:
        return ""
    if index < len(args) and isinstance(args[index], ast.Constant) and isinstance(args[index].value, str):
        return args[index].value
    return None  # a variable, an f-string…: nothing xgettext could extract either


def messages_in_call(node: ast.Call) -> Key | None:
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if name not in KEYWORDS:
        return None
    context_at, msgid_at, plural_at = KEYWORDS[name]
    context, msgid, plural = (_string_argument(node.args, at) for at in (context_at, msgid_at, plural_at))
    if context is None or plural is None or not msgid:
        return None
    return (context, msgid, plural)


def python_messages(source: str, filename: str = "<python>") -> set[Key]:
    tree = ast.parse(source, filename=filename)
    found = (messages_in_call(node) for node in ast.walk(tree) if isinstance(node, ast.Call))
    return {key for key in found if key is not None}


def template_messages(source: str, origin: str = "<template>") -> set[Key]:
    """Django's templatize turns {% translate %}, {% blocktranslate %} (trimmed, with context, with plural)
    and _("…") constants into gettext calls, with every other character blanked out. Each call sits on one
    line (string literals are written with repr), so lines can be dedented and tokenized safely."""
    python = templatize(source, origin=origin)
    flat = "\n".join(line.lstrip() for line in python.splitlines()) + "\n"
    tokens = list(tokenize.generate_tokens(io.StringIO(flat).readline))
    found: set[Key] = set()
    for start, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in KEYWORDS:
            continue
        if start + 1 >= len(tokens) or tokens[start + 1].string != "(":
            continue
        depth = 0
        for end in range(start + 1, len(tokens)):
            depth += {"(": 1, ")": -1}.get(tokens[end].string, 0) if tokens[end].type == tokenize.OP else 0
            if depth == 0:
                break
        call = ast.parse(" ".join(t.string for t in tokens[start:end + 1]), mode="eval").body
        key = messages_in_call(call) if isinstance(call, ast.Call) else None
        if key is not None:
            found.add(key)
    return found


def source_files() -> list[Path]:
    files = []
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts) and (
                    path.suffix == ".py" or path.suffix in TEMPLATE_SUFFIXES):
                files.append(path)
    return files


@cache
def project_messages() -> dict[Key, str]:
    """Every translatable string of the project → the first file that uses it."""
    found: dict[Key, str] = {}
    for path in source_files():
        relative = str(path.relative_to(ROOT))
        source = path.read_text(encoding="utf-8")
        keys = python_messages(source, relative) if path.suffix == ".py" else template_messages(source, relative)
        for key in sorted(keys):
            found.setdefault(key, relative)
    return found


# --- the catalogue is complete and well-formed -----------------------------------------------------------


def test_catalogue_header_is_simplified_chinese_with_one_plural_form():
    po = catalogue()
    assert not po.metadata_is_fuzzy, "the header is marked fuzzy: msgfmt would drop it"
    assert po.metadata.get("Language") == "zh_Hans"
    assert po.metadata.get("Plural-Forms", "").replace(" ", "") == "nplurals=1;plural=0;"
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")


def test_every_entry_is_translated_and_none_is_fuzzy():
    fuzzy = [label(entry) for entry in live_entries() if "fuzzy" in entry.flags]
    untranslated = [label(entry) for entry in live_entries()
                    if not all(text.strip() for text in translations_of(entry))]
    wrong_plural_count = [label(entry) for entry in live_entries()
                          if entry.msgid_plural and len(entry.msgstr_plural) != nplurals()]
    assert not fuzzy, f"fuzzy entries (check the translation, then remove the flag): {fuzzy}"
    assert not untranslated, f"untranslated entries ({HOW_TO_FIX}): {untranslated}"
    assert not wrong_plural_count, f"Chinese has exactly one plural form (msgstr[0]): {wrong_plural_count}"
    assert not [entry for entry in catalogue() if entry.obsolete], "obsolete (#~) entries: run `make messages`"


def _printf(text: str) -> Counter:
    return Counter(PRINTF_RE.findall(text))


class _AnyValue(dict):
    def __missing__(self, key):
        return 0


def test_translations_keep_placeholders_tags_and_entities():
    problems = []
    for entry in live_entries():
        for index, text in enumerate(translations_of(entry)):
            # With one plural form, Chinese follows the plural English text (it names the count).
            source = entry.msgid_plural if entry.msgid_plural and (index > 0 or nplurals() == 1) else entry.msgid
            checks = {
                "template/brace placeholders": (Counter(BRACE_RE.findall(source)), Counter(BRACE_RE.findall(text))),
                "HTML tags": (Counter(TAG_RE.findall(source)), Counter(TAG_RE.findall(text))),
                "HTML entities": (Counter(ENTITY_RE.findall(source)), Counter(ENTITY_RE.findall(text))),
            }
            if "python-format" in entry.flags or "%(" in source:
                checks["%-placeholders"] = (_printf(source), _printf(text))
            for what, (expected, actual) in checks.items():
                if expected != actual:
                    problems.append(f"{label(entry)}: {what} {sorted(actual.elements())} "
                                    f"!= {sorted(expected.elements())}")
            if "python-format" in entry.flags and "%(" in source:
                try:
                    _formatted = text % _AnyValue()  # it must format the way the English text does
                except (TypeError, ValueError, KeyError) as error:
                    problems.append(f"{label(entry)}: does not format: {error}")
    assert not problems, "\n".join(problems)


def test_translations_add_no_ascii_quotes():
    """Strings land in HTML attributes and inline scripts, e.g. onsubmit="return confirm('…')" in
    member_row.html: Chinese text uses full-width quotes “” instead."""
    offenders = [label(entry) for entry in live_entries() for text in translations_of(entry)
                 for quote in "'\"" if quote in text and quote not in entry.msgid + entry.msgid_plural]
    assert not offenders, offenders


# --- the compiled catalogue ----------------------------------------------------------------------------


def _mapping(entries) -> dict[Key, tuple[str, ...]]:
    return {key_of(entry): tuple(translations_of(entry)) for entry in entries if entry.msgid}


def test_compiled_catalogue_is_up_to_date_with_the_po_file():
    assert MO_PATH.exists(), f"{MO_PATH.relative_to(ROOT)} is missing: {HOW_TO_FIX}"
    compiled = polib.mofile(str(MO_PATH))
    expected = _mapping(entry for entry in live_entries() if entry.translated())
    actual = _mapping(compiled)
    missing = sorted(set(expected) - set(actual))
    stale = sorted(set(actual) - set(expected))
    different = sorted(key for key in set(expected) & set(actual) if expected[key] != actual[key])
    assert not (missing or stale or different), (
        f"django.mo does not match django.po ({HOW_TO_FIX}): missing {missing[:10]}, "
        f"not in the .po {stale[:10]}, different {different[:10]}")
    assert compiled.metadata.get("Plural-Forms", "").replace(" ", "") == "nplurals=1;plural=0;"


def test_django_serves_the_compiled_translations():
    with translation.override("zh-hans"):
        for entry in live_entries():
            context, msgid, plural = key_of(entry)
            if plural:
                served = (translation.npgettext(context, msgid, plural, 1) if context
                          else translation.ngettext(msgid, plural, 1))
            else:
                served = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
            assert served == translations_of(entry)[0], label(entry)


# --- every string in the code is in the catalogue -------------------------------------------------------


def test_extractor_finds_what_makemessages_finds():
    """The coverage test below is only as good as its extractor: it must see a newly added string in every
    form makemessages understands."""
    template = """{% load i18n %}<h1>{% translate "New thing" %}</h1>
      <p title="{% translate 'Tooltip' context 'hint' %}">{% blocktranslate trimmed with n=count %}
          Hello {{ n }}, 100%
        {% endblocktranslate %}</p>
        {% blocktranslate count c=items|length %}One {{ c }}{% plural %}Many {{ c }}{% endblocktranslate %}
    {{ _("Constant")|upper }} {% if x %}<b>untranslated</b>{% endif %}"""
    assert template_messages(template) == {
        ("", "New thing", ""), ("hint", "Tooltip", ""), ("", "Hello %(n)s, 100%%", ""),
        ("", "One %(c)s", "Many %(c)s"), ("", "Constant", ""),
    }
    python = """
from django.utils import translation
from django.utils.translation import gettext_lazy as _, ngettext, pgettext_lazy

A = _("Lazy " "joined")
B = pgettext_lazy("menu", "Open")
C = ngettext("%(n)s card", "%(n)s cards", 2)
D = translation.gettext("Dotted")
E = _(some_variable)
F = print("not translatable")
"""
    assert python_messages(python) == {
        ("", "Lazy joined", ""), ("menu", "Open", ""), ("", "%(n)s card", "%(n)s cards"), ("", "Dotted", ""),
    }
    assert ("", "New thing", "") not in {key_of(entry) for entry in live_entries()}


def test_every_translatable_string_in_the_project_is_in_the_catalogue():
    found = project_messages()
    assert len(found) > 50, "the extractor found almost nothing: is it broken?"
    in_catalogue = {key_of(entry) for entry in live_entries()}
    missing = [f"{key[1]!r}" + (f" [{key[0]}]" if key[0] else "") + f" in {found[key]}"
               for key in sorted(set(found) - in_catalogue)]
    assert not missing, f"not in the catalogue ({HOW_TO_FIX}):\n" + "\n".join(missing)


def test_catalogue_has_no_entries_the_code_no_longer_uses():
    """Also proves the extractor agrees with makemessages: every entry extracted from these folders is seen."""
    found = set(project_messages())
    scanned = tuple(f"{folder}/" for folder in SOURCE_DIRS)
    unused = [label(entry) for entry in live_entries()
              if key_of(entry) not in found and all(path.startswith(scanned) for path, _line in entry.occurrences)]
    assert not unused, f"entries no longer in the code ({HOW_TO_FIX}): {unused}"


# --- pages follow the visitor's language ---------------------------------------------------------------


def zh(msgid: str) -> str:
    entry = catalogue().find(msgid)
    assert entry is not None and entry.msgstr, f"{msgid!r} is not translated"
    return entry.msgstr


# Project strings each page shows: the home page's hero and the footer and topbar of every page.
PAGE_STRINGS = {
    "/": ["GPU compute, pooled, finely sliced and fairly priced", "Create an account",
          "Compute scheduling for subsidised GPU capacity", "API documentation"],
    "/accounts/login/": ["Compute scheduling for subsidised GPU capacity", "API documentation", "Sign up"],
}


def assert_chinese(html: str, path: str) -> None:
    assert '<html lang="zh-hans">' in html
    for msgid in PAGE_STRINGS[path]:
        assert zh(msgid) in html, msgid
        assert msgid not in html, msgid
    assert "登录" in html  # "Sign in" (topbar, home page) and allauth's "Sign In" (login page)


def assert_english(html: str, path: str) -> None:
    assert '<html lang="en">' in html
    for msgid in PAGE_STRINGS[path]:
        assert msgid in html, msgid
        assert zh(msgid) not in html, msgid
    assert "登录" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGE_STRINGS)
@pytest.mark.parametrize("accept_language", ["zh-hans", "zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans-CN"])
def test_page_is_chinese_for_a_chinese_browser(path, accept_language):
    response = Client().get(path, HTTP_ACCEPT_LANGUAGE=accept_language)
    assert response.status_code == 200
    assert_chinese(response.content.decode(), path)


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGE_STRINGS)
def test_page_is_chinese_with_the_language_cookie(path):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")  # the cookie (an explicit choice) wins
    assert response.status_code == 200
    assert_chinese(response.content.decode(), path)


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGE_STRINGS)
@pytest.mark.parametrize("accept_language", [None, "en", "en-US,en;q=0.9", "fr-FR"])
def test_page_is_english_otherwise(path, accept_language):
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}
    response = Client().get(path, **headers)
    assert response.status_code == 200
    assert_english(response.content.decode(), path)


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGE_STRINGS)
def test_english_cookie_beats_a_chinese_browser(path):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.status_code == 200
    assert_english(response.content.decode(), path)


@pytest.mark.django_db
def test_language_switcher_sets_the_cookie_for_the_home_page():
    client = Client()
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert_chinese(client.get("/").content.decode(), "/")


def test_translation_functions_are_not_imported_under_other_names():
    """makemessages only finds the names it knows (`_`, `gettext_lazy`, …): `gettext_lazy as _lazy` would
    silently leave its strings untranslated."""
    aliased = []
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                    aliased += [f"{path.relative_to(ROOT)}: {a.name} as {a.asname}" for a in node.names
                                if a.asname not in (None, "_")]
    assert not aliased, "import them as `_` or under their own name:\n" + "\n".join(aliased)
