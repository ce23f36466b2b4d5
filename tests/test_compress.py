"""Detail levels of a chunk: golden skeletons, signatures and mentions, plus properties."""

from __future__ import annotations

import random

import pytest

from agentctx.compress import (
    LINE_CAP,
    render_full,
    render_full_except,
    render_mention,
    render_signature,
    render_skeleton,
    skeleton_floor,
    skeleton_lines,
)
from agentctx.models import MODULE_SYMBOL, Chunk
from agentctx.textutil import terms


def make(
    text: str,
    *,
    language: str = "python",
    kind: str = "function",
    qualname: str = "f",
    name: str | None = None,
    start: int = 1,
    signature: str = "",
    docstring: str = "",
    path: str = "src/x.py",
) -> Chunk:
    end = start + text.count("\n")
    return Chunk(
        id=1,
        path=path,
        language=language,
        qualname=qualname,
        name=name if name is not None else qualname.rsplit(".", 1)[-1],
        kind=kind,
        start_line=start,
        end_line=end,
        signature=signature,
        docstring=docstring,
        references=(),
        parent=None,
        text=text,
        content_hash="",
        embed_text="",
    )


# --- samples -------------------------------------------------------------------------

PY_CLASS = '''class Auth(BaseAuth):
    """Authenticate users against the token store.

    Tokens are checked in constant time.
    """

    MAX_ATTEMPTS = 5
    timeout: float = 2.5
    _cache: dict[str, Token] = {
        "admin": ADMIN,
    }

    def __init__(self, store: TokenStore) -> None:
        self.store = store
        self.attempts = 0

    @retry(times=3)
    def login(
        self,
        user: str,
        token: str,
    ) -> Session:
        """Log ``user`` in."""
        if self.attempts > self.MAX_ATTEMPTS:
            raise LockedOut(user)
        for candidate in self.store.lookup(user):
            if verify_token(candidate, token):
                return Session(user)
        self.attempts += 1
        return None'''
PY_CLASS_START = 10
PY_CLASS_CHILDREN = [(22, 24), (26, 39)]  # __init__, login (decorator included)

PY_LONG_DOC = '''def parse_config(
    path: Path,
    *,
    strict: bool = True,
) -> Config:
    """Read and validate a configuration file.

    The file may be TOML or JSON; the format is chosen by extension.
    Unknown keys are rejected when ``strict`` is set.

    Args:
        path: where the file is.
        strict: reject unknown keys.

    Returns:
        The parsed configuration.

    Raises:
        ConfigError: when the file is invalid.
    """
    raw = path.read_text()
    data = tomllib.loads(raw) if path.suffix == ".toml" else json.loads(raw)
    return Config.from_dict(data, strict=strict)'''

PY_NESTED = '''def make_handler(prefix):
    """Build a request handler."""
    log = logging.getLogger(prefix)

    def handler(request):
        log.info("handling %s", request.path)
        return respond(request)

    return handler'''

TS_CLASS = """@Component({
  selector: "app-cart",
})
export class CartComponent implements OnInit {
  @Input() items: CartItem[] = [];
  private readonly tax = 0.2;

  constructor(
    private readonly http: HttpClient,
    private store: Store<AppState>,
  ) {}

  ngOnInit(): void {
    this.store.select(selectCart).subscribe((cart) => {
      this.items = cart.items;
    });
  }

  total(discount = 0): number {
    const sum = this.items.reduce((acc, i) => acc + i.price * i.quantity, 0);
    if (discount > 0) {
      return applyDiscount(sum, discount) * (1 + this.tax);
    }
    return sum * (1 + this.tax);
  }
}"""
TS_CHILDREN = [(8, 11), (13, 17), (19, 25)]

GO_METHOD = """func (s *Server) Handle(
	ctx context.Context,
	req *Request,
) (*Response, error) {
	if req == nil {
		return nil, ErrNilRequest
	}
	user, err := s.auth.Verify(ctx, req.Token)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return s.route(ctx, user, req)
}"""

RUST_IMPL = """impl<T: Clone> Cache<T>
where
    T: Send + Sync,
{
    const CAPACITY: usize = 128;

    /// Creates an empty cache.
    pub fn new() -> Self {
        Self { map: HashMap::new() }
    }

    pub fn get<'a>(&'a self, key: &str) -> Option<&'a T> {
        self.map.get(key)
    }
}"""

