"""Tree-sitter extraction of symbols from source code.

One parse and one query run per file. The ``queries/<language>.scm`` files say *what*
is a definition or a reference; this module adds what queries express badly: nesting
(qualified names and parents), decorator-inclusive line ranges, signatures,
docstrings, and attributing references to every symbol that contains them.

``tree_sitter`` and the grammar packages are imported lazily (on the first parse of a
language) so importing :mod:`agentctx.parse` stays cheap.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import textwrap
import threading
from bisect import bisect_left
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from agentctx.models import MODULE_SYMBOL, ParsedFile, Symbol

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Query

_CLASS_LIKE = frozenset({"class", "struct", "interface", "trait", "impl", "enum"})

# Nodes that decorate a definition: kept in its line range, left out of its signature.
_DECORATIONS = frozenset(
    {"decorator", "annotation", "marker_annotation", "attribute_list", "attribute_item"}
)
# Decorations that tree-sitter puts *before* the definition as siblings (Rust, TS members).
_SIBLING_DECORATIONS = frozenset({"decorator", "attribute_item"})
_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
# Containers searched for a body when the definition has no ``body`` field.
_BODY_TYPES = frozenset({"field_declaration_list", "class_body", "declaration_list"})
_DESCEND = frozenset(
    {
        "variable_declarator",
        "assignment_expression",
        "arrow_function",
        "function_expression",
        "generator_function",
        "class",
        "struct_type",
        "struct_specifier",
        "union_specifier",
        "enum_specifier",
        "class_specifier",
    }
)

_IDENT = re.compile(r"[A-Za-z_$][\w$]*\Z")
_GENERIC = re.compile(r"<[^<>]*>|\[[^\[\]]*\]")
_NAME_SPLIT = re.compile(r"::|\.|\\")
_SIG_MAX = 400
_DOC_MAX = 2000

_GO_NOISE = frozenset(
    {
        *("bool", "byte", "complex64", "complex128", "error", "float32", "float64", "rune"),
        *("int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32"),
        *("uint64", "uintptr", "string", "any", "comparable", "append", "cap", "clear"),
        *("close", "complex", "copy", "delete", "imag", "len", "make", "max", "min", "new"),
        *("panic", "print", "println", "real", "recover"),
    }
)


@dataclass(frozen=True, slots=True)
class _Spec:
    """How one language is parsed: grammar, query, and the few per-language quirks."""

    module: str  # grammar package
    func: str = "language"  # function in it returning the language pointer
    comment: str = "//"  # line comment marker for the module chunk's placeholders
    wrappers: frozenset[str] = frozenset()  # nodes wrapping one definition (decorators, export)
    method_parents: frozenset[str] = _CLASS_LIKE  # parent kinds that make a function a method
    noise: frozenset[str] = frozenset()  # references never worth keeping


SPECS: dict[str, _Spec] = {
    "python": _Spec(
        "tree_sitter_python", comment="#", wrappers=frozenset({"decorated_definition"})
    ),
    "javascript": _Spec("tree_sitter_javascript", wrappers=frozenset({"export_statement"})),
    "typescript": _Spec(
        "tree_sitter_typescript", "language_typescript", wrappers=frozenset({"export_statement"})
    ),
    "tsx": _Spec(
        "tree_sitter_typescript", "language_tsx", wrappers=frozenset({"export_statement"})
    ),
    "go": _Spec("tree_sitter_go", wrappers=frozenset({"type_declaration"}), noise=_GO_NOISE),
    "rust": _Spec("tree_sitter_rust"),
    "java": _Spec("tree_sitter_java"),
    "c": _Spec("tree_sitter_c"),
    "cpp": _Spec("tree_sitter_cpp", wrappers=frozenset({"template_declaration"})),
    "csharp": _Spec("tree_sitter_c_sharp"),
    "ruby": _Spec("tree_sitter_ruby", comment="#", method_parents=_CLASS_LIKE | {"module"}),
}

CODE_LANGUAGES: frozenset[str] = frozenset(SPECS)


# --- grammar, query and parser caches ------------------------------------------------


@functools.cache
def _language(language: str) -> Any:
    """The tree-sitter ``Language``; imports the grammar package on first use."""
    from tree_sitter import Language

    spec = SPECS[language]
    return Language(getattr(importlib.import_module(spec.module), spec.func)())


def _query_source(name: str) -> str:
    """Query text of ``queries/<name>.scm`` with its ``; inherits: a, b`` files prepended."""
    text = resources.files(__package__).joinpath("queries", f"{name}.scm").read_text("utf-8")
    first = text.split("\n", 1)[0]
    if first.startswith("; inherits:"):
        parents = [p.strip() for p in first.split(":", 1)[1].split(",") if p.strip()]
        text = "\n".join([*(_query_source(p) for p in parents), text])
    return text


@functools.cache
def _query(language: str) -> Query:
    from tree_sitter import Query

    return Query(_language(language), _query_source(language))


_local = threading.local()


def _parser(language: str) -> Parser:
    """A parser per thread and language: ``Parser`` objects are not thread-safe."""
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(language)
    if parser is None:
        from tree_sitter import Parser

        parser = parsers[language] = Parser(_language(language))
    return parser


# --- extraction ----------------------------------------------------------------------


@dataclass(slots=True)
class _Def:
    node: Node
    outer: Node  # node plus its wrappers (decorated_definition, export_statement...)
    kind: str
    parts: list[str]  # name components from the source ("Widget", "draw" for Widget::draw)
    scoped: bool  # the name itself carries its owner (Go receiver, C++ Widget::draw)
    start_byte: int  # including decorators / attributes
    end_byte: int
    start_row: int  # 0-based, including decorators / attributes
    end_row: int  # 0-based inclusive
    col: int  # column of the first line (decorator included)
    qualname: str = ""
    parent: _Def | None = None


def parse_code(path: str, text: str, language: str) -> ParsedFile:
    """Parse ``text`` as ``language`` (a key of :data:`SPECS`) into symbols."""
    from tree_sitter import QueryCursor

    spec = SPECS[language]
    src = text.encode("utf-8", "surrogatepass")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    parser = _parser(language)
    root = parser.parse(src).root_node
    has_errors = root.has_error
    if has_errors:
        src, root = _recover(parser, src, root, lines)

    found: dict[int, tuple[int, str, Node, Node]] = {}  # node id -> (pattern, kind, node, name)
    refs: list[tuple[int, str]] = []
    comments: dict[int, Node] = {}  # last row -> comment node
    for pattern, caps in QueryCursor(_query(language)).matches(root):
        def_kind = ""
        for cap, nodes in caps.items():
            if cap.startswith("definition."):
                def_kind = cap[11:]
            elif cap.startswith("reference."):
                kind = cap[10:]
                for n in nodes:
                    name = _ref_name(src, n, kind)
                    if name is not None and name not in spec.noise:
                        refs.append((n.start_byte, name))
            elif cap == "comment":
                for n in nodes:
                    comments[_last_row(n)] = n
        if def_kind and "name" in caps:
            node = caps[f"definition.{def_kind}"][0]
            prev = found.get(node.id)
            if prev is None or pattern < prev[0]:
                found[node.id] = (pattern, def_kind, node, caps["name"][0])

    name_starts = {name.start_byte for _, _, _, name in found.values()}
    refs = sorted(r for r in refs if r[0] not in name_starts)
    ref_pos = [r[0] for r in refs]

    defs = [_make_def(src, node, kind, name, spec) for _, kind, node, name in found.values()]
    defs.sort(key=lambda d: (d.start_byte, -d.end_byte))
    _nest(defs, spec)
    if language in _OVERLOADING:
        defs = _fold_overloads(src, defs)

    nlines = len(lines)
    symbols: list[Symbol] = []
    top_regions: list[tuple[int, int, _Def]] = []  # rows incl. doc comment, for the module chunk
    for d in defs:
        start_line = d.start_row + 1
        end_line = min(max(d.end_row + 1, start_line), max(nlines, start_line))
        doc_nodes = _leading_comments(d, comments, lines)
        doc = ""
        if language == "python":
            doc = _python_docstring(src, d.node)
        if not doc and doc_nodes:
            doc = _clean_comments(src, doc_nodes)
        i, j = bisect_left(ref_pos, d.start_byte), bisect_left(ref_pos, d.end_byte)
        name = d.parts[-1]
        references = tuple(sorted({n for _, n in refs[i:j]} - {name}))
        symbols.append(
            Symbol(
                name=name,
                qualname=d.qualname,
                kind=d.kind,
                start_line=start_line,
                end_line=end_line,
                signature=_signature(src, d),
                docstring=doc[:_DOC_MAX],
                references=references,
                parent=d.parent.qualname if d.parent else None,
                text="\n".join(lines[start_line - 1 : end_line]),
            )
        )
        if d.parent is None:
            first_row = doc_nodes[-1].start_point.row if doc_nodes else d.start_row
            top_regions.append((first_row, end_line - 1, d))

    symbols.sort(key=lambda s: (s.start_line, -s.end_line, s.qualname))
    module = _module_symbol(src, root, lines, top_regions, refs, comments, spec, language)
    if module is not None:
        symbols.insert(0, module)
    return ParsedFile(path=path, language=language, symbols=tuple(symbols), has_errors=has_errors)


_RESTART_SKIP = re.compile(r"[)\]}]|(end|else|elif|elsif|except|finally|catch|rescue|ensure)\b")
_NOT_NEWLINE = re.compile(rb"[^\n]")


def _recover(parser: Parser, src: bytes, root: Node, lines: list[str]) -> tuple[bytes, Node]:
    """Re-parse with broken top-level statements blanked out, so code after them counts.

    tree-sitter often lets one unclosed bracket swallow the rest of the file into an
    ERROR node. The lines from such an error's start up to the next statement that
    starts at column 0 are replaced by spaces (rows and byte offsets are unchanged)
    and the file is parsed again. Parsing broken input is slow, so at most two rounds,
    each kept only if it shrinks the top-level errors.
    """
    for _ in range(2):
        spans: list[tuple[int, int]] = []
        error_rows = 0
        for child in root.children:
            if child.type != "ERROR":
                continue
            first, last = child.start_point.row, child.end_point.row
            error_rows += last - first + 1
            for row in range(first + 1, min(last, len(lines) - 1) + 1):
                line = lines[row]
                if line[:1].strip() and not _RESTART_SKIP.match(line):
                    spans.append((first, row))
                    break
        if not spans:
            break
        offsets = _line_offsets(src)
        patched = bytearray(src)
        for first, row in spans:
            a, b = offsets[first], offsets[row]
            patched[a:b] = _NOT_NEWLINE.sub(b" ", src[a:b])
        new_root = parser.parse(bytes(patched)).root_node
        new_rows = sum(
            c.end_point.row - c.start_point.row + 1 for c in new_root.children if c.type == "ERROR"
        )
        if new_rows >= error_rows:
            break
        src, root = bytes(patched), new_root
        if not root.has_error:
            break
    return src, root


def _line_offsets(src: bytes) -> list[int]:
    offsets = [0]
    find = src.find
    pos = find(b"\n")
    while pos != -1:
        offsets.append(pos + 1)
        pos = find(b"\n", pos + 1)
    return offsets


def _text(src: bytes, node: Node) -> str:
    return src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _last_row(node: Node) -> int:
    """Last row that holds text of ``node`` (some nodes end at column 0 of the next row)."""
    end = node.end_point
    if end.column == 0 and end.row > node.start_point.row:
        return end.row - 1
    return end.row


def _ref_name(src: bytes, node: Node, kind: str) -> str | None:
    """The identifier a reference capture names, or None when it is not one."""
    text = _text(src, node)
    if kind == "import":  # "net/http", <stdio.h>, "./http", "json": keep the base name
        text = text.strip("\"'<> ").replace("\\", "/").rsplit("/", 1)[-1]
        if "." in text and not _IDENT.match(text):
            text = text.split(".", 1)[0]
    return text if _IDENT.match(text) else None


def _split_name(text: str) -> list[str]:
    """Name components: ``ns::Widget<T>::draw`` -> ``["ns", "Widget", "draw"]``."""
    if "operator" not in text:
        prev = None
        while prev != text:
            prev, text = text, _GENERIC.sub("", text)
    text = text.replace("&", "").replace("*", "").strip()
    parts = [p.strip() for p in _NAME_SPLIT.split(text) if p.strip()]
    return parts or [text or "?"]


def _make_def(src: bytes, node: Node, kind: str, name_node: Node, spec: _Spec) -> _Def:
    parts = _split_name(_text(src, name_node))
    scoped = len(parts) > 1
    if node.type == "impl_item":  # impl<T> fmt::Display for crate::Point<T> -> "Point"
        parts = [parts[-1].split()[-1]]  # &'a Point -> Point
        scoped = False
    elif node.type == "method_declaration" and node.child_by_field_name("receiver"):
        receiver = _go_receiver(src, node)
        if receiver:
            parts = [receiver, *parts]
            scoped = True
    elif node.type == "assignment_expression" or (
        name_node.type == "member_expression"
    ):  # Foo.prototype.bar = function () {}; module.exports.f = ...
        parts = [p for p in parts if p not in ("prototype", "this", "module", "exports")] or parts
        scoped = len(parts) > 1

    outer = node
    parent = node.parent
    while parent is not None and parent.type in spec.wrappers and _wraps_one(parent):
        outer = parent
        parent = parent.parent
    first = outer
    sibling = outer.prev_named_sibling
    while sibling is not None and sibling.type in _SIBLING_DECORATIONS:
        first = sibling
        sibling = sibling.prev_named_sibling
    return _Def(
        node=node,
        outer=outer,
        kind=kind,
        parts=parts,
        scoped=scoped,
        start_byte=first.start_byte,
        end_byte=outer.end_byte,
        start_row=first.start_point.row,
        end_row=_last_row(outer),
        col=first.start_point.column,
    )


def _wraps_one(wrapper: Node) -> bool:
    """Go ``type ( A ...; B ... )`` groups several specs: then each spec stands alone."""
    if wrapper.type != "type_declaration":
        return True
    return sum(c.type in ("type_spec", "type_alias") for c in wrapper.named_children) == 1


def _go_receiver(src: bytes, node: Node) -> str:
    receiver = node.child_by_field_name("receiver")
    for param in receiver.named_children if receiver else ():
        typ = param.child_by_field_name("type")
        if typ is not None:
            return _split_name(_text(src, typ))[-1]
    return ""


def _nest(defs: list[_Def], spec: _Spec) -> None:
    """Set parents, qualified names and method/function kinds by containment (one pass)."""
    stack: list[_Def] = []
    for d in defs:
        while stack and not (
            d.start_byte >= stack[-1].start_byte and d.end_byte <= stack[-1].end_byte
        ):
            stack.pop()
        parent = stack[-1] if stack else None
        d.parent = parent
        own = ".".join(d.parts)
        d.qualname = f"{parent.qualname}.{own}" if parent else own
        in_class = parent is not None and parent.kind in spec.method_parents
        if d.kind == "function" and in_class:
            d.kind = "method"
        elif d.kind == "method" and not in_class and not d.scoped:
            d.kind = "function"
        stack.append(d)


# Languages whose overloads are declarations without a body before the one with it.
_OVERLOADING = frozenset({"python", "typescript", "tsx"})
_BODILESS_SIGNATURES = frozenset({"function_signature", "method_signature"})  # TypeScript


def _is_overload(src: bytes, d: _Def) -> bool:
    """Whether ``d`` declares an overload: a Python definition decorated ``@overload``
    (``@typing.overload``, ``@t.overload``), a TypeScript signature without a body."""
    if d.node.type in _BODILESS_SIGNATURES:
        return True
    if d.outer.type != "decorated_definition":
        return False
    for child in d.outer.children:
        if child.type == "decorator":
            name = _text(src, child).lstrip("@").strip().split("(")[0]
            if name.rsplit(".", 1)[-1] == "overload":
                return True
    return False


def _fold_overloads(src: bytes, defs: list[_Def]) -> list[_Def]:
    """One symbol per overloaded function: the overload declarations right before a
    definition of the same name join it (its lines start at the first one), so a name
    is one chunk with every signature, not a row of one-line stubs that each match the
    name. A run of declarations alone (a stub file, an interface) becomes its last one."""
    out: list[_Def] = []
    for d in defs:
        run = []
        while out and out[-1].qualname == d.qualname and _is_overload(src, out[-1]):
            run.append(out.pop())
        if run:
            first = run[-1]
            d.start_byte, d.start_row, d.col = first.start_byte, first.start_row, first.col
        out.append(d)
    return out


def _signature(src: bytes, d: _Def) -> str:
    """Header text from the first non-decorator token up to the body, on one line."""
    start = _signature_start(d.outer)
    body = _find_body(d.node)
    if body is not None and body.start_byte > start:
        end = body.start_byte
        for child in d.node.children:  # a comment between header and body is not header
            if child.type in _COMMENTS and start < child.start_byte < end:
                end = child.start_byte
                break
        header = src[start:end].decode("utf-8", "replace")
        if d.node.type == "type_definition":  # C: typedef struct { ... } Name;
            tail = src[body.end_byte : d.node.end_byte].decode("utf-8", "replace")
            header = f"{header}{{ ... }}{tail}"
    else:
        header = src[start : d.end_byte].decode("utf-8", "replace")
        if "{" in header and d.node.type in ("type_spec", "type_alias"):
            header = header.split("{", 1)[0]  # Go interface: "type Handler interface"
    header = " ".join(header.split()).rstrip(";").rstrip()
    if header.endswith(("{", "=>")) and body is None:
        header = header[:-2].rstrip() if header.endswith("=>") else header[:-1].rstrip()
    return header if len(header) <= _SIG_MAX else header[: _SIG_MAX - 3] + "..."


def _signature_start(outer: Node) -> int:
    for child in outer.children:
        if child.type == "modifiers":  # Java: annotations live inside the modifiers
            for sub in child.children:
                if sub.type not in _DECORATIONS and sub.type not in _COMMENTS:
                    return sub.start_byte
            continue
        if child.type in _DECORATIONS or child.type in _COMMENTS:
            continue
        return child.start_byte
    return outer.start_byte


def _find_body(node: Node, depth: int = 0) -> Node | None:
    body = node.child_by_field_name("body")
    if body is not None or depth >= 3:
        return body
    for child in node.named_children:
        if child.type in _BODY_TYPES:
            return child
        if child.type in _DESCEND:
            found = _find_body(child, depth + 1)
            if found is not None:
                return found
    if node.type == "type_spec":  # Go struct: type_spec > struct_type > field list
        typ = node.child_by_field_name("type")
        return _find_body(typ, depth + 1) if typ is not None else None
    return None


def _leading_comments(d: _Def, comments: dict[int, Node], lines: list[str]) -> list[Node]:
    """The comment block right above a definition, nearest first, same indentation."""
    found: list[Node] = []
    row = d.start_row - 1
    while row in comments:
        node = comments[row]
        start = node.start_point
        if start.column != d.col or lines[start.row][: start.column].strip():
            break
        end = node.end_point
        if end.row < len(lines) and end.column > 0 and lines[end.row][end.column :].strip():
            break
        if node.start_byte >= d.start_byte:
            break
        found.append(node)
        row = start.row - 1
    return found


_MARKER = re.compile(r"^\s*(/\*+!?|\*+/|//[/!]?|#+!?|\*(?!/))?")
_XML_DOC = re.compile(r"</?summary>")


def _clean_comments(src: bytes, nodes: list[Node]) -> str:
    """Comment text without markers (``//``, ``#``, ``/** */``, ``///``), dedented."""
    out: list[str] = []
    for node in reversed(nodes):
        for line in _text(src, node).split("\n"):
            line = line.rstrip()
            if line.endswith("*/"):
                line = line[:-2].rstrip()
            line = _MARKER.sub("", line, count=1)
            out.append(_XML_DOC.sub("", line).rstrip())
    return textwrap.dedent("\n".join(out)).strip("\n").strip()


_STRING_PREFIX = re.compile(r"^[rRbBuUfF]*(\"\"\"|'''|\"|')")


def _python_docstring(src: bytes, node: Node) -> str:
    """First statement of a Python body if it is a string literal."""
    body = node.child_by_field_name("body")
    if body is None:
        return ""
    for stmt in body.named_children:
        if stmt.type in _COMMENTS:
            continue
        if stmt.type == "expression_statement" and stmt.named_child_count == 1:
            value = stmt.named_children[0]
            if value.type == "string":
                return _string_value(_text(src, value))
        return ""
    return ""


def _string_value(raw: str) -> str:
    match = _STRING_PREFIX.match(raw)
    if match:
        quote = match.group(1)
        raw = raw[match.end() :]
        if raw.endswith(quote):
            raw = raw[: -len(quote)]
    return inspect.cleandoc(raw)


def _module_symbol(
    src: bytes,
    root: Node,
    lines: list[str],
    regions: list[tuple[int, int, _Def]],
    refs: list[tuple[int, str]],
    comments: dict[int, Node],
    spec: _Spec,
    language: str,
) -> Symbol | None:
    """The module remainder: lines outside top-level symbols, each symbol as one line."""
    regions.sort(key=lambda r: (r[0], r[1]))
    merged: list[tuple[int, int, list[_Def]]] = []
    for first, last, d in regions:
        if merged and first <= merged[-1][1]:
            prev_first, prev_last, ds = merged[-1]
            merged[-1] = (prev_first, max(prev_last, last), [*ds, d])
        else:
            merged.append((first, last, [d]))

    out: list[str] = []
    kept_text = False
    row = 0
    for first, last, ds in merged:
        for r in range(row, min(first, len(lines))):
            out.append(lines[r])
            kept_text = kept_text or bool(lines[r].strip())
        if first < len(lines):
            line = lines[ds[0].start_row] if ds[0].start_row < len(lines) else ""
            indent = line[: len(line) - len(line.lstrip())]
            names = ", ".join(d.qualname for d in ds)
            lo = min(d.start_row for d in ds) + 1
            hi = max(d.end_row for d in ds) + 1
            span = f"line {lo}" if lo == hi else f"lines {lo}-{hi}"
            out.append(f"{indent}...  {spec.comment} {names} ({span})")
        row = max(row, last + 1)
    for r in range(row, len(lines)):
        out.append(lines[r])
        kept_text = kept_text or bool(lines[r].strip())
    if not kept_text:
        return None

    # references outside every top-level symbol (sweep: both lists are sorted by byte)
    spans = sorted((d.start_byte, d.end_byte) for _, _, d in regions)
    names: set[str] = set()
    k = 0
    for pos, name in refs:
        while k < len(spans) and spans[k][1] <= pos:
            k += 1
        if k < len(spans) and spans[k][0] <= pos < spans[k][1]:
            continue
        names.add(name)

    return Symbol(
        name=MODULE_SYMBOL,
        qualname=MODULE_SYMBOL,
        kind="module",
        start_line=1,
        end_line=len(lines),
        docstring=_module_doc(src, root, comments, regions, language)[:_DOC_MAX],
        references=tuple(sorted(names)),
        text="\n".join(out),
    )


def _module_doc(
    src: bytes,
    root: Node,
    comments: dict[int, Node],
    regions: list[tuple[int, int, _Def]],
    language: str,
) -> str:
    """Python module docstring, else the comment block the file starts with."""
    if language == "python":
        for stmt in root.named_children:
            if stmt.type in _COMMENTS:
                continue
            if stmt.type == "expression_statement" and stmt.named_child_count == 1:
                value = stmt.named_children[0]
                if value.type == "string":
                    return _string_value(_text(src, value))
            break
    by_start = {c.start_point.row: c for c in comments.values()}
    row = 0
    first = by_start.get(row)
    if first is not None and _text(src, first).startswith("#!"):
        row = _last_row(first) + 1
    block: list[Node] = []
    while row in by_start and by_start[row].start_point.column == 0:
        block.append(by_start[row])
        row = _last_row(by_start[row]) + 1
    if not block or any(first_row <= _last_row(block[-1]) for first_row, _, _ in regions):
        return ""  # no header comment, or it documents the first symbol
    return _clean_comments(src, list(reversed(block)))
