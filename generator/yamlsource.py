"""Read YAML with the position of every value, refusing what PyYAML lets slip.

PyYAML silently keeps the last of two equal keys and reads YAML 1.1 (``no`` is
false, ``0123`` is octal). :func:`load_yaml` builds the document itself from
the parser's events, so that it can:

- reject a duplicated key, naming the lines of both;
- remember the line and column of every value (:class:`Source`), so that the
  validator can point at the field that is wrong, and name the field a syntax
  error is in;
- keep the text of every scalar as written, so that the validator can read
  ``no`` as the text a label meant, or refuse ``0123`` as a number;
- bound the work hostile input can cause, before it is done: the size of the
  file (``MAX_BYTES``), the nesting depth (``MAX_DEPTH``; libyaml's scanner
  slows down with every level and its composer recurses in C), the values an
  alias bomb expands to (``MAX_ALIAS_VALUES``) and the values in all
  (``MAX_VALUES``).

The parser is libyaml's when PyYAML has it (much faster on large files),
else PyYAML's own; both give the same events.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from .errors import InputError, os_error_problem, short_path

#: A pricebook file may have at most this many bytes (about 80,000 providers).
MAX_BYTES = 20 * 1024 * 1024
#: Mappings and lists nested deeper than this are refused (a pricebook needs 3).
MAX_DEPTH = 20
#: Values that aliases (``*name``) may add by repeating an anchor, in all.
MAX_ALIAS_VALUES = 10_000
#: Values in one document, aliases expanded.
MAX_VALUES = 2_000_000

PathKey = tuple[Any, ...]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCT = SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


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
    #: (device, inode) of the file read, to tell when one is given twice;
    #: None for text that did not come from a file.
    identity: tuple[int, int] | None = None

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
            out += ("." if out else "") + one_line(str(part), 60)
    return out or None


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, Source]:
    """Load one YAML document from ``path`` with positions; raise InputError.

    ``display`` is the file name used in messages (default: ``path`` as given).
    At most ``MAX_BYTES`` are read, so a device or a huge file costs nothing.
    """
    name = display or str(path)
    try:
        raw, identity = _read_regular_file(path, name)
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a YAML file", file=name) from None
    except OSError as exc:
        problem = os_error_problem(exc)
        raise InputError(f"cannot read: {problem}", file=short_path(name)) from None
    if len(raw) > MAX_BYTES:
        raise InputError(
            f"file is larger than {MAX_BYTES:,} bytes, the most a pricebook may "
            "have; split it into several files",
            file=name,
            line=1,
        )
    if raw.startswith(b"PK\x03\x04"):
        raise InputError(
            "a workbook or other zip file, not a YAML pricebook; a workbook's "
            "inputs go to 'infercost assumptions' or 'build --keep-inputs', and "
            "'infercost diff' compares workbooks",
            file=name,
        )
    data, source = parse_yaml(decode(raw, name), name)
    source.identity = identity
    return data, source


def _read_regular_file(path: Path, name: str) -> tuple[bytes, tuple[int, int]]:
    """At most ``MAX_BYTES + 1`` bytes of ``path`` and its (device, inode).

    InputError unless ``path`` is a regular file.

    A named pipe (FIFO), a device or a socket is refused before a byte is
    read: reading a FIFO no program writes to would wait forever. It is
    opened without blocking, so that the check sees the file it reads.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        if not stat.S_ISREG(mode):
            raise InputError(
                f"is {_file_kind(mode)}, not a regular file; give the pricebook "
                "as a YAML file",
                file=name,
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return handle.read(MAX_BYTES + 1), (info.st_dev, info.st_ino)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"  # pragma: no cover - no other kinds on POSIX


def decode(raw: bytes, name: str) -> str:
    """``raw`` as UTF-8 text (a byte-order mark is dropped); raise InputError.

    For bytes that are not UTF-8, the message names the line and column and,
    when the rest of the file can be read, the field they are in.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            "the file is UTF-16 text; save it as UTF-8", file=name, line=1, column=1
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8", "replace")) + 1
        raise InputError(
            f"not UTF-8 text (got byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            file=name,
            line=line,
            column=column,
            field=_field_on_line(raw.decode("utf-8", "replace"), line),
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _field_on_line(text: str, line: int) -> str | None:
    """The deepest field that starts on ``line`` of ``text``, if it parses."""
    try:
        _, source = parse_yaml(text, "")
    except InputError as exc:
        return exc.field if exc.line == line else None
    found = [path for path, (ln, _) in source.positions.items() if ln == line]
    return field_name(max(found, key=len)) if found else None


def parse_yaml(text: str, name: str) -> tuple[Any, Source]:
    """Parse YAML ``text`` (see :func:`load_yaml`); ``name`` is for messages.

    An empty document (nothing but comments) gives ``None``.
    """
    source = Source(name)
    builder = _Builder(source)
    loader = _Loader(text)
    try:
        builder.run(loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        if "end of stream" in problem and exc.context_mark:
            mark = exc.context_mark  # where the unfinished value began
        if exc.context and exc.problem and exc.context_mark:
            problem += f" ({exc.context} on line {exc.context_mark.line + 1})"
        if "nesting depth" in problem:  # PyYAML >= 6.0.4 bounds depth itself
            problem = (
                f"lists and mappings are nested more than {MAX_DEPTH} levels deep; "
                "a pricebook needs 3"
            )
        raise InputError(
            f"invalid YAML: {problem}",
            file=name,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            field=field_name(builder.path()),
        ) from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position, loader)
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "it"
        cleaned = _NOT_YAML.sub(" ", text)
        raise InputError(
            f"invalid YAML: control character {what} is not allowed in a YAML "
            "file (write it as an escape in double quotes if it is meant)",
            file=name,
            line=line,
            column=column,
            field=_field_on_line(cleaned, line) if cleaned != text else None,
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every parser error is marked
        raise InputError(f"invalid YAML: {exc}", file=name) from None
    finally:
        loader.dispose()
    return builder.root, source


def _line_column(text: str, position: int, loader: Any) -> tuple[int, int]:
    """1-based line and column of ``position`` (libyaml counts UTF-8 bytes)."""
    if not isinstance(loader, yaml.SafeLoader):
        position = len(text.encode("utf-8")[:position].decode("utf-8", "replace"))
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


@dataclass
class _Frame:
    """A mapping or list being built."""

    path: PathKey
    value: Any
    anchor: str | None
    log_start: int
    key: str | None = None
    first_line: dict[str, int] = field(default_factory=dict)


class _Builder:
    """Builds plain Python values from parser events, recording positions."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.documents = 0
        self.values = 0
        self.alias_values = 0
        # Every (path, position, scalar) recorded, in order; an anchor owns a
        # slice of it, which an alias copies under its own path.
        self.log: list[tuple[PathKey, tuple[int, int], Scalar | None]] = []
        self.anchors: dict[str, tuple[Any, PathKey, int, int]] = {}
        # The tag of each plain scalar text read so far: the resolver tries
        # regular expressions, and most texts repeat (rates, tiers, dates).
        self.tags: dict[tuple[str, Any], str] = {}

    def path(self) -> PathKey:
        """The path of the value being read (for syntax-error messages)."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            return top.path + (len(top.value),)
        return top.path + ((top.key,) if top.key is not None else ())

    def run(self, loader: Any) -> None:
        while loader.check_event():
            event = loader.get_event()
            if type(event) is yaml.ScalarEvent:  # the most common, first
                if self._at_key():
                    self._key(event)
                else:
                    self._scalar(event)
            elif isinstance(event, yaml.DocumentStartEvent):
                self.documents += 1
                if self.documents > 1:
                    raise InputError(
                        "holds more than one YAML document (a second '---'); "
                        "use one document a file",
                        file=self.source.file,
                        line=event.start_mark.line + 1,
                    )
            elif isinstance(event, yaml.AliasEvent):
                self._alias(event)
            elif isinstance(event, yaml.CollectionStartEvent):
                self._start(event)
            elif isinstance(event, yaml.CollectionEndEvent):
                frame = self.stack.pop()
                if frame.anchor is not None:
                    self.anchors[frame.anchor] = (
                        frame.value,
                        frame.path,
                        frame.log_start,
                        len(self.log),
                    )
                self._attach(frame.value)

    # -- events ----------------------------------------------------------------
    def _at_key(self) -> bool:
        top = self.stack[-1] if self.stack else None
        return top is not None and isinstance(top.value, dict) and top.key is None

    def _error(
        self, event: Any, problem: str, path: PathKey | None = None
    ) -> InputError:
        return InputError(
            problem,
            file=self.source.file,
            line=event.start_mark.line + 1,
            column=event.start_mark.column + 1,
            field=field_name(self.path() if path is None else path),
        )

    def _key(self, event: yaml.ScalarEvent) -> None:
        top = self.stack[-1]
        quoted = event.style in ("'", '"', "|", ">")
        if event.tag == _MERGE or (not quoted and event.value == "<<"):
            raise self._error(event, "merge keys ('<<') are not supported")
        if event.tag not in (None, "!", _STR):
            raise self._error(event, f"a key must be plain text, got tag {event.tag}")
        key = event.value
        line = event.start_mark.line + 1
        if key in top.first_line:
            raise self._error(
                event,
                f"duplicated key '{key}' (first on line {top.first_line[key]}, "
                f"again on line {line}); keep one",
                top.path + (key,),
            )
        top.first_line[key] = line
        top.key = key
        self._record(top.path + (key,), event, None)

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        path = self.path()
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._resolve(event)
        quoted = event.style in ("'", '"', "|", ">")
        scalar = Scalar(event.value, tag, quoted)
        self._count(event)
        self._record(path, event, scalar)
        try:
            value = _convert(tag, event.value)
        except ValueError as exc:
            reason = "too many digits" if "digits" in str(exc) else str(exc)
            raise self._error(
                event, f"cannot read '{one_line(event.value)}': {reason}"
            ) from None
        if value is _UNSUPPORTED:
            raise self._error(event, f"unsupported YAML tag {tag}")
        if event.anchor is not None:
            start = len(self.log) - 1
            self.anchors[event.anchor] = (value, path, start, len(self.log))
        self._attach(value)

    def _start(self, event: yaml.CollectionStartEvent) -> None:
        if self._at_key():
            raise self._error(event, "a key must be plain text, not a list or mapping")
        if len(self.stack) >= MAX_DEPTH:
            raise self._error(
                event,
                f"lists and mappings are nested more than {MAX_DEPTH} levels deep; "
                "a pricebook needs 3",
            )
        is_map = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", _MAP if is_map else _SEQ):
            raise self._error(event, f"unsupported YAML tag {event.tag}")
        path = self.path()
        self._count(event)
        self._record(path, event, None)
        value: Any = {} if is_map else []
        self.stack.append(_Frame(path, value, event.anchor, len(self.log) - 1))

    def _alias(self, event: yaml.AliasEvent) -> None:
        if self._at_key():
            raise self._error(event, "a key must be plain text, not an alias")
        if event.anchor not in self.anchors:
            raise self._error(event, f"unknown alias '*{event.anchor}'")
        value, anchor_path, start, end = self.anchors[event.anchor]
        self.alias_values += end - start
        if self.alias_values > MAX_ALIAS_VALUES:
            raise self._error(
                event,
                f"aliases repeat more than {MAX_ALIAS_VALUES:,} values (an alias "
                "bomb?); write the values out",
            )
        path = self.path()
        cut = len(anchor_path)
        # Every value of the copy is where the alias is: a problem of the copy
        # (a provider given twice through an alias) points at the alias, and
        # one of the values themselves was found at the anchor already.
        pos = (event.start_mark.line + 1, event.start_mark.column + 1)
        for old, _, scalar in self.log[start:end]:
            new = path + old[cut:]
            self.source.positions.setdefault(new, pos)
            if scalar is not None:
                self.source.scalars[new] = scalar
            self.log.append((new, pos, scalar))
        self.values += end - start
        self._check_values(event)
        self._attach(value)

    # -- helpers ---------------------------------------------------------------
    def _resolve(self, event: yaml.ScalarEvent) -> str:
        key = (event.value, event.implicit)
        tag = self.tags.get(key)
        if tag is None:
            tag = self.tags[key] = _RESOLVER.resolve(
                yaml.ScalarNode, event.value, event.implicit
            )
        return tag

    def _count(self, event: Any) -> None:
        self.values += 1
        self._check_values(event)

    def _check_values(self, event: Any) -> None:
        if self.values > MAX_VALUES:
            raise self._error(
                event, f"more than {MAX_VALUES:,} values; split the pricebook"
            )

    def _record(self, path: PathKey, event: Any, scalar: Scalar | None) -> None:
        pos = (event.start_mark.line + 1, event.start_mark.column + 1)
        self.source.positions.setdefault(path, pos)
        if scalar is not None:
            self.source.scalars[path] = scalar
        self.log.append((path, pos, scalar))

    def _attach(self, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top.value, list):
            top.value.append(value)
        else:
            top.value[top.key] = value
            top.key = None


_RESOLVER = yaml.resolver.Resolver()  # YAML 1.1 implicit tags, as SafeLoader's
_UNSUPPORTED = object()


def _convert(tag: str, text: str) -> Any:
    """The Python value of a scalar; ValueError when it cannot be read."""
    if tag == _STR:
        return text
    node = yaml.ScalarNode(tag, text)
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return _CONSTRUCT.construct_yaml_bool(node)
    if tag == "tag:yaml.org,2002:int":
        return _CONSTRUCT.construct_yaml_int(node)
    if tag == "tag:yaml.org,2002:float":
        return _CONSTRUCT.construct_yaml_float(node)
    if tag == "tag:yaml.org,2002:timestamp":
        return _CONSTRUCT.construct_yaml_timestamp(node)
    return _UNSUPPORTED


def one_line(text: str, limit: int = 40) -> str:
    """``text`` shortened to ``limit`` characters, control characters escaped."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return _CONTROL_RE.sub(lambda m: repr(m.group())[1:-1], text)


#: Characters YAML does not allow in a file (its "printable" set, inverted).
_NOT_YAML = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


#: Plain decimal notation: what a number must look like to be read as one.
DECIMAL_RE = re.compile(r"[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?")