JAVA_CLASS = """@Service
@Transactional(readOnly = true)
public class OrderService {
    private static final Logger LOG = LoggerFactory.getLogger(OrderService.class);
    private final OrderRepository orders;

    public OrderService(OrderRepository orders) {
        this.orders = orders;
    }

    @Transactional
    public Order place(Cart cart, Customer customer) {
        Order order = Order.from(cart);
        orders.save(order);
        LOG.info("placed {}", order.getId());
        return order;
    }
}"""
JAVA_CHILDREN = [(7, 9), (11, 17)]

PY_MODULE = '''"""Shopping cart."""

from dataclasses import dataclass

from shop.pricing import apply_discount, tax_for

...  # LineItem (lines 8-17)

TAX_RATE = 0.2

if __name__ == "__main__":
    main()'''


def py_class() -> Chunk:
    return make(
        PY_CLASS, kind="class", qualname="Auth", start=PY_CLASS_START, signature="class Auth:"
    )


def ts_class() -> Chunk:
    return make(TS_CLASS, language="typescript", kind="class", qualname="CartComponent")


def go_method() -> Chunk:
    return make(
        GO_METHOD,
        language="go",
        kind="method",
        qualname="Server.Handle",
        signature="func (s *Server) Handle( ctx context.Context, req *Request, ) (*Response, "
        "error)",
        docstring="Handle serves one request.\nIt never panics.",
        path="server.go",
        start=30,
    )


def rust_impl() -> Chunk:
    return make(RUST_IMPL, language="rust", kind="impl", qualname="Cache", path="src/cache.rs")


def java_class() -> Chunk:
    return make(JAVA_CLASS, language="java", kind="class", qualname="OrderService")


# --- golden skeletons -----------------------------------------------------------------


def test_python_class_with_children() -> None:
    assert (
        render_skeleton(py_class(), children=PY_CLASS_CHILDREN)
        == '''\
class Auth(BaseAuth):
    """Authenticate users against the token store.

    Tokens are checked in constant time.
    """

    MAX_ATTEMPTS = 5
    timeout: float = 2.5
    _cache: dict[str, Token] = {
        "admin": ADMIN,
    }

    def __init__(self, store: TokenStore) -> None:
        ...

    @retry(times=3)
    def login(
        self,
        user: str,
        token: str,
    ) -> Session:
        ...'''
    )


def test_python_class_without_children_finds_methods_by_indentation() -> None:
    chunk = py_class()
    assert render_skeleton(chunk) == render_skeleton(chunk, children=PY_CLASS_CHILDREN)


def test_python_keep_terms_keep_lines_with_their_blocks() -> None:
    out = render_skeleton(py_class(), children=PY_CLASS_CHILDREN, keep_terms={"verify_token"})
    assert out.endswith("""\
    ) -> Session:
        ...
        for candidate in self.store.lookup(user):
            if verify_token(candidate, token):
                ...
        ...""")


def test_keep_terms_match_identifier_parts_in_any_case() -> None:
    """A kept term is a lowercased identifier or a part of one: `token` keeps the line of
    `verify_token(...)`, `TOKEN` in any case the same; a term no line holds keeps none."""
    base = render_skeleton(py_class(), children=PY_CLASS_CHILDREN)
    part = render_skeleton(py_class(), children=PY_CLASS_CHILDREN, keep_terms={"token"})
    assert "if verify_token(candidate, token):" in part and part != base
    upper = render_skeleton(py_class(), children=PY_CLASS_CHILDREN, keep_terms={"TOKEN"})
    assert upper == part
    assert render_skeleton(py_class(), children=PY_CLASS_CHILDREN, keep_terms={"zzz"}) == base


def test_python_long_docstring_keeps_first_paragraph() -> None:
    chunk = make(PY_LONG_DOC, start=40, qualname="parse_config")
    assert (
        render_skeleton(chunk)
        == '''\
def parse_config(
    path: Path,
    *,
    strict: bool = True,
) -> Config:
    """Read and validate a configuration file.
    ...
    """
    ...'''
    )


def test_python_nested_function() -> None:
    chunk = make(PY_NESTED, start=5, qualname="make_handler")
    assert (
        render_skeleton(chunk, children=[(9, 11)])
        == '''\
def make_handler(prefix):
    """Build a request handler."""
    ...

    def handler(request):
        ...
    ...'''
    )
    assert (
        render_skeleton(chunk, children=[(9, 11)], keep_terms={"respond"})
        == '''\
def make_handler(prefix):
    """Build a request handler."""
    ...

    def handler(request):
        ...
        return respond(request)
    ...'''
    )


