"""UI text in Simplified Chinese (default) and English, from the YAML catalogues next to this file.

The core catalogue is ``zh.yaml`` / ``en.yaml``; each domain may keep its own catalogue beside them as
``<domain>.zh.yaml`` / ``<domain>.en.yaml`` (keys under the domain's own prefix), so that domains do
not all edit one file. A key defined twice is an error at load time.

Keys are dotted (``nav.overview``); ``translate(key, locale, **kw)`` formats ``{name}`` placeholders.
Names of aspects, indicators and departments are data, not UI text: they come from their own zh/en
fields (see ``localized`` and ``department_name``).

A further language (e.g. ``zh_Hant``, 繁體中文) is added by listing it in ``LOCALES``, giving it a
fallback in ``FALLBACKS`` and adding ``zh_Hant.yaml`` / ``<domain>.zh_Hant.yaml`` files: a key
missing from its catalogue is shown from the fallback language, never as the key.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from cxloop.vocab import DEPARTMENTS

LOCALES: tuple[str, ...] = ("zh", "en")
DEFAULT_LOCALE = "zh"
#: Where a locale looks for a key its catalogue lacks, in order (the default locale comes last).
FALLBACKS: dict[str, tuple[str, ...]] = {"zh_Hant": ("zh",)}
#: Region and script tags that mean Traditional Chinese, for a zh_Hant catalogue once it is listed.
_TRADITIONAL_TAGS = frozenset({"hant", "tw", "hk", "mo"})
_DIR = Path(__file__).parent


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    else:
        out[prefix] = str(node)


def catalogue_files(locale: str) -> list[Path]:
    """The catalogue files of ``locale``: the core one first, then each domain's, by name."""
    return [_DIR / f"{locale}.yaml", *sorted(_DIR.glob(f"*.{locale}.yaml"))]


@lru_cache(maxsize=len(LOCALES))
def catalogue(locale: str) -> dict[str, str]:
    """The flat key -> text mapping of ``locale``, merged from every catalogue file."""
    out: dict[str, str] = {}
    for path in catalogue_files(locale):
        with path.open(encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
        part: dict[str, str] = {}
        _flatten("", data, part)
        clash = sorted(part.keys() & out.keys())
        if clash:
            raise ValueError(
                f"{path.name}: keys already defined in another catalogue: {', '.join(clash[:5])}"
            )
        out.update(part)
    return out


def normalize_locale(value: str | None) -> str | None:
    """``zh``/``en`` from things like ``zh-CN`` or ``en_US``; None when unsupported."""
    if not value:
        return None
    tags = value.strip().lower().replace("_", "-").split("-")
    if tags[0] == "zh" and "zh_Hant" in LOCALES and _TRADITIONAL_TAGS.intersection(tags[1:]):
        return "zh_Hant"
    return tags[0] if tags[0] in LOCALES else None


def translate(key: str, locale: str = DEFAULT_LOCALE, /, **kw: Any) -> str:
    """The text of ``key`` in ``locale`` (falling back to Chinese, then to the key itself)."""
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    text = None
    for candidate in (locale, *FALLBACKS.get(locale, ()), DEFAULT_LOCALE):
        text = catalogue(candidate).get(key)
        if text is not None:
            break
    if text is None:
        text = key
    if kw:
        try:
            return text.format(**kw)
        except (KeyError, IndexError, ValueError):
            return text  # a translator's typo in a placeholder must not break the page
    return text


def localized(item: Any, locale: str, field: str = "name") -> str:
    """The ``{field}_{locale}`` value of an object or mapping (e.g. name_zh), falling back sensibly.

    Also understands a ``{field}: {"zh": ..., "en": ...}`` mapping, as the taxonomy uses.
    """

    def get(name: str) -> Any:
        return item.get(name) if isinstance(item, dict) else getattr(item, name, None)

    value = get(field)
    if isinstance(value, dict):
        return str(value.get(locale) or value.get(DEFAULT_LOCALE) or next(iter(value.values()), ""))
    for name in (f"{field}_{locale}", f"{field}_{DEFAULT_LOCALE}", f"{field}_en"):
        found = get(name)
        if found:
            return str(found)
    return "" if value is None else str(value)


def department_name(code: str, locale: str = DEFAULT_LOCALE) -> str:
    """The display name of a department code in ``locale`` (the code itself when unknown)."""
    names = DEPARTMENTS.get(code)
    if names is None:
        return code
    return names[1] if locale == "en" else names[0]


#: How a name written in both languages separates them: "仓库拣货变慢 / Warehouse picking slowed".
LOCALE_SEPARATOR = " / "


def in_locale(text: str | None, locale: str) -> str:
    """The part of a "zh / en" name for ``locale``; any other text as it is.

    Rule names (and the task titles made from them) are data that users write, often in both
    languages; pages and messages show only the reader's part.
    """
    if not text or text.count(LOCALE_SEPARATOR) != 1:
        return text or ""
    zh, en = (part.strip() for part in text.split(LOCALE_SEPARATOR))
    if not zh or not en:
        return text
    return en if locale == "en" else zh


def both_locales(text: str, zh_suffix: str, en_suffix: str) -> str:
    """A "zh / en" name with a suffix added to each part (a plain name gets the Chinese suffix)."""
    if text.count(LOCALE_SEPARATOR) != 1:
        return f"{text}{zh_suffix}"
    return f"{in_locale(text, 'zh')}{zh_suffix}{LOCALE_SEPARATOR}{in_locale(text, 'en')}{en_suffix}"
