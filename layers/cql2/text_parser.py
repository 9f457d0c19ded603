"""CQL2 Text → syntax tree (``layers.cql2.nodes``), by precedence climbing.

Written here rather than taken from pygeofilter 0.4, whose cql2-text grammar
gives AND and OR the same precedence, rejects one-letter property names,
''-escaped quotes, function-style temporal predicates (``T_BEFORE(a, b)``),
T_DISJOINT and open intervals — all part of CQL2 1.0.

Precedence, loosest first: OR, AND, NOT, comparisons (= <> < <= > >= LIKE
BETWEEN IN IS NULL), + -, * / % DIV, ^, unary minus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from layers.cql2 import literals
from layers.cql2.nodes import MAX_NESTING, Array, BBox, Interval, Node, Op, Property, Value
from layers.cql2.text_lexer import Token, syntax_error, tokenize
from layers.errors import InvalidParameter

_Raw = TypeVar("_Raw")
_Result = TypeVar("_Result")

_OR, _AND, _NOT, _COMPARISON, _SUM, _PRODUCT, _POWER, _UNARY = range(1, 9)
_COMPARISON_SYMBOLS = {"=", "<>", "<", "<=", ">", ">="}
_COMPARISON_KEYWORDS = {"LIKE", "BETWEEN", "IN", "IS"}
_ARITHMETIC_POWERS = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "%": _PRODUCT}
_WKT_TYPES = {
    "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
}  # fmt: skip
# Words that cannot be a bare property name (double-quote such a property).
_RESERVED = {"AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "DIV"}


def parse_text(source: str) -> Node:
    """Parse a CQL2 Text filter; raise InvalidParameter pointing at the error."""
    return _Parser(source).parse()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.index = 0
        self.depth = 0

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek().kind != "end":
            raise self.error("unexpected text after a complete filter")
        return node

    # -- token helpers ------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def accept(self, symbol: str) -> bool:
        if self.peek().kind == "symbol" and self.peek().text == symbol:
            self.index += 1
            return True
        return False

    def expect(self, symbol: str) -> None:
        if not self.accept(symbol):
            raise self.error(f"expected '{symbol}'")

    def expect_keyword(self, keyword: str) -> None:
        if not self.advance().is_keyword(keyword):
            self.index -= 1
            raise self.error(f"expected {keyword}")

    def error(self, problem: str, token: Token | None = None) -> InvalidParameter:
        return syntax_error(self.source, (token or self.peek()).start, problem)

    @contextmanager
    def nested(self) -> Iterator[None]:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"the filter nests more than {MAX_NESTING} levels")
        yield
        self.depth -= 1

    # -- expressions --------------------------------------------------------

    def expression(self, min_power: int) -> Node:
        with self.nested():
            left = self.prefix()
            while (power := self.infix_power()) is not None and power >= min_power:
                left = self.infix(left, power)
            return left

    def infix_power(self) -> int | None:
        token = self.peek()
        if token.kind == "symbol":
            if token.text in _COMPARISON_SYMBOLS:
                return _COMPARISON
            return _POWER if token.text == "^" else _ARITHMETIC_POWERS.get(token.text)
        if token.is_keyword("OR"):
            return _OR
        if token.is_keyword("AND"):
            return _AND
        if token.is_keyword("DIV"):
            return _PRODUCT
        negated = token.is_keyword("NOT") and self.peek(1).is_keyword("LIKE", "BETWEEN", "IN")
        return _COMPARISON if negated or token.is_keyword(*_COMPARISON_KEYWORDS) else None

    def infix(self, left: Node, power: int) -> Node:
        token = self.advance()
        if power in (_OR, _AND):
            return _flatten(token.text.lower(), left, self.expression(power + 1))
        if power == _COMPARISON:
            return self.comparison(left, token)
        name = token.text.lower()
        # '^' is right-associative: 2^3^2 = 2^(3^2).
        right = self.expression(power if name == "^" else power + 1)
        return Op(name, (left, right))

    def comparison(self, left: Node, token: Token) -> Node:
        if token.kind == "symbol":
            return Op(token.text, (left, self.expression(_SUM)))
        negated = token.is_keyword("NOT")
        keyword = (self.advance() if negated else token).text.upper()
        if keyword == "IS":
            negated = self.peek().is_keyword("NOT")
            if negated:
                self.index += 1
            self.expect_keyword("NULL")
            node: Node = Op("isnull", (left,))
        elif keyword == "LIKE":
            node = Op("like", (left, self.expression(_SUM)))
        elif keyword == "BETWEEN":
            low = self.expression(_SUM)
            self.expect_keyword("AND")
            node = Op("between", (left, low, self.expression(_SUM)))
        else:
            node = Op("in", (left, Array(self.arguments())))
        return Op("not", (node,)) if negated else node

    def arguments(self) -> tuple[Node, ...]:
        """A parenthesised, comma-separated list of expressions, possibly empty."""
        self.expect("(")
        if self.accept(")"):
            return ()
        items = [self.expression(0)]
        while self.accept(","):
            items.append(self.expression(0))
        self.expect(")")
        return tuple(items)

    # -- operands -----------------------------------------------------------

    def prefix(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            return Value(self.checked(_number, token.text, token))
        if token.kind == "string":
            return Value(self.checked(literals.check_text, token.text, token))
        if token.kind == "quoted":
            return Property(token.text)
        if token.kind == "identifier":
            return self.word(token)
        if token.kind == "symbol":
            return self.prefix_symbol(token)
        self.index -= 1
        raise self.error("expected an expression")

    def prefix_symbol(self, token: Token) -> Node:
        if token.text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if token.text in ("-", "+"):
            operand = self.expression(_UNARY)
            return _negate(operand) if token.text == "-" else operand
        self.index -= 1
        raise self.error("expected an expression")

    def word(self, token: Token) -> Node:
        keyword = token.text.upper()
        if keyword == "NOT":
            return Op("not", (self.expression(_NOT + 1),))
        if keyword in ("TRUE", "FALSE"):
            return Value(keyword == "TRUE")
        if keyword in _WKT_TYPES:
            return self.wkt_geometry(token)
        if keyword == "NULL":
            raise self.error("NULL is not a value; test for it with 'property IS NULL'", token)
        if keyword in _RESERVED:
            raise self.error(f"expected an expression, found keyword {keyword}", token)
        if not (self.peek().kind == "symbol" and self.peek().text == "("):
            return Property(token.text)
        return self.call(token)

    def call(self, token: Token) -> Node:
        keyword = token.text.upper()
        if keyword == "BBOX":
            return self.bbox()
        if keyword == "INTERVAL":
            return self.interval()
        if keyword in ("DATE", "TIMESTAMP"):
            self.expect("(")
            text = self.advance()
            if text.kind != "string":
                raise self.error(f"{keyword}(...) takes a quoted string", text)
            self.expect(")")
            parse = literals.parse_date if keyword == "DATE" else literals.parse_timestamp
            return Value(self.checked(parse, text.text, text))
        return Op(keyword.lower(), self.arguments())

    def interval(self) -> Interval:
        self.expect("(")
        start = self.interval_bound()
        self.expect(",")
        end = self.interval_bound()
        self.expect(")")
        return Interval(start, end)

    def interval_bound(self) -> Node | None:
        token = self.peek()
        if token.kind != "string":
            return self.expression(_SUM)  # a property or a function
        self.index += 1
        if token.text == literals.OPEN_END:
            return None
        return Value(self.checked(literals.parse_instant, token.text, token))

    def bbox(self) -> BBox:
        self.expect("(")
        bounds = [self.signed_number()]
        while self.accept(","):
            bounds.append(self.signed_number())
        self.expect(")")
        if len(bounds) not in (4, 6):
            raise self.error(f"BBOX takes 4 or 6 numbers, got {len(bounds)}")
        return BBox(tuple(bounds))

    def signed_number(self) -> float:
        sign = 1.0
        if self.accept("-"):
            sign = -1.0
        else:
            self.accept("+")
        token = self.advance()
        if token.kind != "number":
            raise self.error("expected a number", token)
        return sign * self.checked(_number, token.text, token)

    def wkt_geometry(self, first: Token) -> Node:
        """Hand the whole WKT text (through its balanced parentheses) to GEOS."""
        if self.peek().is_keyword("Z", "M", "ZM"):
            self.index += 1
        empty = self.peek().is_keyword("EMPTY")
        last = self.advance() if empty else self.balanced_parentheses()
        wkt = self.source[first.start : last.end]
        return self.checked(literals.geometry_from_wkt, wkt, first)

    def balanced_parentheses(self) -> Token:
        self.expect("(")
        depth = 1
        while depth:
            token = self.advance()
            if token.kind == "end":
                raise self.error("unclosed '(' in geometry", token)
            if token.kind == "symbol" and token.text in "()":
                depth += 1 if token.text == "(" else -1
        return token

    def checked(self, convert: Callable[[_Raw], _Result], raw: _Raw, token: Token) -> _Result:
        try:
            return convert(raw)
        except ValueError as exc:
            raise self.error(str(exc), token) from None


def _number(text: str) -> int | float:
    if text.isdigit() and len(text) <= 18:  # longer: a float (int() refuses 4300+ digits)
        return int(text)
    return literals.check_number(float(text))


def _negate(operand: Node) -> Node:
    value = operand.value if isinstance(operand, Value) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Value(-value)
    return Op("*", (Value(-1), operand))


def _flatten(name: str, left: Node, right: Node) -> Op:
    """Keep a chain of ANDs (ORs) as one n-ary node, so long chains stay shallow."""
    if isinstance(left, Op) and left.name == name:
        return Op(name, (*left.args, right))
    return Op(name, (left, right))