def test_typescript_class() -> None:
    expected = """\
@Component({
  selector: "app-cart",
})
export class CartComponent implements OnInit {
  @Input() items: CartItem[] = [];
  private readonly tax = 0.2;

  constructor(
    private readonly http: HttpClient,
    private store: Store<AppState>,
  ) {}

  ngOnInit(): void {
    // ...
  }

  total(discount = 0): number {
    // ...
  }
}"""
    assert render_skeleton(ts_class(), children=TS_CHILDREN) == expected
    assert render_skeleton(ts_class()) == expected


def test_typescript_keep_terms_keep_closing_braces() -> None:
    out = render_skeleton(ts_class(), children=TS_CHILDREN, keep_terms={"applydiscount"})
    assert out.endswith("""\
  total(discount = 0): number {
    // ...
    if (discount > 0) {
      return applyDiscount(sum, discount) * (1 + this.tax);
    }
    // ...
  }
}""")


def test_go_method_multiline_signature() -> None:
    assert (
        render_skeleton(go_method())
        == """\
func (s *Server) Handle(
\tctx context.Context,
\treq *Request,
) (*Response, error) {
\t// ...
}"""
    )
    assert (
        render_skeleton(go_method(), keep_terms={"errorf"})
        == """\
func (s *Server) Handle(
\tctx context.Context,
\treq *Request,
) (*Response, error) {
\t// ...
\tif err != nil {
\t\treturn nil, fmt.Errorf("verify: %w", err)
\t}
\t// ...
}"""
    )


def test_rust_impl_with_where_clause_and_doc_comments() -> None:
    assert (
        render_skeleton(rust_impl(), children=[(8, 10), (12, 14)])
        == """\
impl<T: Clone> Cache<T>
where
    T: Send + Sync,
{
    const CAPACITY: usize = 128;

    /// Creates an empty cache.
    pub fn new() -> Self {
        // ...
    }

    pub fn get<'a>(&'a self, key: &str) -> Option<&'a T> {
        // ...
    }
}"""
    )


def test_java_class_with_annotations() -> None:
    assert (
        render_skeleton(java_class(), children=JAVA_CHILDREN, keep_terms={"save"})
        == """\
@Service
@Transactional(readOnly = true)
public class OrderService {
    private static final Logger LOG = LoggerFactory.getLogger(OrderService.class);
    private final OrderRepository orders;

    public OrderService(OrderRepository orders) {
        // ...
    }

    @Transactional
    public Order place(Cart cart, Customer customer) {
        // ...
        orders.save(order);
        // ...
    }
}"""
    )


def test_module_chunk_keeps_top_level_lines() -> None:
    chunk = make(PY_MODULE, kind="module", qualname=MODULE_SYMBOL)
    assert (
        render_skeleton(chunk)
        == '''\
"""Shopping cart."""

from dataclasses import dataclass

from shop.pricing import apply_discount, tax_for

...  # LineItem (lines 8-17)

TAX_RATE = 0.2

if __name__ == "__main__":
    ...'''
    )


def test_markdown_section_keeps_headings_outside_code_fences() -> None:
    text = (
        "## Install\n\nRun the installer.\n\n```sh\n# not a heading\nmake install\n```\n"
        "\n### Linux\n\nUse the package."
    )
    chunk = make(text, language="markdown", kind="section", qualname="Install", path="README.md")
    assert render_skeleton(chunk) == "## Install\n...\n\n### Linux\n..."


def test_skeleton_lines_map_to_original_line_numbers() -> None:
    lines = skeleton_lines(go_method(), keep_terms={"errorf"})
    assert lines[:2] == [(30, "func (s *Server) Handle("), (31, "\tctx context.Context,")]
    assert (None, "\t// ...") in lines
    assert (39, '\t\treturn nil, fmt.Errorf("verify: %w", err)') in lines
    assert lines[-1] == (42, "}")


# --- signatures and mentions ----------------------------------------------------------


def test_render_signature_python() -> None:
    chunk = make(PY_LONG_DOC, start=40, qualname="parse_config")
    assert (
        render_signature(chunk)
        == '''\
def parse_config(
    path: Path,
    *,
    strict: bool = True,
) -> Config:
    """Read and validate a configuration file."""
    ...'''
    )
    assert (
        render_signature(py_class())
        == '''\
class Auth(BaseAuth):
    """Authenticate users against the token store."""
    ...'''
    )


