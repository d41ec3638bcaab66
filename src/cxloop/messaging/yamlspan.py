"""YAML with line numbers: configuration errors name the file and line that caused them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigFileError(ValueError):
    """A configuration file that is refused as a whole: every problem with its file and line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Spanned:
    """A parsed YAML document and the line (1-based) of every mapping key and list item in it."""

    data: Any
    lines: dict[tuple[Any, ...], int]
    file: str

    def where(self, path: tuple[Any, ...]) -> str:
        """``file:line`` of ``path`` (or of its nearest parent that has a line)."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return f"{self.file}:{line}"
        return self.file


#: libyaml's loader when PyYAML was built with it (several times faster: every command that reads the
#: journeys or message templates parses them), else the pure-Python one; both give the same nodes and marks.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_spanned(text: str, file: str | Path) -> Spanned:
    """Parse ``text`` like ``yaml.safe_load`` and keep where each part came from."""
    name = str(file)
    try:
        # The reader refuses control characters as soon as it is built, so that is inside the try too.
        loader = _LOADER(text)
    except yaml.YAMLError as exc:
        raise ConfigFileError([f"{name}: not valid YAML: {getattr(exc, 'problem', None) or exc}"]) from None
    try:
        node = loader.get_single_node()
        lines: dict[tuple[Any, ...], int] = {}
        data = _walk(loader, node, (), lines) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigFileError([f"{name}{line}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    finally:
        loader.dispose()
    return Spanned(data=data, lines=lines, file=name)


def _walk(
    loader: yaml.SafeLoader, node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _walk(loader, value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, item, (*path, i), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
