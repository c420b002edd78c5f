"""Read YAML with the position of every value, refusing what PyYAML lets slip.

PyYAML silently keeps the last of two equal keys and reads YAML 1.1 (``no`` is
false, ``0123`` is octal). :func:`load_yaml` composes the node tree itself so
that it can:

- reject a duplicated key, naming the lines of both;
- remember the line and column of every value (:class:`Source`), so that the
  validator can point at the field that is wrong;
- keep the text of every scalar as written, so that the validator can read
  ``no`` as the text a label meant, or refuse ``0123`` as a number;
- bound the work an alias bomb can cause (at most ``MAX_NODES`` values after
  aliases are expanded) and the size of the file (``MAX_BYTES``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError

MAX_BYTES = 20 * 1024 * 1024
MAX_NODES = 2_000_000

PathKey = tuple[Any, ...]


@dataclass
class Scalar:
    """How a scalar was written: its text, the tag YAML 1.1 gave it, quoted?"""

    text: str
    tag: str
    quoted: bool


@dataclass
class Source:
    """Where each value of a loaded document came from."""

    file: str
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    scalars: dict[PathKey, Scalar] = field(default_factory=dict)

    def where(self, path: PathKey) -> tuple[int | None, int | None]:
        """Line and column (1-based) of ``path``, or of its nearest parent."""
        while True:
            if path in self.positions:
                return self.positions[path]
            if not path:
                return None, None
            path = path[:-1]

    def error(self, path: PathKey, problem: str) -> InputError:
        """An :class:`InputError` pointing at ``path`` in this file."""
        line, column = self.where(path)
        return InputError(
            problem, file=self.file, line=line, column=column, field=field_name(path)
        )


def field_name(path: PathKey) -> str | None:
    """``("providers", 3, "input_rate")`` -> ``providers[3].input_rate``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or None


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, Source]:
    """Load one YAML document from ``path`` with positions; raise InputError.

    ``display`` is the file name used in messages (default: ``path`` as given).
    """
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a YAML file", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=name) from None
    if len(raw) > MAX_BYTES:
        raise InputError(
            f"file is {len(raw):,} bytes; a pricebook may have at most {MAX_BYTES:,}",
            file=name,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            file=name,
            line=line,
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> tuple[Any, Source]:
    """Parse YAML ``text`` (see :func:`load_yaml`); ``name`` is for messages."""
    source = Source(name)
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(
            f"invalid YAML: {problem}",
            file=name,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=name) from None
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise InputError(
            "holds more than one YAML document (a second '---'); "
            "use one document a file",
            file=name,
            line=mark.line + 1,
        )
    if not nodes or nodes[0] is None:
        return None, source
    builder = _Builder(source)
    return builder.build(nodes[0], ()), source


class _Builder:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.count = 0

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.source.error(
                path,
                f"more than {MAX_NODES:,} values once aliases are expanded "
                "(an alias bomb?)",
            )
        self.source.positions.setdefault(
            path, (node.start_mark.line + 1, node.start_mark.column + 1)
        )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.source.error(path, "merge keys ('<<') are not supported")
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(
                    "a key must be plain text",
                    file=self.source.file,
                    line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                    field=field_name(path),
                )
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise InputError(
                    f"duplicated key '{key}' (first on line {first_line[key]}, "
                    f"again on line {line}); keep one",
                    file=self.source.file,
                    line=line,
                    column=key_node.start_mark.column + 1,
                    field=field_name(path + (key,)),
                )
            first_line[key] = line
            self.source.positions[path + (key,)] = (
                line,
                key_node.start_mark.column + 1,
            )
            out[key] = self.build(value_node, path + (key,))
        return out

    def _scalar(self, node: yaml.ScalarNode, path: PathKey) -> Any:
        quoted = node.style in ("'", '"', "|", ">")
        self.source.scalars[path] = Scalar(node.value, node.tag, quoted)
        tag = node.tag
        text = node.value
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return text.lower() in ("yes", "true", "on", "y")
        if tag == "tag:yaml.org,2002:int":
            return _int(text)
        if tag == "tag:yaml.org,2002:float":
            return _float(text)
        if tag == "tag:yaml.org,2002:timestamp":
            return _timestamp(text)
        if tag == "tag:yaml.org,2002:str":
            return text
        raise self.source.error(path, f"unsupported YAML tag {tag}")


def _int(text: str) -> int:
    loader = yaml.SafeLoader("")
    node = yaml.ScalarNode("tag:yaml.org,2002:int", text)
    return loader.construct_yaml_int(node)


def _float(text: str) -> float:
    loader = yaml.SafeLoader("")
    node = yaml.ScalarNode("tag:yaml.org,2002:float", text)
    return loader.construct_yaml_float(node)


def _timestamp(text: str) -> dt.date | dt.datetime:
    loader = yaml.SafeLoader("")
    node = yaml.ScalarNode("tag:yaml.org,2002:timestamp", text)
    return loader.construct_yaml_timestamp(node)