def test_render_signature_brace_languages() -> None:
    assert (
        render_signature(go_method())
        == """\
// Handle serves one request.
func (s *Server) Handle(
\tctx context.Context,
\treq *Request,
) (*Response, error) {
\t// ...
}"""
    )
    assert (
        render_signature(java_class())
        == """\
@Service
@Transactional(readOnly = true)
public class OrderService {
    // ...
}"""
    )


def test_render_signature_of_long_chunks_reads_the_head_past_the_first_lines() -> None:
    """A long chunk's head is read from its first lines, and further when it goes on: a
    docstring of 150 lines, 60 decorators, or a string opened in the header; the end (a
    closer, the last body line) is read from the whole text either way."""
    body = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(300))
    doc = '    """A long class.\n\n' + "    More words.\n" * 150 + '    """\n'
    long_doc = make(f"class Big:\n{doc}{body}", kind="class", qualname="Big")
    assert render_signature(long_doc) == 'class Big:\n    """A long class."""\n    ...'
    decorated = make(
        "".join(f"@d{i}\n" for i in range(60)) + "class Big:\n" + body,
        kind="class",
        qualname="Big",
    )
    assert render_signature(decorated).splitlines()[-3:] == ["@d59", "class Big:", "    ..."]
    only_doc = make(f"class Big:\n{doc}", kind="class", qualname="Big")
    assert render_signature(only_doc) == 'class Big:\n    """A long class."""'  # no body
    brace = make(
        "public class Big {\n"
        + "".join(f"    int m{i}() {{\n        return {i};\n    }}\n" for i in range(300))
        + "}\n",
        language="java",
        kind="class",
        qualname="Big",
    )
    assert render_signature(brace) == "public class Big {\n    // ...\n}"


def test_render_signature_is_never_longer_than_full() -> None:
    short = make("func F() int {\n\treturn 1\n}", language="go", docstring="F returns one.")
    assert render_signature(short) == short.text


def test_render_mention() -> None:
    login = make(
        "def login(self, user, token):\n    pass",
        qualname="Auth.login",
        start=12,
        signature="def login(self, user: str, token: str = '') -> Session:",
        path="src/auth.py",
    )
    assert render_mention(login) == "src/auth.py:12  Auth.login(user, token)"
    assert render_mention(go_method()) == "server.go:30  Server.Handle(ctx, req)"
    assert render_mention(py_class()) == "src/x.py:10  Auth"
    cases = [
        ("rust", "Cache.get", "pub fn get<'a>(&'a self, key: &str) -> Option<&'a T>", "(key)"),
        ("java", "A.put", "public <K, V> void put(Map<K, V> m, final String key)", "(m, key)"),
        ("typescript", "A.constructor", "constructor(private items: Item[], ...rest: T[])",
         "(items, ...rest)"),
        ("python", "f", "def f(a, *args, b=1, **kwargs) -> dict[str, int]:",
         "(a, *args, b, **kwargs)"),
        ("go", "Sum", "func Sum(a, b int, rest ...int) int", "(a, b, ...rest)"),
        ("c", "main", "int main(void)", "()"),
        ("ruby", "greet", "def greet(name, greeting: 'hi', &blk)", "(name, greeting, &blk)"),
    ]  # fmt: skip
    for language, qualname, signature, args in cases:
        chunk = make("x", language=language, qualname=qualname, signature=signature)
        assert render_mention(chunk) == f"src/x.py:1  {qualname}{args}", signature


def test_render_full_is_the_text() -> None:
    assert render_full(py_class()) == PY_CLASS


# --- robustness -------------------------------------------------------------------


def test_one_liners_and_empty_text() -> None:
    one = make("def f(): return 1")
    assert render_skeleton(one) == "def f(): return 1"
    assert render_signature(one) == "def f(): return 1"
    empty = make("")
    assert render_skeleton(empty) == render_signature(empty) == ""
    assert skeleton_lines(empty) == []


def test_minified_line_is_capped() -> None:
    js = "function a(){" + ";".join(f"var x{i}={{k:'{i}'}}" for i in range(5000)) + "}"
    chunk = make(js, language="javascript", qualname="a")
    out = render_skeleton(chunk)
    assert out == js[:LINE_CAP] + " ..."
    assert len(render_signature(chunk)) <= LINE_CAP + 4


