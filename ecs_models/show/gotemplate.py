"""Just enough of Go's text/template to read an Ollama TEMPLATE the way Ollama reads it.

Ollama derives capabilities from a model's template (template.Vars, thinking.InferTags):
`.Tools` anywhere means tools, `.Suffix` means insert, and `.Thinking` inside a
`{{ range .Messages }}` between two pieces of text (`<think>` ... `</think>`) means thinking.
This module parses the template into Go's node tree (text, actions, if / range / with, define,
template) and answers those two questions; it never executes a template.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ecs_models.errors import EcsModelsError

_LEFT, _RIGHT = "{{", "}}"
_TRIM_SPACE = " \t\r\n"
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VARIABLE_RE = re.compile(r"\$[A-Za-z0-9_]*")
_NUMBER_RE = re.compile(r"[-+]?(0[xXoObB])?[0-9a-fA-F_]*\.?[0-9a-fA-F_]*([eEpP][-+]?[0-9_]+)?i?")


class TemplateError(EcsModelsError):
    """A template Go's text/template would refuse to parse."""


# -- the node tree (names follow text/template/parse) --------------------------------------


@dataclass(slots=True)
class FieldNode:
    ident: tuple[str, ...]  # .Messages.Content -> ("Messages", "Content")


@dataclass(slots=True)
class VariableNode:
    ident: tuple[str, ...]  # $.Tools -> ("$", "Tools"); $m.Role -> ("$m", "Role")


@dataclass(slots=True)
class PipeNode:
    args: list[FieldNode | VariableNode | PipeNode] = field(default_factory=list)


@dataclass(slots=True)
class TextNode:
    text: str


@dataclass(slots=True)
class ActionNode:
    pipe: PipeNode


@dataclass(slots=True)
class TemplateNode:
    pipe: PipeNode


@dataclass(slots=True)
class ListNode:
    nodes: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class BranchNode:
    kind: str  # "if", "range" or "with"
    pipe: PipeNode
    body: ListNode
    else_body: ListNode | None = None


Node = TextNode | ActionNode | TemplateNode | ListNode | BranchNode


@dataclass(slots=True)
class ParsedTemplate:
    root: ListNode
    defined: list[ListNode]  # {{ define }} and {{ block }} bodies, Go's t.Templates()

    def vars(self) -> set[str]:
        """template.Vars: every field and variable identifier, lower-cased."""
        names: set[str] = set()
        for tree in (self.root, *self.defined):
            names.update(name.lower() for name in _identifiers(tree))
        return names

    def thinking_tags(self) -> tuple[str, str]:
        """thinking.InferTags: the text around `.Thinking` in a range over `.Messages`."""
        return _infer_tags(self.root)


def parse_template(text: str) -> ParsedTemplate:
    """Parse a Go template; TemplateError when Go's parser would reject it."""
    return _TreeBuilder(_lex(text)).build()


# -- lexing: text and actions --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    is_action: bool
    text: str
    offset: int


def _lex(source: str) -> Iterator[_Item]:
    pos = 0
    trim_next_text = False
    while pos <= len(source):
        start = source.find(_LEFT, pos)
        end = len(source) if start < 0 else start
        text = source[pos:end]
        if trim_next_text:
            text = text.lstrip(_TRIM_SPACE)
        if start >= 0 and source[start + 2 : start + 3] == "-" and _is_space(source, start + 3):
            text = text.rstrip(_TRIM_SPACE)
        if text:
            yield _Item(False, text, pos)
        if start < 0:
            return
        inner_start = start + 2
        if source[inner_start : inner_start + 1] == "-" and _is_space(source, inner_start + 1):
            inner_start += 2
        close = _find_close(source, inner_start)
        inner_end = close
        trim_next_text = False
        if close >= 2 and source[close - 1] == "-" and _is_space(source, close - 2):
            inner_end = close - 2
            trim_next_text = True
        yield _Item(True, source[inner_start:inner_end].strip(), start)
        pos = close + 2


def _is_space(source: str, index: int) -> bool:
    return index < len(source) and source[index] in _TRIM_SPACE


