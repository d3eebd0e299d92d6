"""Read YAML written by people (protocols, the VRU configuration) without surprises.

PyYAML on its own lets the last of two equal keys silently win (fatal for a pre-registered plan: the
reader of the file and evalkit would disagree on what it says), recurses once per nesting level (a deeply
nested file ends in a ``RecursionError``), expands aliases (``*name``) to any size, and takes minutes over a
file of tens of megabytes. :func:`load_yaml` checks, in this order and before building anything:

1. the size of the text (:data:`MAX_KB_ENV`, default 1024 KB: a protocol is a few KB);
2. the nesting depth and the number of aliases, from the parser's event stream (no recursion):
   at most :data:`MAX_DEPTH` levels;
3. every key of every mapping is given once (the line of both places is named);
4. what the aliases expand to: at most :data:`MAX_NODES` values, and no alias that contains itself.

Each refusal is a :class:`YamlProblem` with the line and a fix, which the callers turn into their own
located errors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import yaml

#: Environment variable raising the size limit (KB).
MAX_KB_ENV = "EVALKIT_YAML_MAX_KB"
DEFAULT_MAX_KB = 1024
#: Deepest nesting of lists and sections accepted (a protocol needs about 6).
MAX_DEPTH = 64
#: Values the document may expand to through aliases (a protocol has a few hundred).
MAX_NODES = 200_000


@dataclass(frozen=True)
class YamlProblem(yaml.YAMLError):
    """Why a YAML text is refused: a plain message, the 1-based line (or None) and a fix (a ``yaml.YAMLError``,
    so that a caller's existing ``except yaml.YAMLError`` reports it too)."""

    message: str
    fix: str
    line: int | None = None

    def __str__(self) -> str:
        at = f"line {self.line}: " if self.line is not None else ""
        return f"{at}{self.message} Fix: {self.fix}"


def max_bytes() -> int:
    """The size limit in bytes (:data:`MAX_KB_ENV`, else :data:`DEFAULT_MAX_KB` KB)."""
    try:
        kb = float(os.environ.get(MAX_KB_ENV, ""))
    except ValueError:
        kb = DEFAULT_MAX_KB
    return int((kb if kb > 0 else DEFAULT_MAX_KB) * 1024)


def check_file_size(path: str | os.PathLike) -> None:
    """:class:`YamlProblem` when the file is over the size limit (from its size on disk, before reading it)."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return  # the reader says why it cannot be read
    _check_size(size=size)


def _check_size(text: str = "", *, size: int | None = None) -> None:
    size = len(text.encode("utf-8", "surrogatepass")) if size is None else size
    if size > max_bytes():
        raise YamlProblem(f"the file is {size / 1024:,.0f} KB, more than the {max_bytes() // 1024:,} KB a protocol or "
                          "configuration needs (it was not read).",
                          f"check it is the right file; a genuine one can be allowed with the environment variable "
                          f"{MAX_KB_ENV}.")


def _check_events(text: str) -> None:
    """Depth from the event stream: the parser keeps its own stack, so this never recurses."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlProblem(f"is nested more than {MAX_DEPTH} levels deep.",
                                  "a protocol nests a few levels (designs, then each design's settings); check "
                                  "the indentation and brackets.", event.start_mark.line + 1)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _check_keys_and_size(root: yaml.Node) -> None:
    """Duplicate keys (each mapping node once), then the expanded size through aliases, without recursion."""
    seen_nodes: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: dict[str, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    name = str(key.value)
                    line = key.start_mark.line + 1
                    if name in keys:
                        raise YamlProblem(f"the key '{name[:60]}' is given twice (lines {keys[name]} and {line}); "
                                          "YAML would silently keep only the last.",
                                          "keep one of them: the file must say one thing (a pre-registered plan above all).",
                                          line)
                    keys[name] = line
                todo.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
    # expanded size: a node's size counts its children each time they are referred to
    size: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in size:
            continue
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if done:
            active.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if size[key] > MAX_NODES:
                raise YamlProblem(f"its aliases (*name) expand to more than {MAX_NODES:,} values.",
                                  "write the values out instead of repeating anchors inside anchors.",
                                  node.start_mark.line + 1)
            continue
        if key in active:
            raise YamlProblem("an alias (*name) refers to the section that contains it, so it never ends.",
                              "write the values out instead of the alias.", node.start_mark.line + 1)
        active.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in active:
                raise YamlProblem("an alias (*name) refers to the section that contains it, so it never ends.",
                                  "write the values out instead of the alias.", child.start_mark.line + 1)
            if id(child) not in size:
                stack.append((child, False))


def load_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The composed node tree (for line numbers) and the plain data of one YAML document.

    Raises
    ------
    YamlProblem
        Too large, too deep, a key given twice, aliases that explode or loop.
    yaml.YAMLError
        Not valid YAML (the caller locates it with the error's mark).
    """
    _check_size(text)
    _check_events(text)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is None:
        return None, None
    _check_keys_and_size(root)
    loader = yaml.SafeLoader("")
    try:
        return root, loader.construct_document(root)
    finally:
        loader.dispose()


def strict_load(text: str) -> Any:
    """:func:`yaml.safe_load` with the checks of :func:`load_yaml` (the data only)."""
    return load_yaml(text)[1]


__all__ = ["check_file_size", "strict_load", "load_yaml", "YamlProblem", "max_bytes", "MAX_KB_ENV", "MAX_DEPTH", "MAX_NODES"]