def test_crlf_and_tabs() -> None:
    text = GO_METHOD.replace("\n", "\r\n")
    chunk = make(text, language="go", qualname="Server.Handle")
    out = render_skeleton(chunk)
    assert "\r" not in out
    assert out.startswith("func (s *Server) Handle(\n\tctx context.Context,")
    assert out.endswith("\n\t// ...\n}")


def test_trailing_newline_is_kept() -> None:
    chunk = make(PY_NESTED + "\n", qualname="make_handler")
    assert render_skeleton(chunk).endswith("    ...\n")


SAMPLES = [
    (py_class, PY_CLASS_CHILDREN),
    (lambda: make(PY_LONG_DOC, start=40, qualname="parse_config"), []),
    (lambda: make(PY_NESTED, start=5, qualname="make_handler"), [(9, 11)]),
    (ts_class, TS_CHILDREN),
    (go_method, []),
    (rust_impl, [(8, 10), (12, 14)]),
    (java_class, JAVA_CHILDREN),
    (lambda: make(PY_MODULE, kind="module", qualname=MODULE_SYMBOL), []),
]
TERM_SETS = [set(), {"verify_token"}, {"applydiscount", "tax"}, {"errorf", "route"},
             {"map"}, {"save", "info"}, {"dumps", "loads"}, {"main"}]  # fmt: skip


@pytest.mark.parametrize(("factory", "children"), SAMPLES)
@pytest.mark.parametrize("keep_terms", TERM_SETS)
def test_skeleton_properties(factory, children, keep_terms: set[str]) -> None:
    chunk = factory()
    original = chunk.text.split("\n")
    out = render_skeleton(chunk, keep_terms=keep_terms, children=children)
    lines = skeleton_lines(chunk, keep_terms=keep_terms, children=children)
    assert len(out) <= len(chunk.text)
    assert out == "\n".join(t for _, t in lines) or out == chunk.text
    numbers = [n for n, _ in lines if n is not None]
    assert numbers == sorted(set(numbers))  # original order, no repeats
    for n, text in lines:
        if n is not None:
            assert text == original[n - chunk.start_line]
    for pos, (n, _) in enumerate(lines[:-1]):  # a gap with code in it has a marker
        nxt = lines[pos + 1][0]
        if n is not None and nxt is not None and nxt > n + 1:
            gap = original[n + 1 - chunk.start_line : nxt - chunk.start_line]
            assert not any(g.strip() for g in gap), (n, nxt)
    kept = {n for n, _ in lines}
    for i, line in enumerate(original):
        if keep_terms & set(terms(line)) and '"""' not in line and "///" not in line:
            assert chunk.start_line + i in kept, line
    assert render_skeleton(chunk, keep_terms=keep_terms, children=children) == out  # stable


def test_garbage_never_crashes() -> None:
    rnd = random.Random(1234)
    pieces = ["def ", "class ", "(", ")", "[", "]", "{", "}", ":", ";", "\n", "\n    ", "\n\t",
              "\r\n", '"""', "'''", '"', "'", "`", "/*", "*/", "//", "#", "@", "=>", "end",
              "fn ", "x", "foo", "return 1", "if x:", "\\", "é", "\x00", "\u2028", "'a",
              " "]  # fmt: skip
    languages = ["python", "typescript", "go", "rust", "java", "c", "ruby", "markdown", "yaml",
                 "text", "shell", "lua", "json", "kotlin"]  # fmt: skip
    kinds = ["function", "method", "class", "struct", "module", "section"]
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 60)))
        start = rnd.randint(1, 20)
        n = text.count("\n") + 1
        children = [
            tuple(sorted((rnd.randint(start - 2, start + n), rnd.randint(start - 2, start + n))))
            for _ in range(rnd.randint(0, 3))
        ]
        chunk = make(
            text,
            language=rnd.choice(languages),
            kind=rnd.choice(kinds),
            qualname=rnd.choice([MODULE_SYMBOL, "A.foo", "foo"]),
            start=start,
            signature=text[: rnd.randint(0, 50)],
            docstring=text[: rnd.randint(0, 20)],
        )
        keep = {"foo", "x"} if rnd.random() < 0.5 else set()
        out = render_skeleton(chunk, keep_terms=keep, children=children)
        assert len(out) <= len(text)
        assert len(render_signature(chunk)) <= len(text)
        assert "\n" not in render_mention(chunk)
        numbers = [k for k, _ in skeleton_lines(chunk, keep_terms=keep, children=children) if k]
        assert numbers == sorted(set(numbers))


