from agentctx.chunk import ID_MASK, chunk_file, chunk_id, embed_text_for
from agentctx.models import MODULE_SYMBOL, ParsedFile, Symbol

CLASS_TEXT = '''class Cart:
    """A shopping cart."""
    items: list

    def add(self, item):
        self.items.append(item)

    def total(self):
        return sum(i.price for i in self.items)'''


def _parsed(add_body: str = "self.items.append(item)", start: int = 3) -> ParsedFile:
    text = CLASS_TEXT.replace("self.items.append(item)", add_body)
    lines = text.split("\n")
    cls = Symbol(
        "Cart",
        "Cart",
        "class",
        start,
        start + len(lines) - 1,
        "class Cart:",
        "A shopping cart.",
        (),
        None,
        text,
    )
    add = Symbol(
        "add",
        "Cart.add",
        "method",
        start + 4,
        start + 5,
        "def add(self, item):",
        "",
        ("append",),
        "Cart",
        "\n".join(lines[4:6]),
    )
    total = Symbol(
        "total",
        "Cart.total",
        "method",
        start + 7,
        start + 8,
        "def total(self):",
        "",
        ("sum",),
        "Cart",
        "\n".join(lines[7:9]),
    )
    module = Symbol(
        MODULE_SYMBOL,
        MODULE_SYMBOL,
        "module",
        1,
        start + 8,
        "",
        "",
        (),
        None,
        f"import os\n\n...  # Cart (lines {start}-{start + 8})",
    )
    return ParsedFile("src/cart.py", "python", (module, cls, add, total))


def test_ids_are_stable_63_bit_and_distinct():
    a = chunk_id("a.py", "f", 0)
    assert a == chunk_id("a.py", "f", 0)
    assert 0 < a <= ID_MASK
    assert (
        len({a, chunk_id("a.py", "f", 1), chunk_id("b.py", "f", 0), chunk_id("a.py", "g", 0)}) == 4
    )


def test_editing_a_method_changes_only_that_method():
    before = {c.qualname: c for c in chunk_file(_parsed())}
    after = {c.qualname: c for c in chunk_file(_parsed("self.items.insert(0, item)"))}
    changed = {q for q in before if before[q].content_hash != after[q].content_hash}
    assert changed == {"Cart.add"}
    assert before["Cart"].embed_hash == after["Cart"].embed_hash


def test_line_shift_changes_nothing():
    before = {c.qualname: (c.id, c.content_hash, c.embed_hash) for c in chunk_file(_parsed())}
    after = {
        c.qualname: (c.id, c.content_hash, c.embed_hash) for c in chunk_file(_parsed(start=10))
    }
    assert before == after


def test_duplicate_qualnames_get_distinct_ids():
    f = Symbol("f", "f", "function", 1, 1, "def f():", "", (), None, "def f(): pass")
    g = Symbol("f", "f", "function", 3, 3, "def f():", "", (), None, "def f(): return 1")
    chunks = chunk_file(ParsedFile("x.py", "python", (f, g)))
    assert len({c.id for c in chunks}) == 2


def test_embed_text_is_compact_and_informative():
    body = "def login(user, token):\n" + "    check(token)\n" * 500
    text = embed_text_for(
        "src/auth.py",
        "Auth.login",
        "method",
        "def login(user, token):",
        "Log a user in.",
        body,
        max_chars=400,
    )
    assert len(text) <= 400
    assert text.startswith("src/auth.py :: Auth.login (method)")
    assert "auth login" in text and "Log a user in." in text and "check(token)" in text
    assert text.count("def login") == 1