def _find_close(source: str, pos: int) -> int:
    """Index of the `}}` ending the action starting at `pos`, skipping quoted text and comments."""
    if source.startswith("/*", pos):
        end = source.find("*/", pos + 2)
        if end < 0:
            raise TemplateError(f"The template has an unclosed comment at byte {pos}.")
        close = source.find(_RIGHT, end + 2)
        if close < 0:
            raise TemplateError(f"The template has an unclosed action at byte {pos}.")
        return close
    index = pos
    while index < len(source):
        char = source[index]
        if source.startswith(_RIGHT, index):
            return index
        if char in "\"'`":
            index = _skip_quoted(source, index)
            continue
        index += 1
    raise TemplateError(f"The template has an unclosed action at byte {pos}.")


def _skip_quoted(source: str, index: int) -> int:
    quote = source[index]
    index += 1
    while index < len(source):
        char = source[index]
        if char == "\\" and quote != "`":
            index += 2
            continue
        if char == quote:
            return index + 1
        if char == "\n" and quote != "`":
            break
        index += 1
    raise TemplateError(f"The template has an unterminated quoted string at byte {index}.")


# -- parsing: the control structure --------------------------------------------------------


class _TreeBuilder:
    def __init__(self, items: Iterator[_Item]) -> None:
        self.items = items
        self.defined: list[ListNode] = []

    def build(self) -> ParsedTemplate:
        root, stop = self._list(top=True)
        if stop is not None:
            raise TemplateError(f"The template has an unexpected {{{{{stop}}}}}.")
        return ParsedTemplate(root, self.defined)

    def _list(self, *, top: bool = False) -> tuple[ListNode, str | None]:
        """Nodes until {{ end }} or {{ else ... }}; returns the list and that stopping action."""
        nodes: list[Node] = []
        for item in self.items:
            if not item.is_action:
                nodes.append(TextNode(item.text))
                continue
            action = item.text
            if action.startswith("/*"):
                continue  # a comment
            keyword = _keyword(action)
            rest = action[len(keyword) :].strip() if keyword else action
            if keyword in ("end", "else"):
                if top:
                    raise TemplateError(f"The template has an unexpected {{{{{keyword}}}}}.")
                return ListNode(nodes), action
            if keyword in ("if", "range", "with"):
                nodes.append(self._branch(keyword, rest))
            elif keyword == "define":
                self._define()
            elif keyword == "block":
                _name, _, pipe = _split_name(rest)
                self._define()
                nodes.append(TemplateNode(_parse_pipe(pipe)))
            elif keyword == "template":
                _name, _, pipe = _split_name(rest)
                nodes.append(TemplateNode(_parse_pipe(pipe)))
            elif keyword in ("break", "continue"):
                continue
            else:
                nodes.append(ActionNode(_parse_pipe(action)))
        if not top:
            raise TemplateError("The template ends inside an {{if}}, {{range}} or {{with}}.")
        return ListNode(nodes), None

    def _branch(self, kind: str, pipe_text: str) -> BranchNode:
        body, stop = self._list()
        node = BranchNode(kind, _parse_pipe(pipe_text), body)
        assert stop is not None
        if _keyword(stop) == "else":
            rest = stop[len("else") :].strip()
            chained = _keyword(rest)
            if chained in ("if", "with") and rest:
                # {{else if x}} is {{else}}{{if x}}...{{end}}{{end}}: one shared {{end}}.
                inner = self._branch(chained, rest[len(chained) :].strip())
                node.else_body = ListNode([inner])
            else:
                node.else_body, stop = self._list()
                if stop is None or _keyword(stop) != "end":
                    raise TemplateError("The template has a second {{else}} in one branch.")
        return node

    def _define(self) -> None:
        body, stop = self._list()
        if stop is None or _keyword(stop) != "end":
            raise TemplateError("A {{define}} or {{block}} in the template has no {{end}}.")
        self.defined.append(body)


def _keyword(action: str) -> str:
    match = _WORD_RE.match(action)
    if match is None:
        return ""
    word = match.group(0)
    keywords = ("if", "range", "with", "else", "end", "define", "block", "template")
    if word in (*keywords, "break", "continue"):
        return word
    return ""


def _split_name(rest: str) -> tuple[str, str, str]:
    """`"name" pipeline` -> (name, "", pipeline)."""
    if rest[:1] in ('"', "`"):
        end = _skip_quoted(rest, 0)
        return rest[1 : end - 1], "", rest[end:].strip()
    raise TemplateError(f"The template names a template without quotes: {rest[:40]!r}.")