_CART = """class Cart:
    \"\"\"A cart.\"\"\"

    def __init__(self) -> None:
        self.items = []

    # the sum of the line prices
    @property
    def total(self) -> float:
        \"\"\"Sum.\"\"\"
        s = 0
        for i in self.items:
            s += i
        return s

    def add(self, x):
        self.items.append(x)
"""


def test_full_except_shows_methods_shown_elsewhere_as_signatures_only():
    chunk = make(_CART, kind="class", qualname="Cart", start=10)
    out = render_full_except(chunk, [(17, 23)])  # `total` (decorator to return), lines 17-23
    assert out == (
        "class Cart:\n"
        '    """A cart."""\n'
        "\n"
        "    def __init__(self) -> None:\n"
        "        self.items = []\n"
        "\n"
        "    # the sum of the line prices\n"
        "    @property\n"
        "    def total(self) -> float:\n"
        "        ...\n"
        "\n"
        "    def add(self, x):\n"
        "        self.items.append(x)\n"
    )
    assert render_full_except(chunk, []) == render_full(chunk) == _CART
    assert render_full_except(chunk, [(10, 27)]) == _CART  # itself: nothing inside to elide


def test_full_except_keeps_a_brace_closer_and_long_lines():
    long = "x" * (LINE_CAP + 40)
    text = (
        "class Form {\n"
        f"  label = '{long}';\n"
        "  submit(): void {\n"
        "    send(this);\n"
        "    log();\n"
        "  }\n"
        "}\n"
    )
    chunk = make(text, language="typescript", kind="class", qualname="Form", start=1)
    out = render_full_except(chunk, [(3, 6)])
    assert out == (
        f"class Form {{\n  label = '{long}';\n  submit(): void {{\n    // ...\n  }}\n}}\n"
    )


def test_skeleton_floor_is_a_lower_bound_on_the_skeletons_tokens() -> None:
    """The budget skips rendering a skeleton whose floor is over its cap, so the floor must
    never exceed what the skeleton takes, under either tokenizer."""
    from agentctx.tokens import get_tokenizer

    rng = random.Random(7)
    names = ["get", "set_value", "ÄrgerlichCase", "x2", "_private", "__init__", "déjà_vu"]
    for trial in range(30):
        methods = []
        for i in range(rng.randint(1, 40)):
            name = rng.choice(names) + str(i)
            deco = "    @property\n" if rng.random() < 0.3 else ""
            args = ", ".join(rng.choice(names) for _ in range(rng.randint(0, 30)))
            methods.append(f"{deco}    def {name}(self, {args}):\n        return {i}\n")
        text = "class K:\n    '''Doc.'''\n\n" + "\n".join(methods)
        chunk = make(text, kind="class", qualname="K", start=10)
        lines = text.split("\n")
        kids, line = [], 0
        for m in methods:
            size = m.count("\n")
            start = next(j for j in range(line, len(lines)) if lines[j].strip())
            kids.append((10 + start, 10 + start + size - 1))
            line = start + size
        floor = skeleton_floor(chunk, kids)
        assert floor > 0
        for name in ("cl100k_base", "o200k_base"):
            tokens = get_tokenizer(name).count(render_skeleton(chunk, children=kids))
            assert floor <= tokens, (trial, name)
    # Tight: a class of long signatures is mostly its methods' first lines.
    words = " ".join(["alpha", "beta", "gamma", "delta", "omega"] * 6)
    text = "class K:\n" + "".join(
        f'    def m{i}(self, x="{words}"):\n        return {i}\n' for i in range(50)
    )
    kids = [(11 + 2 * i, 12 + 2 * i) for i in range(50)]
    tight = make(text, kind="class", qualname="K", start=10)
    floor = skeleton_floor(tight, kids)
    for name in ("cl100k_base", "o200k_base"):
        tokens = get_tokenizer(name).count(render_skeleton(tight, children=kids))
        assert 0.6 * tokens < floor <= tokens, name
    # Not Python, or no children: no floor.
    assert skeleton_floor(make("class K {}", language="java", kind="class"), [(1, 1)]) == 0
    assert skeleton_floor(make("class K:\n    x = 1", kind="class"), []) == 0
