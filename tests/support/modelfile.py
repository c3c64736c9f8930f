"""Ollama's Modelfile parser, ported to check that `show --modelfile` is what `ollama create -f`
accepts and that every value reads back unchanged.

Source: github.com/ollama/ollama parser/parser.go (ParseFile, parseRuneForState, unquote,
isValidCommand), a rune-by-rune state machine; ported line for line so its quirks are kept.
"""

from __future__ import annotations

import unicodedata

_NIL, _NAME, _VALUE, _PARAMETER, _MESSAGE, _COMMENT = range(6)
_COMMANDS = (
    "from",
    "license",
    "template",
    "system",
    "adapter",
    "draft",
    "renderer",
    "parser",
    "parameter",
    "message",
    "requires",
)
_ROLES = ("system", "user", "assistant")


class ModelfileError(ValueError):
    """What Ollama's parser would answer with an error."""


def parse_modelfile(text: str) -> list[tuple[str, str]]:
    """(command, args) pairs as Ollama's parser.Command holds them ("model" for FROM)."""
    commands: list[tuple[str, str]] = []
    name = ""
    role = ""
    current = _NIL
    buffer: list[str] = []
    for char in text.removeprefix("\ufeff"):
        following, char = _next_state(char, current)
        if following != current:
            if current == _NAME:
                word = "".join(buffer)
                if word.lower() not in _COMMANDS:
                    raise ModelfileError(f"unknown command {word!r}")
                lowered = word.lower()
                if lowered == "from":
                    name = "model"
                elif lowered == "parameter":
                    following = _PARAMETER
                elif lowered == "message":
                    following = _MESSAGE
                    name = lowered
                else:
                    name = lowered
            elif current == _PARAMETER:
                name = "".join(buffer)
            elif current == _MESSAGE:
                if "".join(buffer) not in _ROLES:
                    raise ModelfileError(f"invalid message role {''.join(buffer)!r}")
                role = "".join(buffer)
            elif current == _VALUE:
                value, ok = _unquote("".join(buffer).strip())
                if not ok or char in " \t":
                    buffer.append(char)
                    continue
                if role:
                    value = f"{role}: {value}"
                    role = ""
                commands.append((name, value))
            buffer = []
            current = following
        if char and _is_print(char):
            buffer.append(char)
    if current == _VALUE:
        value, ok = _unquote("".join(buffer).strip())
        if not ok:
            raise ModelfileError("unexpected end of file inside a quoted value")
        commands.append((name, f"{role}: {value}" if role else value))
    elif current not in (_NIL, _COMMENT):
        raise ModelfileError("unexpected end of file")
    if not any(command == "model" for command, _ in commands):
        raise ModelfileError("no FROM line")
    return commands


def _next_state(char: str, current: int) -> tuple[int, str]:
    space, newline = char in " \t", char in "\r\n"
    if current == _NIL:
        if char == "#":
            return _COMMENT, ""
        return (_NIL, "") if space or newline else (_NAME, char)
    if current == _NAME:
        if char.isascii() and char.isalpha():
            return _NAME, char
        if space:
            return _VALUE, ""
        raise ModelfileError("command must be one of the known Modelfile commands")
    if current == _VALUE:
        return (_NIL, char) if newline or space else (_VALUE, char)
    if current == _PARAMETER:
        if char.isascii() and (char.isalnum() or char == "_"):
            return _PARAMETER, char
        if space:
            return _VALUE, ""
        raise ModelfileError("unexpected end of file in a PARAMETER name")
    if current == _MESSAGE:
        if char.isascii() and char.isalpha():
            return _MESSAGE, char
        if space:
            return _VALUE, ""
        raise ModelfileError("unexpected end of file in a MESSAGE role")
    return (_NIL, "") if newline else (_COMMENT, "")


def _unquote(text: str) -> tuple[str, bool]:
    if text.startswith('"""'):
        if len(text) >= 6 and text.endswith('"""'):
            return text[3:-3], True
        return "", False
    if text.startswith('"'):
        if len(text) >= 2 and text.endswith('"'):
            return text[1:-1], True
        return "", False
    return text, True


def _is_print(char: str) -> bool:
    """strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return char == " " or unicodedata.category(char)[0] in "LMNPS"
