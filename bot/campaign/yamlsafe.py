"""Read YAML for organizers: plain data only, every value kept as written, every node located."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 1024 * 1024
MAX_VALUES = 10_000  # scalars, lists and maps in one file
MAX_DEPTH = 32  # lists and maps inside each other

# Tags an organizer's file may carry: the ones YAML gives plain scalars, lists and maps by itself.
# Anything else (`!!python/object`, `!secret`, ...) is refused, not constructed.
_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {
    _CORE + name
    for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map", "merge")
}
_NULL_WORDS = {"", "~", "null", "Null", "NULL"}

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """A place in a file, 1-based, as editors show it."""

    line: int
    column: int


@dataclass(frozen=True)
class YamlProblem:
    """One thing wrong with a file, at one place."""

    path: Path
    position: Position
    message: str
    # The key it is about, as the schema names it (("actions", 7, "title")), when known: where
    # the desk shows it, at the field.
    where: Path_ = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"{self.path}:{self.position.line}:{self.position.column}: {self.message}"


class YamlError(Exception):
    """A file that cannot be read as plain organizer YAML."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Located:
    """Plain data read from a file, with where each value stands in it."""

    data: Any
    positions: dict[Path_, Position] = field(default_factory=dict)
    key_positions: dict[Path_, Position] = field(default_factory=dict)
    # Problems found while reading (duplicate keys, refused tags): the data is still usable,
    # with the first of two duplicates and None for refused values, so it can be checked too.
    problems: list[YamlProblem] = field(default_factory=list)

    def position_of(self, path: Path_) -> Position:
        """Return the position of the value at `path`, or of its nearest located parent."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return Position(1, 1)


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Reader:
    """Turn a composed YAML node tree into plain lists, dicts and strings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.positions: dict[Path_, Position] = {}
        self.key_positions: dict[Path_, Position] = {}
        self.problems: list[YamlProblem] = []

    def problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(YamlProblem(self.path, _position(node), message))

    def read(self, node: yaml.Node, where: Path_) -> Any:
        self.positions[where] = _position(node)
        if node.tag not in _ALLOWED_TAGS:
            self.problem(node, f"the tag {node.tag!r} is not allowed here; write plain text")
            return None
        if isinstance(node, yaml.MappingNode):
            return self.read_mapping(node, where)
        if isinstance(node, yaml.SequenceNode):
            return [self.read(item, (*where, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.read_scalar(node)

    def read_scalar(self, node: yaml.ScalarNode) -> str | None:
        # YAML 1.1 would turn `14:00` into 840 and `no` into False. Organizers mean the text they
        # typed, so every scalar stays a string and the schema converts it where it wants a date.
        if node.style is None and node.tag == _CORE + "null" and node.value in _NULL_WORDS:
            return None
        return str(node.value)

    def read_mapping(self, node: yaml.MappingNode, where: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _CORE + "merge":
                self.problem(key_node, "merge keys (<<) are not allowed; write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "a key must be a plain word, not a list or a map")
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.problem(
                    key_node,
                    f"duplicate key {key!r}: already given on line {first_line[key]}, "
                    f"again on line {line}",
                )
                continue
            first_line[key] = line
            self.key_positions[(*where, key)] = _position(key_node)
            result[key] = self.read(value_node, (*where, key))
        return result


class _Composer(yaml.SafeLoader):
    """A safe loader that refuses anchors and aliases, and files too big or deep, while composing.

    The limits keep a hostile or broken file cheap: PyYAML's pure-Python reader takes about
    30 microseconds per value, so MAX_VALUES values cost well under a second; and its composer
    recurses, so nesting deeper than MAX_DEPTH is refused before Python's stack runs out.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._values = 0
        self._depth = 0
        # Where each `[` or `{` opened, by the id of the mark the parser pushes on its stack of
        # open collections (`self.marks`); kept alive here so an id is never reused.
        self._brackets: dict[int, tuple[yaml.Mark, str]] = {}

    def parse_flow_sequence_first_entry(self) -> yaml.Event:
        self._note_bracket("[")
        event: yaml.Event = super().parse_flow_sequence_first_entry()  # type: ignore[no-untyped-call]
        return event

    def parse_flow_mapping_first_key(self) -> yaml.Event:
        self._note_bracket("{")
        event: yaml.Event = super().parse_flow_mapping_first_key()  # type: ignore[no-untyped-call]
        return event

    def _note_bracket(self, bracket: str) -> None:
        mark = self.peek_token().start_mark  # type: ignore[no-untyped-call]
        self._brackets[id(mark)] = (mark, bracket)

    def get_single_node(self) -> yaml.Node | None:
        """Compose the document, reporting an unclosed `[` or `{` where it opened."""
        # Issue 13: the parser put an unclosed bracket at the end of the file, like a quote once.
        try:
            return super().get_single_node()
        except yaml.parser.ParserError as error:
            unclosed = self._unclosed_bracket(error)
            if unclosed is None:
                raise
            raise unclosed from None

    def _unclosed_bracket(self, error: yaml.MarkedYAMLError) -> yaml.MarkedYAMLError | None:
        # The parser blames the token where it gave up: the file's end, or a later key. Neither
        # is where the organizer has to look, so name the innermost bracket still open instead.
        opened = next(
            (self._brackets[id(m)] for m in reversed(self.marks) if id(m) in self._brackets),
            None,
        )
        if opened is None or error.problem_mark is None:
            return None
        mark, bracket = opened
        problem = error.problem or ""
        if "<stream end>" in problem:
            message = f"this {bracket} is never closed: the file ends first"
        elif problem.startswith("expected ','") and error.problem_mark.line > mark.line:
            line = error.problem_mark.line + 1
            message = f"this {bracket} is not closed before line {line} ({problem})"
        else:
            return None  # a slip inside a bracket closed later: the parser's words fit it
        return yaml.MarkedYAMLError(problem=message, problem_mark=mark)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        self._values += 1
        if self._values > MAX_VALUES:
            raise yaml.MarkedYAMLError(
                problem=f"more than {MAX_VALUES:,} values in one file; a campaign needs far "
                "fewer (split it, or check for a runaway list)",
                problem_mark=event.start_mark,
            )
        if self._depth >= MAX_DEPTH:
            raise yaml.MarkedYAMLError(
                problem=f"nested more than {MAX_DEPTH} levels deep",
                problem_mark=event.start_mark,
            )
        # Refusing aliases outright closes the "billion laughs" expansion and keeps every value
        # in one visible place for the organizer reading the file.
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed; write the value out",
                problem_mark=event.start_mark,  # type: ignore[arg-type]
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise yaml.MarkedYAMLError(
                problem="anchors (&name) are not allowed; write the value out",
                problem_mark=event.start_mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml(path: Path) -> Located:
    """Read one YAML file as plain data with positions, or raise YamlError saying where."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise YamlError(
            [YamlProblem(path, Position(1, 1), f"file is {size} bytes; the limit is 1 MiB")]
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        message = "the file is not UTF-8 text; save it as UTF-8"
        raise YamlError([YamlProblem(path, Position(line, column), message)]) from None
    return parse_yaml(text, path)


def parse_yaml(text: str, path: Path) -> Located:
    """Parse YAML text as plain data with positions, or raise YamlError saying where."""
    try:
        loader = _Composer(text)  # the reader checks characters here, before any parsing
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        if error.context_mark and "end of stream" in (error.problem or ""):
            # An unclosed quote: where it opens helps, the end of the file does not. (An unclosed
            # bracket is already reported where it opens, by the composer.)
            mark = error.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
        message = error.problem or error.context or "not valid YAML"
        if error.context and error.problem:
            message = f"{error.context}: {error.problem}"
        raise YamlError([YamlProblem(path, position, message)]) from None
    except yaml.reader.ReaderError as error:
        before = text[: error.position]
        position = Position(before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)
        message = f"character {chr(error.character)!r} is not allowed in YAML; remove it"
        raise YamlError([YamlProblem(path, position, message)]) from None
    if node is None:
        raise YamlError([YamlProblem(path, Position(1, 1), "the file is empty")])
    reader = _Reader(path)
    data = reader.read(node, ())
    return Located(data, reader.positions, reader.key_positions, reader.problems)
