"""Tokeniser for CQL2 Text (OGC 21-065, Annex B BNF).

Keywords are not recognised here: they are identifiers that the parser
compares case-insensitively, so a property may share a keyword's name when it
is double-quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from layers.errors import InvalidParameter

TokenKind = Literal["string", "number", "identifier", "quoted", "symbol", "end"]

# The BNF's identifierStart/identifierPart, simplified to Unicode word characters
# (letters incl. CJK, digits, '_'), plus ':' and '.', and combining marks.
_IDENTIFIER = re.compile(r"(?:[^\W\d]|:)[\w:.\u0300-\u036f\u203f\u2040]*")
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD_PATTERNS: tuple[tuple[TokenKind, re.Pattern[str]], ...] = (
    ("number", _NUMBER),
    ("identifier", _IDENTIFIER),
)
_SYMBOLS = ("<>", "<=", ">=", "=", "<", ">", "(", ")", ",", "+", "-", "*", "/", "%", "^")
# CQL2 Text escapes: '' and \' for a quote, plus C-style control characters.
_BACKSLASH_ESCAPES = {
    "'": "'",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
}


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # decoded value for strings and quoted names, source text otherwise
    start: int
    end: int

    def is_keyword(self, *keywords: str) -> bool:
        return self.kind == "identifier" and self.text.upper() in keywords


def syntax_error(source: str, position: int, problem: str) -> InvalidParameter:
    """An error that points at the place in the filter where parsing stopped."""
    snippet = source[position : position + 30]
    where = f"at character {position + 1} (near '{snippet}')" if snippet else "at the end"
    return InvalidParameter(f"invalid cql2-text filter: {problem} {where}")


def tokenize(source: str) -> list[Token]:
    """Split a CQL2 Text filter into tokens, ending with an 'end' token."""
    tokens: list[Token] = []
    position = 0
    while True:
        while position < len(source) and source[position].isspace():
            position += 1
        if position == len(source):
            tokens.append(Token("end", "", position, position))
            return tokens
        token = _next_token(source, position)
        tokens.append(token)
        position = token.end


def _next_token(source: str, position: int) -> Token:
    char = source[position]
    if char == "'":
        return _read_string(source, position)
    if char == '"':
        return _read_quoted_name(source, position)
    for kind, pattern in _WORD_PATTERNS:
        match = pattern.match(source, position)
        if match:
            return Token(kind, match.group(), position, match.end())
    for symbol in _SYMBOLS:
        if source.startswith(symbol, position):
            return Token("symbol", symbol, position, position + len(symbol))
    raise syntax_error(source, position, f"unexpected character {char!r}")


def _read_string(source: str, start: int) -> Token:
    decoded: list[str] = []
    position = start + 1
    while position < len(source):
        char = source[position]
        if char == "'":
            if source.startswith("''", position):
                decoded.append("'")
                position += 2
                continue
            return Token("string", "".join(decoded), start, position + 1)
        if char == "\\" and position + 1 < len(source):
            following = source[position + 1]
            # Unknown escapes stay as written, so LIKE escapes such as \% survive.
            decoded.append(_BACKSLASH_ESCAPES.get(following, "\\" + following))
            position += 2
            continue
        decoded.append(char)
        position += 1
    raise syntax_error(source, start, "unterminated character literal (missing closing ')")


def _read_quoted_name(source: str, start: int) -> Token:
    end = source.find('"', start + 1)
    if end <= start + 1:
        raise syntax_error(source, start, "unterminated or empty double-quoted property name")
    return Token("quoted", source[start + 1 : end], start, end + 1)