def _parse_pipe(text: str) -> PipeNode:
    """The identifiers of a pipeline, nested by parentheses; declarations are left out."""
    stack = [PipeNode()]
    index = 0
    after_close = False
    while index < len(text):
        char = text[index]
        if char in _TRIM_SPACE or char in ",|":
            index += 1
            after_close = False
            continue
        if char in "\"'`":
            index = _skip_quoted(text, index)
            continue
        if text.startswith(":=", index) or char == "=":
            # `$i, $m := .Messages`: what came before is the declaration, not the pipeline.
            stack[-1].args.clear()
            index += 2 if char == ":" else 1
            continue
        if char == "(":
            inner = PipeNode()
            stack[-1].args.append(inner)
            stack.append(inner)
            index += 1
            continue
        if char == ")":
            if len(stack) == 1:
                raise TemplateError(f"The template has an unmatched ')' in {text[:40]!r}.")
            stack.pop()
            index += 1
            after_close = True
            continue
        if char == "$":
            match = _VARIABLE_RE.match(text, index)
            assert match is not None
            index, chain = _field_chain(text, match.end())
            stack[-1].args.append(VariableNode((match.group(0), *chain)))
            continue
        if char == "." and _WORD_RE.match(text, index + 1):
            index, chain = _field_chain(text, index)
            if not after_close:  # (x).Field is Go's ChainNode, which Ollama does not walk
                stack[-1].args.append(FieldNode(tuple(chain)))
            continue
        word = _WORD_RE.match(text, index)
        if word is not None:
            index = word.end()
            continue
        number = _NUMBER_RE.match(text, index)
        index = number.end() if number is not None and number.end() > index else index + 1
        after_close = False
    if len(stack) != 1:
        raise TemplateError(f"The template has an unclosed '(' in {text[:40]!r}.")
    return stack[0]


def _field_chain(text: str, index: int) -> tuple[int, list[str]]:
    chain: list[str] = []
    while text.startswith(".", index):
        word = _WORD_RE.match(text, index + 1)
        if word is None:
            break
        chain.append(word.group(0))
        index = word.end()
    return index, chain


# -- the two questions Ollama asks ---------------------------------------------------------


def _identifiers(node: Node | PipeNode | FieldNode | VariableNode) -> Iterator[str]:
    if isinstance(node, ListNode):
        for child in node.nodes:
            yield from _identifiers(child)
    elif isinstance(node, ActionNode | TemplateNode):
        yield from _identifiers(node.pipe)
    elif isinstance(node, BranchNode):
        yield from _identifiers(node.pipe)
        yield from _identifiers(node.body)
        if node.else_body is not None:
            yield from _identifiers(node.else_body)
    elif isinstance(node, PipeNode):
        for arg in node.args:
            yield from _identifiers(arg)
    elif isinstance(node, FieldNode | VariableNode):
        yield from node.ident


def _children(node: object) -> list[object]:
    if isinstance(node, ListNode):
        return list(node.nodes)
    if isinstance(node, BranchNode):
        return [node.pipe, node.body] + ([node.else_body] if node.else_body is not None else [])
    if isinstance(node, ActionNode | TemplateNode):
        return [node.pipe]
    if isinstance(node, PipeNode):
        return list(node.args)
    return []


def _infer_tags(root: ListNode) -> tuple[str, str]:
    opening, closing = "", ""
    ancestors: list[object] = []

    def visit(node: object) -> None:
        nonlocal opening, closing
        ancestors.append(node)
        if isinstance(node, FieldNode) and node.ident and node.ident[0] == "Thinking":
            ranges = [a for a in ancestors if isinstance(a, BranchNode) and a.kind == "range"]
            if ranges and _uses_field(ranges[-1].pipe, "Messages"):
                lists = [a for a in ancestors if isinstance(a, ListNode)]
                nearest = lists[-1]
                if isinstance(nearest.nodes[0], TextNode):
                    opening = nearest.nodes[0].text.strip()
                if isinstance(nearest.nodes[-1], TextNode):
                    closing = nearest.nodes[-1].text.strip()
        for child in _children(node):
            visit(child)
        ancestors.pop()

    visit(root)
    return opening, closing


def _uses_field(pipe: PipeNode, name: str) -> bool:
    for arg in pipe.args:
        if isinstance(arg, FieldNode) and arg.ident[:1] == (name,):
            return True
        if isinstance(arg, PipeNode) and _uses_field(arg, name):
            return True
    return False
