"""Query understanding: the strong signals in a question or a bug report.

A bug report names the code it is about far more precisely than its prose suggests:
stack frames give files, lines and functions; the final error line gives the exception
class; backticks and code blocks give identifiers (fenced, indented, or pasted as plain
lines by a tracker without Markdown, ``_Parser._unfenced``). ``parse_query`` pulls these out so
retrieval can boost exact matches, and gives a ``clean_text`` for embedding in which a
100-line traceback is one line of function names plus its error.

Pure and stdlib-only. Every extractor favours precision: a word the parser is unsure
of is left out, because a wrong "strong" term misleads ranking more than a missing one
helps it. All outputs keep the order of first appearance, so they are deterministic.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .textutil import LazyPattern as _lazy
from .textutil import reference_terms

CLEAN_TEXT_LIMIT = 2000
_CODE_BLOCK_LINES = 12  # lines of a code block kept in clean_text
_LOG_BLOCK_LINES = 6  # lines of an output/log block kept in clean_text
_TRACE_FUNCS = 20  # function names kept per collapsed traceback (from both ends)
_ERROR_LINE_CHARS = 300
_LOG_SCAN_LINES = 60  # lines of one output/log block searched for names and paths


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame. Any field may be unknown; a frame has a path or a function."""

    path: str | None  # as written, forward slashes: "src/app/x.py", "/usr/lib/.../y.py"
    line: int | None
    function: str | None  # "send", "Session.send", "Server.Start"
    module: str | None  # "com.example" (Java), "github.com/x/pkg" (Go), "crate::m" (Rust)


@dataclass(frozen=True, slots=True)
class QuerySignals:
    """What ``parse_query`` found. Tuples keep the order of first appearance."""

    text: str
    clean_text: str
    paths: tuple[str, ...]
    dotted: tuple[str, ...]
    identifiers: tuple[str, ...]
    frames: tuple[Frame, ...]
    errors: tuple[str, ...]
    # Names in the title (the first line, when a body follows): a bug report's title
    # names what is broken; the body adds what it was used with.
    title: tuple[str, ...] = ()
    # Long command-line options (``--collect-only``) named in the title, or in a one-line
    # query: the code that defines or handles an option named as broken is where to look.
    options: tuple[str, ...] = ()
    # (program, subcommand) of the shell command lines of a report (`$ flask routes`,
    # `python -m pkg sub`, `python manage.py sub`): a subcommand of the project's own
    # program points at the code that implements it. Retrieval checks the program is the
    # project's.
    commands: tuple[tuple[str, str], ...] = ()
    # Lines of code the report quotes (outside tracebacks, whose source lines the frames
    # stand for), stripped: a line the project's code holds word for word shows where the
    # reporter was reading. Retrieval checks they are the project's code.
    quoted: tuple[str, ...] = ()
    # (ref, path, line) of links to a line of a file on a code host (`.../blob/<ref>/<path>#L42`):
    # the most explicit pointer a report has. Retrieval finds that line in today's code.
    anchors: tuple[tuple[str, str, int], ...] = ()
    # Scripts the report runs by a bare name and names nowhere else (`python repro.py`): the
    # reporter's own, or a file at the repository's root; a nested file of that name is not it.
    scripts: tuple[str, ...] = ()
    # Issues and pull requests the report refers to, as history terms (`ref_1234`): the files
    # of the change that fixed or made it. With the linked repository's name ("" for a bare
    # `#1234`): a link to another project's pull request (`netcdf-c/pull/1317`) is not one.
    references: tuple[tuple[str, str], ...] = ()
    # (repository name or "", SHA) of commits the report says caused it: "This regressed in
    # b473e515", "bisected to ...", a link to `.../commit/<sha>`. A SHA without such words is
    # more often the version the reporter runs (`commit: 69c7e01e` of an environment dump).
    commits: tuple[tuple[str, str], ...] = ()
    # (caller, callee) indexes into ``frames``: each frame of a trace calls the next one.
    calls: tuple[tuple[int, int], ...] = ()
    # Error and warning lines of the report (`TypeError: write() argument must be str, not
    # bytes`, pytest's `E   Right contains more items, ...`), stripped: a format string of
    # the project's code that prints one shows where it came from. Retrieval matches them.
    messages: tuple[str, ...] = ()
    # The module a title opens with as its scope (`latex: ...`, `fix(printing): ...`): the
    # convention of commit messages and of some projects' issue titles.
    scope: str | None = None
    # The title alone, as the dense query reads it, when a body follows ("" for one line):
    # embedded besides the whole text, it is what no line of the body can move.
    title_text: str = ""

    def terms(self) -> list[str]:
        """Strong identifier terms, lowercased and deduplicated, for lexical boosting.

        Dotted names give their last part and any capitalized (class-like) part;
        frame functions give each part of ``Class.method``.
        """
        out: dict[str, None] = {}

        def add(name: str | None) -> None:
            if name and len(name) >= 2 and _IDENT_FULL.match(name):
                out.setdefault(name.lower(), None)

        for name in self.dotted:
            parts = name.split(".")
            for part in parts[1:-1]:
                if part[:1].isupper():
                    add(part)
            add(parts[-1])
        for name in self.identifiers:
            add(name)
        for frame in self.frames:
            if frame.function:
                for part in frame.function.split("."):
                    add(part)
        for name in self.errors:
            add(name)
        return list(out)


# ---------------------------------------------------------------------------------------
# Vocabulary


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Never identifiers, wherever they appear.
_HARD_STOP = _words(
    """
    and as assert async await break class continue def del elif else except finally for
    from global if import in is lambda nonlocal not or pass raise return try while with
    yield None True False self cls this null true false undefined nil var let const
    function new typeof instanceof void fn pub impl mut func package public private
    protected static final abstract extends implements interface throws throw catch
    switch case default goto the a an of to it be on at by we you i
    """
)
# Too common in code to say anything about a query; dropped from code blocks (a
# backticked `all` or `upper` in prose still counts: the author pointed at it).
_CODE_STOP = _HARD_STOP | _words(
    """
    print len str int float bool list dict set tuple type object isinstance issubclass
    range enumerate zip map filter sorted reversed min max sum abs any all open repr hash
    id iter next getattr setattr hasattr delattr super property staticmethod classmethod
    vars dir input format round chr ord bytes bytearray frozenset callable exec eval
    append extend insert pop remove get items keys values update copy join split strip
    lstrip rstrip replace startswith endswith lower upper encode decode read write close
    add np pd plt sns xr tf mpl os sys re json math time console log require exports
    module prototype length push then string char byte long short double boolean
    echo cd ls rm mkdir pip python python3 conda install main args kwargs argv
    """
)
_ALIASES = _words("np pd xr sns plt mpl tf sp nx da dd gpd so pl jnp")
# Capitalized words that start sentences or headings; never class names in prose.
_CAP_STOP = _words(
    """
    The This That These Those However But And Or If When While It Its I We You They He
    She In On At For With Without As So Then Also Note Edit See Here There What Why How
    Which Who Where A An Is Was Are Not No Yes Thanks Please Expected Actual Output Input
    Error Warning Exception Traceback During Result Example Steps Version Versions Update
    Summary Description Problem Solution Workaround Related Environment Context Current
    Behavior Behaviour Reproduce Running Using After Before Now Since Because Some All
    Any My Our Your To From Of By Do Does Did Can Could Should Would Will
    """
)
_CAP_STOP_LOWER = frozenset(w.lower() for w in _CAP_STOP)
# CamelCase words that are product or project names, not code.
_BRANDS = frozenset(
    w.lower()
    for w in _words(
        """
        GitHub GitLab BitBucket JavaScript TypeScript CoffeeScript PyPI PyCharm IPython
        NumPy SciPy PyTorch TensorFlow macOS MacOS MacOSX iOS iPhone iPad iPadOS YouTube
        LinkedIn OAuth PowerShell VSCode WordPress PostgreSQL MySQL MongoDB SQLite GraphQL
        DevOps OpenAI ChatGPT StackOverflow MacBook CPython PyPy JetBrains IntelliJ
        DockerHub CircleCI AppVeyor TravisCI OpenSSL LibreOffice PhD VirtualBox NodeJS
        WebKit FireFox JupyterLab JupyterHub ReadTheDocs CentOS RedHat OpenBSD FreeBSD
        NetBSD WebStorm LaTeX eBay OpenSSH AArch GitPython PyYAML MarkupSafe PySocks
        OpenJDK GraalVM DuckDuckGo WhatsApp PayPal HackerNews MyPy PyInstaller PyQt
        """
    )
)
_ARCH = _words("x86_64 x86 amd64 arm64 aarch64 i386 i686 win32 win_amd64 linux_x86_64")
_HASHY = _lazy(r"\d{5}|^g?(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}$")
_TLDS = _words("com org net edu gov info local localhost")
_JS_LIBS = _words(
    "node.js vue.js next.js nuxt.js d3.js three.js chart.js express.js react.js angular.js"
    " ember.js backbone.js socket.io p5.js"
)

# Extensions that make a token a file path.
_EXTS = _words(
    """
    py pyi pyx pxd pyw ipynb js jsx mjs cjs ts tsx mts cts vue svelte go rs java kt kts
    scala groovy clj cs fs vb c h cc cpp cxx hpp hh hxx inl m mm swift rb rake erb php
    pl pm lua sh bash zsh fish ps1 bat cmd r jl ex exs erl hrl hs ml mli dart zig nim
    sql html htm css scss sass less json jsonc yaml yml toml ini cfg conf xml md rst txt
    csv tsv proto gradle lock mk cmake tf tfvars properties env pth in bzl gql graphql
    tex rdoc adoc gemspec ru haml slim jinja j2 tmpl tpl sol
    """
)
# Extensions that also occur as attributes (``resp.json``, ``self.h``): a bare
# ``stem.ext`` with one of these needs a stem that doesn't look like a variable.
_WEAK_EXTS = _words("c h m r cs ts rs go rb pl ml in sh env json lock conf sql fs vb ex d")
_FILE_EXTS = _EXTS - _WEAK_EXTS
_RECEIVERS = _words(
    """
    self cls this obj np pd os sys re r resp response req request data ctx e err x y z
    args kwargs result res df ds da arr a b f fn app config cfg settings opts options
    """
)
_SPECIAL_FILES = _words(
    """
    Makefile Dockerfile Gemfile Rakefile Pipfile Procfile Jenkinsfile Vagrantfile
    Containerfile Justfile Brewfile .gitignore .gitattributes .editorconfig .flake8
    .dockerignore .gitmodules .env .npmrc .nvmrc .babelrc .eslintrc .prettierrc
    .pylintrc .coveragerc .bashrc .zshrc
    """
)

# ---------------------------------------------------------------------------------------
# Regular expressions

_IDENT_FULL = _lazy(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_IDENT = _lazy(r"(?<![\w$])[A-Za-z_][\w$]*")
_URL = _lazy(r"\b(?:https?|ftp|file|webpack)://[^\s<>\"'`)\]]*|\bwww\.[^\s<>\"'`)\]]+")
_EMAIL = _lazy(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_HTML_COMMENT = _lazy(r"<!--.*?(?:-->|\Z)", re.S)
_CODE_HOST = _lazy(r"https?://(?:www\.)?(?:github|gitlab|bitbucket)\.")
_MD_DUNDER = _lazy(r"(?<=\.)\*\*(\w+)\*\*")  # "Request.**init**" is a mangled __init__
_GITHUB_BLOB = _lazy(r"/(?:blob|blame|tree|raw|src)/(?P<ref>[^/\s]+)/(?P<path>[^\s#?]+)")
_LINE_ANCHOR = _lazy(r"#L(\d{1,7})(?:-L?\d+)?$")
_PATH_TOKEN = _lazy(r"[^\s\"'`()<>\[\]{},;|*=]+")
_PATH_SUFFIX = _lazy(r"(?::(?:line|\d+))+:?$|:$")
_PATH_COMPONENT = _lazy(r"[\w@+.~-]+\Z")
_DOTTED = _lazy(
    r"(?<![\w.$/\\@:-])[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+(?![\w$/\\-]|\.\d|\.[A-Za-z_])"
)
_ERROR_NAME = _lazy(r"(?<![\w.])((?:[A-Za-z_]\w*\.)*([A-Z]\w*(?:Error|Exception|Warning)))(?!\w)")
_ERROR_LINE = _lazy(
    r"""^\s*(?:E\s+|INTERNALERROR>\s*|>\s+)?
    (?:Caused\ by:\s*|Exception\ in\ thread\ "[^"]*"\s+|Unhandled\ exception\.\s*
      |Uncaught\s+(?:\(in\ promise\)\s+)?|--->\s*|raise\s+)?
    (?P<full>(?:[A-Za-z_]\w*\.)*(?P<cls>[A-Z]\w*))(?:\s*:(?:\s(?P<msg>.*))?)?\s*$""",
    re.X,
)
_IPY_HEADER = _lazy(r"^(?P<cls>[A-Z]\w*)\s{2,}Traceback \(most recent call last\)")
_TRACE_HEAD = _lazy(
    r"""^\s*(?:INTERNALERROR>\s*|\+\s*|\|\s*)*(?:
      Traceback\ \(most\ recent\ call\ last\):?
    | (?:\w+\ )?Exception\ Group\ Traceback
    | During\ handling\ of\ the\ above\ exception
    | The\ above\ exception\ was\ the\ direct\ cause
    | goroutine\ \d+\ \[[^\]]*\]:
    | stack\ backtrace:
    | Stack\ trace:
    | Backtrace:
    )""",
    re.X,
)
_TRACE_CTX = _lazy(
    r"""^(?:\s*(?:\.\.\.\ \d+\ more|---\ End\ of|\(\.\.\.\)|\?\?\?|[~^\s]*\^[~^\s]*$
      |-*>\s*\d+\s|\d+\s|Suppressed:)|-{5,}\s*$)""",
    re.X,
)

# Python: File "x.py", line 3, in f   (anywhere on the line: INTERNALERROR>, | prefixes)
_PY_FRAME = _lazy(r'File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>\S+))?')
# IPython 8: File ~/x/y.py:2110, in Dataset.chunks(self)
_IPY_FRAME = _lazy(r"^\s*File (?P<path>[^\s,]+?|<[^>]*>):(?P<line>\d+)(?:, in (?P<func>[\w.<>]+))?")
# pdb: > /x/y.py(10)tearDown()
_PDB_FRAME = _lazy(r"^>\s+(?P<path>\S+?\.py)\((?P<line>\d+)\)(?P<func>[\w<>]+)\(\)")
# IPython 7: ~/x/y.py in _lookup_single(self, key)
_IPY_OLD_FRAME = _lazy(
    r"^(?P<path>\S+\.pyx?|<ipython-input-[^>]*>) in (?P<func>[\w<>.]+)(?:\(|\s*$)"
)
# pytest: src/_pytest/python.py:123: in pytest_pyfunc_call | path/test_x.py:45: AssertionError
_PYTEST_FRAME = _lazy(
    r"^\s*(?P<path>(?:[A-Za-z]:)?[^\s:]+|<[^>]+>):(?P<line>\d+): "
    r"(?:in (?P<func>\S+)|(?P<err>[A-Z]\w*))\s*$"
)
# Java / Kotlin / C#: at com.x.Foo.bar(Foo.java:42) | at N.C.M(String s) in C:\x\F.cs:line 42
_AT_QUAL_FRAME = _lazy(
    r"^\s*at (?P<qual>[^\s(]+)\((?P<inner>[^)]*)\)"
    r"(?:\s+in\s+(?P<cspath>.+?):line\s+(?P<csline>\d+))?\s*(?:~?\[[^\]]*\])?\s*$"
)
_JAVA_LOC = _lazy(r"(?P<file>[\w$.-]+\.[A-Za-z]+):(?P<line>\d+)\Z")
# JavaScript (V8): at Object.fn (/app/x.js:10:5) | at /app/x.js:10:5 | at async fn (file:///x.mjs:3:9)
_JS_FRAME = _lazy(
    r"^\s*at (?:async )?(?:new )?(?:(?P<func>[^\s(][^(]*?)\s+(?:\[as [^\]]+\]\s+)?"
    r"\((?P<loc>[^()]*)\)|(?P<bare>\S+:\d+(?::\d+)?))\s*$"
)
_JS_LOC = _lazy(r"^(?P<path>.+?):(?P<line>\d+)(?::\d+)?\Z")
# JavaScript (Firefox/Safari): fn@http://host/y.js:1:2
_JS_AT_FRAME = _lazy(
    r"^\s*(?P<func>[\w$.<>/]*)@(?P<loc>(?:[a-z][\w+.-]*:)?[^\s@]+?):(?P<line>\d+):\d+\s*$"
)
# Go: a function line followed by "\t/path/x.go:42 +0x1d"
_GO_PATH = _lazy(r"^\s+(?P<path>\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-fA-F]+)?\s*$")
# Rust
_RUST_PANIC = _lazy(r"panicked at (?:'.*', |\".*\", )?(?P<path>[^\s:'\"]+\.rs):(?P<line>\d+)")
_RUST_FRAME = _lazy(r"^\s*(?P<n>\d+):\s+(?:0x[0-9a-fA-F]+ - )?(?P<func>[\w<][^\s]*)\s*$")
_RUST_AT = _lazy(r"^\s+at (?P<path>\S+?):(?P<line>\d+)(?::\d+)?\s*$")
# Ruby: app/models/user.rb:10:in `save'   | from app/x.rb:3:in 'User#save': msg (NoMethodError)
_RUBY_FRAME = _lazy(
    r"^\s*(?:from\s+)?(?P<path>[^\s:]+):(?P<line>\d+):in"
    r" [`'](?P<func>[^']+)'(?::\s*(?P<msg>.*))?$"
)
_RUBY_ERROR = _lazy(r"\((?P<cls>[A-Z]\w*(?:::[A-Z]\w*)*)\)\s*$")

# A Markdown code fence opening or closing a block (also how a bench rewrite drops them).
CODE_FENCE = _lazy(r"^\s{0,3}(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+#.-]*)")
_BACKTICKS = _lazy(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
# A package and its version: "pytest 7.1.2", "numpy==1.23.5", "python: 3.9.7 (default, ...)",
# with a key of two or three words before a colon ("Python version: 3.9.7"); or a package
# manager's table row, columns two spaces apart or more (`conda list`'s name, version, build
# and channel: "numpy    1.23.5    py310h5f9d8c6_0    conda-forge"); or the platform string
# `platform.platform()` prints ("Linux-5.15.0-56-generic-x86_64-with-glibc2.35").
_VERSION_LINE = _lazy(
    r"^\s*[A-Za-z][\w.\-\[\]]*(?:\s*[:=]=?\s*|\s+|\s*[<>~!]=\s*|(?:\ [A-Za-z][\w.\-]*){1,2}:\s*)"
    r"(?:None|unknown|v?\d+(?:\.\d+)*[\w.+-]*)\s*(?:[(\[].*[)\]]|(?:[A-Za-z]:|~|\.)?[/\\]\S*)?\s*$"
    r"|^\s*[A-Za-z_][\w.\-]*\ {2,}v?\d+(?:\.\d+)*[\w.+\-]*(?:\ {2,}[\w.+\-/:]+){1,2}\s*$"
    r"|^\s*(?:Linux|macOS|Darwin|Windows|FreeBSD|OpenBSD|NetBSD|SunOS|AIX|CYGWIN_NT|MSYS_NT"
    r"|MINGW\d*_NT)-\d[\w.\-]*\s*$"
)
# A statement of the reporter's environment, bulleted or not: the operating system ("OS: macOS
# 12.1", "Operating system: Ubuntu 22.04"), how the package was installed ("Installed via pip",
# "Installation: conda"), or that it is the latest release ("I am on the latest release.",
# "Tested on the latest main."), or the versions it runs ("I'm using VS Code 1.74 on Windows 11.",
# "For reference, I'm using python 3.5.1 and requests 2.10.0."). Read as a version line.
_OS_NAME = (
    r"(?:linux|ubuntu|debian|fedora|centos|rhel|red\s?hat|arch(?:\s?linux)?|manjaro|alpine"
    r"|opensuse|suse|mint|mac\s?os(?:\s?x)?|osx|os\s?x|darwin|windows|win\d*|wsl\d?|freebsd)"
)
_ENV_STATEMENT = _lazy(
    rf"""^\s*(?i:(?:os|operating\ system|platform|system|distro|distribution)\s*:\s*{_OS_NAME}
    (?![\w])[\w.\ ()/,+-]{{0,40}}
    |(?:installed|installation)(?:\s+(?:via|with|from|using|through))?\s*:?\s*(?:pip3?|conda
    |mamba|conda-forge|poetry|pipenv|uv|source|git|apt|brew|homebrew)(?![\w-])[\w.\ ()-]{{0,20}}
    |(?:i\s+am|i'm|i\s+was|tested|reproduced|this\s+happens)\s+(?:on|using|running|with)\s+(?:the\s+)?
    (?:latest|newest|current|most\s+recent)\s+(?:release|version|master|main|commit)[.!]?
    |(?:(?:for\s+(?:reference|the\s+record)|fwiw|btw|also|note)\s*[,:]?\s+)?(?:i\s+am|i'm|we\s+are
    |we're)\s+(?:using|running|on)\s+[\w.+-]+(?:\s+[\w.+-]+)?\s+v?\d+(?:\.\d+)+(?:\s*,?\s+(?:on|with|and
    |in|under)\s+[\w.+-]+(?:\s+[\w.+-]+)?(?:\s+v?\d+(?:\.\d+)*)?)*\s*[.!]?)\s*$""",
    re.X,
)
# A heading of one word below the title ("Description" under a Trac ticket's title,
# "Output:", "Environment"): a label, no words of the report's own.
_HEADING_WORD = _lazy(r"^\s*[A-Z][a-z]+:?\s*$")
# A section label of a tool's environment dump ("System:", "Python dependencies:"; one or two
# words): part of the run. A reporter's own line ("Result of pylint --version output:") is not.
_DUMP_LABEL = _lazy(r"^\s*[A-Za-z][\w.\-]*(?: [\w.\-]+)?:\s*$")
# A key and a short value ("OS: Linux", "Extra tools: none"): noise in a run of version lines.
_KV_LINE = _lazy(
    r"^\s*[A-Za-z][\w.\-]*(?: [A-Za-z][\w.\-]*){0,2}\s*:\s+\S[^:]{0,60}$|^\s*\[[^\]]*\]\s*$"
)
# A tracker's edit stamp ("(last modified by ...)" under a Trac ticket's description,
# indented like code): no words of the report's own, wherever it stands.
_EDIT_STAMP = _lazy(r"^\s*\((?:last )?(?:modified|edited|updated) by [^)]*\)\s*$")
# A line of courtesy below the title: a greeting ("Hi all,", "Hello @maintainer!"), thanks
# ("Thanks!", "Thanks in advance.", "Thanks for the great library!") or a sign-off ("Best
# regards,"), a plea ("Any help is appreciated.") or people called in ("cc @jdoe @asmith"). No
# words of the report's own: in the dense text they only move the vector (a "Hi all," under
# every dev report's title moved seven ranks). "Thanks to ..." and "Thanks for X, but Y ..."
# say more, and stay.
_SOCIAL = _lazy(
    r"""^\s*(?i:(?:hi|hello|hey|dear|greetings|good\ (?:morning|afternoon|evening))
    (?:\s+(?:all|everyone|everybody|there|team|folks|guys|maintainers|devs|developers
    |@[\w-]+)){0,2}\s*[,!.:]?
    |(?:many\s+)?(?:thanks|thank\s+you|thx)(?:\s+(?:so\s+much|a\s+lot|again|in\s+advance
    |all|everyone|guys|folks))*(?:\s+for\b[^.!?,;:]{0,60})?\s*[,!.:)]*
    |(?:cheers|regards|kind\s+regards|best\s+regards|best\s+wishes|all\s+the\s+best|best
    |sincerely|thanks\s+and\s+regards)\s*[,!.]*
    |any\s+(?:help|ideas?|hints?|pointers?|advice|feedback|suggestions?)(?:\s+(?:is|are
    |would\s+be|will\s+be))?(?:\s+(?:much|greatly|highly|really|very\s+much))?\s+appreciated
    \s*[,!.]*
    |/?cc:?(?:\s+(?:and\s+)?@[\w-]+,?)+\s*[.!]?
    |(?:please\s+)?(?:do\s+)?let\s+(?:me|us)\s+know\s+(?:if|whether)(?:\s+[a-z']+,?){1,12}\s*[.!?]*
    |(?:I'?d\s+|I\s+would\s+|I'?m\s+|I\s+am\s+|we'?d\s+|we\s+would\s+|we'?re\s+|we\s+are\s+)?
    (?:be\s+)?(?:(?:more\s+than\s+)?happy|glad|willing)\s+to\s+(?:help|contribute|provide\s+(?:more\s+)?
    (?:info(?:rmation)?|details?)|(?:open|submit|make|send|create|file|prepare|work\s+on)\s+a\s+(?:PR
    |pull\s+request|patch|fix))(?:\s+(?:for|with)\s+(?:this|that|it|a\s+fix))?(?:\s+to\s+fix\s+(?:this
    |it))?(?:\s+if\s+[^`.!]{0,40})?\s*[.!]*
    |(?:if\s+[^,`]{1,60},\s*)?(?:I|we)(?:\s+(?:can|could|would|will|may)|'d|'ll)\s+(?:(?:be\s+)?
    (?:happy|glad|willing)\s+to\s+)?(?:open|submit|make|send|create|prepare)\s+a\s+(?:PR|pull\s+request
    |patch|fix)(?:\s+for\s+(?:this|that|it)|\s+to\s+fix\s+(?:this|it))?(?:\s+if\s+[^`.!]{0,40})?
    \s*[.!]*
    |I\s+(?:have\s+)?(?:searched|looked|checked)\s+(?:through\s+|for\s+)?(?:the\s+)?(?:existing
    |open|closed|other|previous|past|similar)?\s*(?:and\s+closed\s+)?issues(?:\s+(?:and|but)
    \s+(?:could\s*n[o']?t|did\s*n[o']?t|can\s*n[o']?t|cannot)\s+find\s+(?:anything|something|any
    |one|a\s+similar\s+(?:one|issue)|this|it)(?:\s+(?:similar|related|like\s+(?:this|it)))?)?\s*[.!]*
    |I\s+(?:could\s*n[o']?t|did\s*n[o']?t|can\s*n[o']?t|cannot)\s+find\s+(?:an?\s+|any\s+)?
    (?:existing|similar|related|open|other)?\s*issues?(?:\s+(?:about|for|on|like)\s+(?:this|that|it))?
    \s*[.!]*
    |(?:here\s+is|here's|below\s+is|this\s+is|see|please\s+find)\s+(?:below\s+)?(?:a|an|the|my)?\s*
    (?:(?:minimal|small|simple|short|complete|self-contained|working|quick),?\s+)*(?:(?:reproducible
    |reproducing|runnable|code)\s+)?(?:example|code|snippet|reproducer|repro|script|test\s+case|MWE
    |MRE|reproduction)(?:\s+(?:below|to\s+reproduce(?:\s+(?:it|this|the\s+(?:issue|problem|bug)))?
    |that\s+reproduces\s+(?:it|this|the\s+(?:issue|problem|bug|error))))?\s*[:.!]*
    |(?:the\s+)?following\s+(?:(?:minimal|small|simple|short)\s+)?(?:code|snippet|script|example
    |test|program)\s+(?:reproduces|shows|demonstrates|triggers)\s+(?:the|this|my)?\s*(?:issue|problem
    |bug|error|behaviou?r)\s*:
    |(?:(?:minimal|reproducible|complete)\s+)*(?:example|reproducer|MWE|MRE|reproduction)\s*:
    |(?:code|steps)\s+to\s+reproduce(?:\s+(?:it|this|the\s+(?:issue|problem|bug)))?\s*:?)\s*$""",
    re.X,
)
# A reporter's checked statement about the report ("- [x] I have checked that this issue has
# not already been reported."): a template's checklist, when the template is not in the
# repository to be recognized (an organisation-wide one). First person, no code: a to-do
# list's items ("- [ ] Support `x` in `y`") stay.
_PLEDGE = _lazy(r"^\s*[-*+]\s+\[[ xX]\]\s+(?:I\b|I'|My\b)[^`]*$")
# A shell prompt: an environment's name (`(venv) `), then the mark (`$`, `%`,
# `user@host:~/dir$`, `C:\\x>`, `PS C:\\x>`); environment commands also take a bare `>`.
_PROMPT_ENV = r"(?:\([\w.-]+\)\s*)?"
_PROMPT_MARK = r"(?:[\w.@~:/-]*[$%]|(?:PS\s+)?[A-Za-z]:\\[^>]*>)"
# The interpreter and the file of a script run by a bare name (`python3 repro.py`).
_SCRIPT_PYTHON = r"(?:python[\d.]*|py)"
_SCRIPT_FILE = r"[\w-][\w.-]*\.py"
# A command that sets up, lists or installs a Python environment (`$ pip freeze`, `conda
# list`, `python -m pip install -e .`, `python -m venv .venv`, `source .venv/bin/activate`,
# `conda activate env`), or fetches and enters a checkout (`git clone <url>`, `cd example`),
# with no pipe or second command after it; at a prompt or as a Dockerfile's `RUN`.
_ENV_COMMAND_RE = (
    rf"(?:{_PROMPT_ENV}(?:{_PROMPT_MARK}|>)\s*|RUN\s+)?"
    r"(?:(?:python[\d.]*\s+-m\s+)?(?:pip\d?|conda|mamba|poetry|pipenv)\s+"
    r"(?:freeze|list|show|info|install|uninstall|create|activate|deactivate)"
    r"|(?:python[\d.]*\s+)?(?:\./)?setup\.py\s+"
    r"(?:develop|install|build_ext|build|sdist|bdist_wheel|egg_info)"
    r"|(?:python[\d.]*\s+-m\s+)?(?:venv|virtualenv)(?=\s)|(?:source|\.)\s+\S*activate"
    r"|[\w.\\/-]*[\\/]activate(?:\.bat|\.ps1)?|deactivate|git\s+clone|cd(?=\s+[^\s|;&]+\s*$))"
    r"\b[^|;&]*$"
)
_ENV_COMMAND = _lazy(r"^\s*" + _ENV_COMMAND_RE)
# A line that only runs the reporter's script by a bare name, with no arguments (`$ python
# run.py`, a Dockerfile's `CMD ["python", "main.py"]`): the script's name is the reporter's
# (``_scripts`` still reads it), the line no words of the bug.
_SCRIPT_LINE_RE = (
    rf"(?:{_PROMPT_ENV}(?:{_PROMPT_MARK}|>)\s*|(?:RUN|CMD|ENTRYPOINT)\s+)?"
    rf"{_SCRIPT_PYTHON}(?:\.exe)?(?:\s+-[A-Za-z]+)*\s+{_SCRIPT_FILE}\s*$"
    rf"|(?:CMD|ENTRYPOINT)\s*\[\s*\"{_SCRIPT_PYTHON}\"\s*,(?:\s*\"-[A-Za-z]+\"\s*,)*"
    rf"\s*\"{_SCRIPT_FILE}\"\s*\]\s*$"
)
_SCRIPT_LINE = _lazy(r"^\s*(?:" + _SCRIPT_LINE_RE + ")")
# A list item of one package-like word (`- pip`, `- conda-forge` of an `environment.yml`):
# part of a run of version lines it stands in, as a key-value line is.
_BARE_ITEM = _lazy(r"^\s*[-*]\s+[A-Za-z][\w.\-]*\s*$")
# A script run by a bare name: `python repro.py`, `python3 -u run.py`, `py bug.py`, and a
# Dockerfile's `CMD ["python", "main.py"]`.
_SCRIPT_RUN = _lazy(
    rf"(?<![\w./\\-]){_SCRIPT_PYTHON}(?:\.exe)?(?:(?:\s+|\"\s*,\s*\")-[A-Za-z]+)*(?:\s+|\"\s*,\s*\")"
    rf"({_SCRIPT_FILE})(?![\w/\\.-])"
)
# Lines that say nothing of the bug wherever they stand: rules and banners, pytest's session
# header, lone HTML tags, an issue form's empty field (`_No response_`), GitHub's "Originally
# posted by" line, a link with only a lead-in ("See also <url>", "Related: <url>"; a linked
# issue still counts, and a link to a file of a repository is no such line), `conda list`'s and
# `pip list`'s headers, a command that lists or installs the environment (`$ pip freeze`,
# `conda list`, `pip install -e .`), and pip's own output while it installs.
_NOISE_LINE = _lazy(
    r"""^\s*(?:[-=_*~+#.]{3,}\s*$|[=_]{3,}.*[=_]{3,}\s*$
    |(?:platform|rootdir|plugins|cachedir|configfile|collected|collecting|INSTALLED\ VERSIONS)\b
    |</?(?:details|summary|br|p|tt|sub|sup|b|i|code|pre)\b[^>]*>\s*$
    |_No\ response_\s*$
    |[>\s]*[_*]?Originally\ posted\ by\ @[\w-]+(?:\ in\ \S+?)?[_*]?\s*$
    |(?i:(?!.*/(?:blob|blame|tree|raw|src)/)(?:[-*+>]\s*)?(?:see(?:\ also)?|also\ see
    |related(?:\ to)?|(?:possibly|maybe|probably)\ related(?:\ to)?|similar\ to|refs?
    |references?|cf\.?|source
    |links?|more\ (?:info|details)|xref|x-ref|upstream|discussion)\s*:?\s*
    (?:(?:https?://|www\.)\S+[\s,]*)+)$
    |\#\s*$|\#\s*packages\ in\ environment\ at\b|\#\s*Name\s+Version\s+Build\b
    |(?:Package|Name|Library|Module)\s+Version\s*$
    |"""
    + _ENV_COMMAND_RE
    + "|"
    + _SCRIPT_LINE_RE
    + r"""
    |(?:Collecting|Obtaining)\ [^\s(]+(?:\ \(from\ [^)]*\))?\s*$
    |(?:Downloading|Using\ cached)\ \S+(?:\ \([\d.]+\ ?[kMG]?B\))?\s*$|Uninstalling\ \S+:\s*$
    |(?:Requirement\ already\ satisfied|Installing\ collected\ packages|Stored\ in\ directory
    |Attempting\ uninstall|Found\ existing\ installation|Looking\ in\ indexes):\s
    |Successfully\ (?:installed|built|uninstalled)(?:\ [\w.\-]+-\d[\w.+\-]*)+\s*$
    |(?:Building\ wheels?\ for|Created\ wheel\ for|Running\ setup\.py\ (?:develop|install)\ for)\s
    |(?:Preparing\ metadata|Installing\ build\ dependencies|Getting\ requirements\ to\ build)\b.*
    (?:done|finished|error)\s*$)""",
    re.X,
)
# A line of code that only prints the versions of the reporter's environment, as issue
# templates ask (`import numpy; print("Numpy", numpy.__version__)`, `print(sys.version)`,
# `platform.platform()`, `xr.show_versions()`, `astropy.system_info()`, at a prompt or in
# `python -c`): statements split by `;`, each an import, or a print of (or a bare) version
# expression and string literals. Its names (`platform`, `version`, `sys`) are the
# environment's, not the bug's.
_VERSION_EXPR = (
    r"(?:[A-Za-z_]\w*+\.)++(?:__version__|(?<=\bversion\.)(?:full_)?version\b"
    r"|(?<=\bsys\.)version(?:_info)?\b|show_versions\(\)|system_info\(\)|(?<=\bplatform\.)(?:platform"
    r"|python_version|system|release|version|machine|uname|python_implementation|architecture"
    r"|mac_ver|win32_ver)\(\))"
)
_PRINT_ARG = rf"""(?:{_VERSION_EXPR}|[fFrRuU]?"[^"\n]*"|[fFrRuU]?'[^'\n]*')"""
_VERSION_STATEMENT = (
    rf"(?:(?:from\s+[\w.]+\s+)?import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*"
    rf"|print\(\s*{_PRINT_ARG}(?:\s*,\s*{_PRINT_ARG})*\s*(?:,\s*sep\s*=\s*\S+\s*)?\)"
    rf"|{_VERSION_EXPR})"
)
_VERSION_STATEMENTS = rf"{_VERSION_STATEMENT}(?:\s*;\s*{_VERSION_STATEMENT})*\s*;?"
_VERSION_PROBE = _lazy(
    rf"^\s*(?:(?:>>>|\.\.\.)\s*|In\s*\[\d*\]:\s*)?{_VERSION_STATEMENTS}\s*$"
    rf"|^\s*(?:[$>%]\s*)?python[\d.]*\s+-c\s+(?P<q>[\"']){_VERSION_STATEMENTS}(?P=q)\s*$"
)
_VERSION_CALL = _lazy(  # one of them, found in linear time (a cheap check first)
    r"\.__version__|\bsys\.version|\.version\.(?:full_)?version\b|\.(?:show_versions|system_info)\(\)"
    r"|\bplatform\.\w+\(\)"
)
_CODE_HINT = _lazy(
    r"""\s*(?:>>>|import\s|from\s+\S+\s+import\s|def\s|class\s|return\b|if\s.*:$|for\s.*:$
    |with\s|@\w|func\s|fn\s|let\s|const\s|var\s|public\s|private\s|\#include|package\s
    |[\w.\[\]]+\s*[-+*/]?=[^=])""",
    re.X,
)
_LOG_HINT = _lazy(r"\s*(?:\$ |>\s|E\s{2,}|\*{3,}|\[\d|\d{4}-\d\d-\d\d|INFO|DEBUG|WARN|ERROR)")
_LINT_LINE = _lazy(r":\d+:\d+: [A-Z]\d{4}")
# Code and tool output pasted as plain lines, with no fence around them (trackers without
# Markdown: Trac, Bugzilla, mailing lists; see ``_Parser._unfenced``). A line of code: a
# statement's keyword, an assignment, a call on its own; more keywords than ``_CODE_HINT``.
_BARE_CODE = _lazy(
    r"""\s*(?:(?:else|try|finally)\s*:|(?:elif|while|except|async\s+def|raise|assert|yield
    |del|pass\b|break\b|continue\b|lambda\b)|(?:await\s+)?[A-Za-z_][\w.]*(?:\[[^\]]*\])?\(.*\)
    [\s;,]*$)""",
    re.X,
)
# A line of a tool's output: a linter's finding, pylint's module banner, a timestamp, a log
# level, a test outcome, a progress mark, a shell prompt.
_BARE_LOG = _lazy(
    r"""\s*(?:\*{5,}\s*\w|\[?\d{4}-\d\d-\d\d[ T]\d\d:|(?:INFO|DEBUG|WARNING|WARN|ERROR|CRITICAL)
    (?:\s*[:\]|-]|\s+\d)|(?:PASSED|FAILED|SKIPPED|XFAIL|XPASS)\b|\S+::\S+\s+(?:PASSED|FAILED
    |SKIPPED|ERROR|XFAIL|XPASS)\b|.*\[\s*\d+%\]\s*$|\$\s+\S)""",
    re.X,
)
# A line of a configuration file (INI, TOML, setup.cfg): a section header, `key = value`;
# or data: a JSON or dict entry (`"version": "2.0.9",`, `{'units': 'degK',`).
_BARE_CONFIG = _lazy(r"\[[\w.\-\" ]+\]$|[\w.-]+\s*=\s*\S|[{\[]?\s*(?:\"[^\"]*\"|'[^']*')\s*:")
# A label before what it names: "Output:", "Session traceback:", "Expected result:".
_LABEL = _lazy(r"[A-Z][A-Za-z]*(?: [A-Za-z]+){0,3}:$")
# Code whatever words follow: an import, a definition, a decorator, a prompt.
_STRONG_CODE = _lazy(
    r"(?:import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*\s*$"
    r"|from\s+[\w.]+\s+import\s|(?:async\s+)?def\s+\w+\s*\(|class\s+\w+\s*[(:]|@[\w.]+|>>>\s)"
)
_OTHER = "other"  # neither prose nor clearly code or output: goes with its neighbours
_CODE_LANGS = _words(
    """
    python py python3 py3 pycon ipython js javascript jsx ts typescript tsx go golang rust
    rs java kotlin kt scala c cpp c++ cxx h hpp cs csharp c# fsharp ruby rb php swift r
    julia lua dart elixir haskell perl objc objective-c zig nim vue svelte sql
    """
)
_TEXT_LANGS = _words(
    """
    text txt plain console shell sh bash zsh fish powershell ps1 bat cmd log output out
    pytb python-traceback traceback pytest ini toml yaml yml cfg json xml html csv diff-
    none nohighlight
    """
)
_DIFF_LANGS = _words("diff patch")
_STRING = _lazy(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'")
_MD_PREFIX = _lazy(r"^\s{0,3}(?:#{1,6}\s+|>(?!>)\s?|[-*+]\s+\[[ xX]\]\s+)")
# A Markdown heading ("### Operating system") or a bold line standing as one ("**OS**").
_FIELD_HEADING = _lazy(r"^\s{0,3}(?:#{1,6}\s+(?P<h>[^#\n]+?)\s*#*|\*\*(?P<b>[^*\n]+?)\*\*)\s*$")
_EMPTY_LINK = _lazy(r"\]\(\s*\)")
_TABLE_RULE = _lazy(r":?-{3,}:?")
# Markdown's underscore emphasis around words (`_Originally posted by ..._`, `_really_ slow`):
# the marks are no part of a word; `_private` and `snake_case` names have no space inside.
_UNDERSCORE_EMPHASIS = _lazy(r"(?<![\w`])_(?=[^\s_])([^_`\n]*?\s[^_`\n]*?)(?<=[^\s_])_(?![\w`])")
_DOTTED_NUMBER = _lazy(r"\d\.\d")
# GitHub's emoji shortcodes standing alone (`:+1:`, `:tada:`, `:white_check_mark:`): no words
# of the report (a reST field such as `:returns:` is no emoji's name, and stays).
_EMOJI = _lazy(
    r"(?<!\S):(?:\+1|-1|thumbsup|thumbsdown|tada|pray|smile|smiley|slightly_smiling_face|grin"
    r"|grinning|laughing|joy|sweat_smile|wink|blush|heart|heavy_heart_exclamation_mark_ornament"
    r"|rocket|eyes|confused|thinking|thinking_face|sob|cry|disappointed|worried|ok_hand|clap"
    r"|raised_hands|muscle|point_right|point_up|point_down|white_check_mark|heavy_check_mark"
    r"|x|exclamation|question|bulb|boom|zap|sparkles|star|fire|100|facepalm|shrug|man_shrugging"
    r"|woman_shrugging|upside_down_face|partying_face|hugs|hugging_face|relieved|smirk"
    r"|stuck_out_tongue|sunglasses|see_no_evil|warning|construction|memo|wave):(?!\S)"
)
# A pasted image whose alt text is the placeholder a code host gives it ("image", a
# screenshot's default name "Screen Shot 2023-01-05 at 2.32.10 PM"): no words of the report.
_PLACEHOLDER_IMAGE = _lazy(
    r"!\[\s*(?:image|img|screenshot|screen\s?shot|capture|grafik|bildschirmfoto|imagen|untitled)"
    r"(?![a-z])[^\]\n]*\]\([^)\n]*\)",
    re.I,
)
_WS = _lazy(r"\s+")
_GENERIC_ERRORS = _words("Error Exception Warning BaseException Throwable")
_EXCEPTION_LIKE = _lazy(r"(?:Error|Exception|Warning|Interrupt|Exit|Iteration)$")
_CS_INNER = _lazy(r"--->\s+[A-Za-z_]")
_ARROW = _lazy(r"^-*>\s*(\d+)\s")
_ERR_PREFIX = _lazy(r"^\s*(?:E\s+|INTERNALERROR>\s*|>\s+)")
_LIST_ITEM = _lazy(r"[-*+]\s|\d+\.\s")
# A list item's bullet (not a task list's box): what follows is read as a line of its own.
_BULLET = _lazy(r"^\s*(?:[-*+]|\d+\.)\s+(?!\[[ xX]\])")
_COMMA = _lazy(r"\s*,\s*")
_AS = _lazy(r"\s+as\s+")
_BARE = _lazy(r"\.?([A-Za-z_]\w*(?:(?:\.|::)[A-Za-z_]\w*)*)(?:\(\))?")
_SCOPE_SEP = _lazy(r"\.|::")
_OPTION = _lazy(r"--?([A-Za-z][\w-]*)(?:[= ].*)?")
# A long option in running text: not part of a word, path or flag-like run (`a--b`, `---`).
_LONG_OPTION = _lazy(r"(?<![\w/.\\-])--[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*(?![\w-])")
_WIN_PATH = _lazy(r"[A-Za-z]:\\|[\w.~-]+\\[\w.~-]")
_DRIVE = _lazy(r"[A-Za-z]:\Z")
_HAS_ALPHA = _lazy(r"[A-Za-z_]")
_CAMEL = _lazy(r"[a-z0-9][A-Z]|[A-Z]{2,}[a-z]{2,}")
_HEXISH = _lazy(r"[0-9a-fA-F_]*\d[0-9a-fA-F_]*")
_VERSIONISH = _lazy(r"(?:v|py|python)\d+\w*")
_DIFF_MARK = _lazy(r"^[+-](?![+-])")
_DOCTEST = _lazy(r"^\s*(?:>>>|\.\.\.)\s")
_COMMENT = _lazy(r"(?:^|\s)(?:#|//)")
_IMPORT = _lazy(r"^\s*(?:from\s+([\w.]+)\s+)?import\s+(.*)$")
_TAG = _lazy(r"</?\w+[^>]*>")
# The kinds of change of Conventional Commits (`fix(parser): ...`, `feat!: ...`).
_CHANGE_KINDS = (
    *("feat", "fix", "docs", "style", "refactor", "perf", "test", "tests", "build", "ci"),
    *("chore", "revert"),
)
_CHANGE_KIND = "(?:" + "|".join(_CHANGE_KINDS) + ")"
# Such a prefix opening a line: the kind of a change, not a call of a function named `fix`.
_COMMIT_TYPE = _lazy(rf"\s*{_CHANGE_KIND}(?:\([^()\n]*\))?!?:\s")
# A title that opens with the module it is about: `latex: ...`, `fix(autodoc): ...`. Lowercase
# only (`ENH:`, `BUG:`, `REGRESSION:` are kinds of change), and not a word a title opens
# with for other reasons.
_TITLE_SCOPE = _lazy(rf"\s*(?:{_CHANGE_KIND}\(([a-z_][a-z0-9_]*)\)|([a-z_][a-z0-9_]*))!?:\s")
_NOT_SCOPES = frozenset(
    {
        *_CHANGE_KINDS,
        *("doc", "bug", "bugfix", "enh", "maint", "wip", "note", "update", "question"),
        *("feature", "regression", "proposal", "idea", "request", "typo", "todo", "example"),
        *("summary", "problem", "description", "edit", "hi", "hello", "re"),
    }
)
# Prose words worth a closer look: snake/_private/dunder, CamelCase, calls.
_PROSE_CAND = _lazy(
    r"""(?<![\w$])(?:
      _\w+
    | [A-Za-z][A-Za-z0-9]*_\w*
    | [A-Za-z][A-Za-z0-9]*?[a-z0-9][A-Z]\w*
    | [A-Z]{2,}[a-z]{2,}\w*
    | [A-Za-z_]\w*(?=\()
    )(?![\w$])""",
    re.X,
)

REFERENCES_MAX = 5  # issues and pull requests looked up per report
COMMITS_MAX = 3  # commits read per report (one git process each)
_COMMIT_LINK = _lazy(r"/commits?/([0-9a-fA-F]{7,40})\b")
# Words that name a commit as the cause, then (within the sentence) its SHA: hex with a
# letter and a digit, 7 to 40 long.
_CAUSE_HINT = _lazy(
    r"(?i)regress|introduc|caus|broke|bisect|first bad|culprit|since commit|after commit"
)
_CAUSE = _lazy(
    r"(?i)(?:regress(?:ed|ion)?|introduced|caused|broken|broke|bisect(?:ed|ing)?|first bad"
    r"|culprit|since|after)\b[^.\n]{0,60}?(?<![\w/])((?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])"
    r"[0-9a-f]{7,40})\b"
)
# A URL on a code host: the repository's name, then the rest (`/pull/1746`, `/blob/...`).
_HOSTED = _lazy(
    r"https?://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org)/[\w.-]+/([\w.-]+)(/[^\s)>\]]*)?"
)
# A quoted line: this long, with a call, an assignment, an index or a colon of a block or
# a mapping (prose with a colon passes too; the project's code decides).
QUOTED_MIN_CHARS = 16
QUOTED_MAX_CHARS = 200  # longer: data or generated code, and a costly search
# A name this long at least (`builtin_str`, `fixturedef`): a line of only short, common words
# (`for i in range(len(args)):`) is in too many places to say where, and costs the most.
QUOTED_NAME_CHARS = 6
QUOTED_MAX_LINES = 20  # a huge paste: its first lines (each is one search, 1-4 ms on sympy)
# A line that reads as an error or warning message: it opens (after pytest's `E`, a quote
# mark or a `path:line:` prefix) with an exception or warning class, names one with a
# colon (`.../text.py:206: UserWarning: ...`), opens with a log level a command-line tool
# prints (`error: ...`, rustc's `error[E0308]: ...`, `FATAL: ...`), also after a
# `path:line:` prefix (Sphinx's `index.rst:3: WARNING: ...`, a compiler's `x.c:4:2: error:`),
# or is a Rust panic.
_MESSAGE_LINE = _lazy(
    r"^(?:E\s+|>\s*)?(?:[\w.]+:\d+:\s*)?[\w.]*(?:Error|Exception|Warning|Exit|Interrupt)\b"
    r"|Warning:|Error:|^(?:\S+?:\d+:(?:\d+:)?\s*)?(?i:error|fatal|warning|critical)(?:\[\w+\])?:"
    r"|\bpanicked at\b"
)
# A Markdown quote in prose: how a report sets off the message it got ("This issues this
# error:" then `> Using pytest.skip outside of a test is not allowed. ...`); not `>>>`.
_MD_QUOTE = _lazy(r">(?!>)\s*\S")
MESSAGES_MAX = 20  # lines of a report matched against the project's message templates
MESSAGE_MAX_CHARS = 500  # longer: a dump, not a message
_QUOTABLE = _lazy(r"[()=\[\]:]")
_SENTENCE = _lazy(r"(?:\b[A-Za-z][a-z]*\b,? ){3}[a-z]+\b")  # four words in a row
# A doctest or IPython prompt, a Markdown quote's or pytest's failing-line mark
_QUOTE_PREFIX = _lazy(r"^(?:>>>|\.\.\.|>|In \[\d*\]:)(?:\s|$)")

# Line kinds.
_PROSE, _CODE, _LOG, _FENCE_LINE = "prose", "code", "log", "fence"
_FRAME, _CTX, _HEAD, _ERR, _NOISE = "frame", "ctx", "head", "error", "noise"
_TRACE_KINDS = frozenset((_FRAME, _CTX, _HEAD))

# Trace formats that print the innermost frame first (reversed to innermost-last).
_INNERMOST_FIRST = frozenset(("java", "cs", "js", "go", "rust", "ruby"))


# ---------------------------------------------------------------------------------------
# Public API


# A shell command after a prompt: `$ `, `% `, `user@host:~/dir$ `, `(venv) $ `, `C:\\x> `.
_PROMPT = _lazy(r"^\s*" + _PROMPT_ENV + _PROMPT_MARK + r"\s+(?P<cmd>\S.*)$")
_SCRIPT_LANGS = _words("sh bash shell zsh fish")  # fenced blocks whose lines are commands
_ENV_ASSIGN = _lazy(r"[A-Za-z_]\w*=\S*")
_COMMAND_PREFIXES = _words("sudo time exec env nohup command")
_RUNNERS = _words("poetry pipenv uv pdm hatch rye")  # `poetry run flask routes`
_PYTHON = _lazy(r"python(?:\d+(?:\.\d+)?)?(?:\.exe)?|py")
_PROGRAM = _lazy(r"(?:-m )?[A-Za-z_][\w.+-]*")
_SUBCOMMAND = _lazy(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")


def shell_command(line: str) -> list[tuple[str, str]]:
    """``(program, subcommand)`` pairs of one shell command line (none when it has none).

    ``flask routes`` -> ("flask", "routes"); ``python -m pkg.cli sub`` -> ("-m pkg.cli",
    "sub"); ``python manage.py sub`` -> ("manage.py", "sub"). Environment assignments,
    ``sudo``/``time`` and ``poetry run``-like runners before the program are passed over,
    and options before the subcommand too; an option that may take a value
    (``flask --app hello run``) leaves two candidates, ``hello`` and ``run``, for
    retrieval to resolve.
    """
    tokens = line.split()
    i = 0
    while i < len(tokens) and (_ENV_ASSIGN.fullmatch(tokens[i]) or tokens[i] in _COMMAND_PREFIXES):
        i += 1
    if i + 1 < len(tokens) and tokens[i] in _RUNNERS and tokens[i + 1] == "run":
        i += 2
    if i >= len(tokens):
        return []
    program = tokens[i].replace("\\", "/").rsplit("/", 1)[-1]
    i += 1
    if _PYTHON.fullmatch(program.lower()):
        while i < len(tokens) and tokens[i].startswith("-") and tokens[i] != "-m":
            i += 2 if tokens[i] in ("-X", "-W") else 1  # interpreter options
        if i + 1 < len(tokens) and tokens[i] == "-m":
            program, i = "-m " + tokens[i + 1], i + 2
        elif i < len(tokens) and tokens[i].endswith(".py"):
            program, i = tokens[i].replace("\\", "/").rsplit("/", 1)[-1], i + 1
        else:
            return []
    elif program.lower().endswith(".exe"):
        program = program[:-4]
    if not _PROGRAM.fullmatch(program):
        return []
    valued = False  # the last option may take the next word as its value
    while i < len(tokens) and tokens[i].startswith("-"):
        valued = "=" not in tokens[i]
        i += 1
    subs = [t for t in tokens[i : i + (2 if valued else 1)] if not t.startswith("-")]
    return [(program, t) for t in subs if len(t) >= 2 and _SUBCOMMAND.fullmatch(t)]


# GitHub's default issue templates (bug report, feature request), which GitHub offers every
# repository for its first template: reports in projects without templates of their own, or
# with an organisation's copy of these, often keep their instructions ("A clear and concise
# description of what the bug is.", "Add any other context about the problem here.").
GITHUB_DEFAULT_TEMPLATES = """\
**Describe the bug**
A clear and concise description of what the bug is.
**To Reproduce**
Steps to reproduce the behavior:
1. Go to '...'
2. Click on '....'
3. Scroll down to '....'
4. See error
**Expected behavior**
A clear and concise description of what you expected to happen.
**Screenshots**
If applicable, add screenshots to help explain your problem.
**Desktop (please complete the following information):**
**Smartphone (please complete the following information):**
**Additional context**
Add any other context about the problem here.
**Is your feature request related to a problem? Please describe.**
A clear and concise description of what the problem is. Ex. I'm always frustrated when [...]
**Describe the solution you'd like**
A clear and concise description of what you want to happen.
**Describe alternatives you've considered**
A clear and concise description of any alternative solutions or features you've considered.
Add any other context or screenshots about the feature request here.
"""


def parse_query(text: str, template: str = "") -> QuerySignals:
    """Split a free-text query or bug report into retrieval signals (see ``QuerySignals``).

    ``template``: the text of the project's issue templates (``discover.issue_templates``);
    lines of the report that repeat it, or GitHub's default templates, are the template's,
    not the reporter's, and are left out (``without_template_lines``).
    """
    template = f"{template}\n{GITHUB_DEFAULT_TEMPLATES}" if template else GITHUB_DEFAULT_TEMPLATES
    return _Parser(without_template_lines(text, template)).run()


# A line of a report is the template's when the project's issue templates hold it, word
# for word (case, punctuation and a task-list box aside), and it has this many words:
# checklist items and instructions, not one- or two-word headings ("Expected behavior")
# that only label the reporter's own text.
TEMPLATE_MIN_WORDS = 3
_NOT_WORD = _lazy(r"[^0-9a-z]+")
_TASK_BOX = _lazy(r"^\s*[-*+]\s*\[[ xX]\]")


def template_words(text: str) -> str:
    """``text`` as lowercase words separated (and surrounded) by single spaces."""
    return " " + _NOT_WORD.sub(" ", text.lower()).strip() + " "


@functools.lru_cache(maxsize=8)
def _template_index(template: str) -> tuple[str, frozenset[str]]:
    """A template's words (``template_words``) and the runs of ``TEMPLATE_MIN_WORDS`` that
    start a line of it; kept for the next query of the same project."""
    known = template_words(template)
    vocab = known.split()
    n = TEMPLATE_MIN_WORDS
    return known, frozenset(" ".join(vocab[i : i + n]) for i in range(len(vocab) - n + 1))


def without_template_lines(text: str, template: str) -> str:
    """``text`` without the lines after its title that repeat the issue ``template``.

    A report filed from a template keeps its checklist ("- [x] a detailed description of
    the bug") and instructions: the same words in every report, nothing about this one.
    The title (the first non-blank line) always stays. A line is searched for in the template only
    when its first words start a run of the template's (a set lookup), so a huge query
    costs one pass.
    """
    known, starts = _template_index(template)
    if not starts:
        return text
    n = TEMPLATE_MIN_WORDS
    lines = text.splitlines(keepends=True)
    title = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    kept = lines[: title + 1]  # the title, and any blank lines before it
    for line in lines[title + 1 :]:
        words = template_words(_TASK_BOX.sub("", line))
        head = words.split(" ", n + 1)[1 : n + 1]  # words[0] is the leading space
        if len(head) == n and head[-1] and " ".join(head) in starts and words in known:
            continue
        kept.append(line)
    return "".join(kept)


def module_to_paths(dotted: str) -> list[str]:
    """Candidate path suffixes for a dotted Python name, longest module prefix first.

    ``"pkg.io.parser"`` -> ``["pkg/io/parser.py", "pkg/io/parser/__init__.py",
    "pkg/io/parser", "pkg/io.py", ...]``. A trailing ``Class.method`` is just a longer
    prefix that matches nothing, so every prefix down to one component is offered.
    """
    parts = _SCOPE_SEP.split(dotted.strip().removesuffix("()"))
    if not all(_IDENT_FULL.match(p) for p in parts):
        return []
    out: list[str] = []
    for n in range(len(parts), 0, -1):
        base = "/".join(parts[:n])
        out.extend((f"{base}.py", f"{base}/__init__.py", base))
    return out


# ---------------------------------------------------------------------------------------
# Helpers


def _is_version_line(text: str) -> bool:
    """A package and its version, or a statement of the environment (``_ENV_STATEMENT``)."""
    return bool(_VERSION_LINE.match(text) or _ENV_STATEMENT.match(text))


def _next_filled(lines: list[str], start: int) -> int:
    """The index of the first non-blank line at or after ``start`` (``len(lines)``: none)."""
    while start < len(lines) and not lines[start].strip():
        start += 1
    return start


def _table_row(line: str) -> str | None:
    """A Markdown table's row as its cells two spaces apart ("| numpy | 1.23.5 |" ->
    "numpy  1.23.5"); its rule ("|---|:---:|") as a rule; None for any other line."""
    stripped = line.strip()
    if len(stripped) < 3 or stripped[0] != "|" or stripped[-1] != "|":
        return None
    cells = [c.strip() for c in stripped[1:-1].split("|")]
    if all(_TABLE_RULE.fullmatch(c) for c in cells):
        return "---"
    return "  ".join(cells)


def _blank_in_line(pattern: _lazy, text: str) -> str:
    """``text`` with ``pattern``'s matches (within a line) blanked, each line as long as it was
    and indented as it was: what a line started with is gone, not turned into indentation
    (four spaces would make a line of prose an indented code block)."""

    def line(m: re.Match[str]) -> str:
        old = m.group()
        new = pattern.sub(_blank, old)
        indent = len(old) - len(old.lstrip(" "))
        extra = len(new) - len(new.lstrip(" ")) - indent
        if extra > 0 and new.strip():
            new = new[:indent] + new.lstrip(" ") + " " * extra
        return new

    if not pattern.search(text):
        return text
    return re.sub(r"[^\n]+", line, text)


def _blank(match: re.Match[str]) -> str:
    """Same-length spaces (newlines kept) so offsets and line numbers survive blanking."""
    return re.sub(r"[^\n]", " ", match.group())


def _blank_string(match: re.Match[str]) -> str:
    """A string literal's content blanked: data, not code names."""
    return '"' + " " * (len(match.group()) - 2) + '"'


def _norm_path(path: str) -> str:
    path = path.strip("*").replace("\\\\", "/").replace("\\", "/")
    if path.startswith("file://"):
        path = path[7:]
    while path.startswith("./"):
        path = path[2:]
    return path


def _pseudo_path(path: str) -> bool:
    return path.startswith("<") or path in ("", "native", "unknown")


def _is_path(token: str, next_char: str) -> str | None:
    """The normalized path if ``token`` (already stripped of ``:line``) is a file path.

    A path needs a known extension (``setup.cfg``, ``src/x.py``), a special name
    (``Makefile``, ``.pylintrc``) or, without one, a clear directory shape: a root
    (``/etc/hosts``, ``~/x``, ``./x``), three parts, or a trailing slash (``src/``).
    Prose like "and/or", "HTTP/1.1" or "17/15" is not a path.
    """
    if "\\" in token:
        token = token.replace("\\\\", "\\")
        if not _WIN_PATH.match(token):
            return None
        token = token.replace("\\", "/")
    if token.startswith("file://"):
        token = token[7:]
    token = token.rstrip(".:!?")
    if (
        not token
        or token.startswith("//")
        or "//" in token.lstrip("/")
        or not _HAS_ALPHA.search(token)
    ):
        return None
    comps = token.split("/")
    check = comps[1:] if _DRIVE.match(comps[0]) else comps
    last = len(check) - 1
    for i, comp in enumerate(check):
        if not comp:
            if i in (0, last):  # leading "/" or trailing "/"
                continue
            return None
        if not _PATH_COMPONENT.match(comp):
            return None
    name = comps[-1]
    slash = len(comps) > 1
    if name in _SPECIAL_FILES or (name.startswith(".") and name.endswith("rc") and len(name) > 3):
        return _norm_path(token)
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower()
    if dot and stem and ext in _EXTS and _HAS_ALPHA.search(stem):
        if not slash:
            if next_char == "(" or token.lower() in _JS_LIBS:
                return None
            if ext in _WEAK_EXTS and (len(stem) < 2 or "." in stem or stem.lower() in _RECEIVERS):
                return None  # resp.json, self.h, a.b.c: attribute access
        return _norm_path(token)
    if not slash:
        return None
    named = [c for c in check if c and c not in (".", "..", "~")]
    if not named or not _HAS_ALPHA.search(named[-1]):
        return None
    rooted = token.startswith(("/", "~/", "./", "../")) or len(check) < len(comps)
    if token.endswith("/"):
        return _norm_path(token) if len(named) >= 2 else None
    return _norm_path(token) if len(named) >= 3 or (rooted and len(named) >= 2) else None


def _strong_shape(word: str) -> bool:
    """CamelCase, snake_case, _private, __dunder__ or SCREAMING_CASE: a code name in prose."""
    if len(word) < 3:
        return False
    if word.startswith("__") and word.endswith("__"):
        return len(word) > 4 and any(c.isalpha() for c in word)
    core = word.strip("_")
    if not core or word.lower() in _ARCH:
        return False
    if "_" in core:
        return any(c.isalpha() for c in core)
    if word.startswith("_"):
        if word.endswith("_"):
            return False  # "_word_" is markdown emphasis
        # "_private", "_PY3", "_CamelCase"; not "_No response_" (emphasis again)
        return core.isupper() or bool(_CAMEL.search(core)) or (core[0].islower() and len(core) >= 3)
    if word.lower() in _BRANDS:
        return False
    return bool(_CAMEL.search(core)) and any(c.islower() for c in core)


def _code_noise(word: str) -> bool:
    return (
        len(word) < 2
        or word in _CODE_STOP
        or (len(word) >= 6 and bool(_HEXISH.fullmatch(word)))
        or bool(_VERSIONISH.fullmatch(word))
    )


def _java_function(qual: str) -> tuple[str | None, str | None]:
    """``com.x.Foo$Inner.lambda$run$0`` -> (``Foo.Inner.run``, ``com.x``)."""
    qual = qual.rpartition("/")[2]  # "java.base/java.lang.Thread.run": drop the JPMS module
    parts = [p for p in qual.split(".") if p]
    # the module ends before the first capitalized part (the class)
    idx = next((i for i, p in enumerate(parts) if p[:1].isupper()), max(len(parts) - 2, 0))
    module = ".".join(parts[:idx]) or None
    names: list[str] = []
    for part in parts[idx:]:
        for piece in part.split("$"):
            if piece and not piece.isdigit() and piece not in ("lambda", "<init>", "<clinit>"):
                names.append(piece)
    return (".".join(names) or None), module


def _cs_function(qual: str) -> tuple[str | None, str | None]:
    """``App.Svc.Orders.<GetAsync>d__5.MoveNext`` -> ``Orders.GetAsync``, ``App.Svc``."""
    qual = re.sub(r"`\d+|\[[^\]]*\]", "", qual)
    qual = re.sub(r"\.<(\w+)>d__\d+\.MoveNext$", r".\1", qual)
    qual = re.sub(r"\.<>c(?:__DisplayClass[\w]*)?\.<(\w+)>b__[\w]+$", r".\1", qual)
    qual = qual.replace("+", ".")
    parts = [p for p in qual.split(".") if p]
    if len(parts) < 2:
        return (parts[0] if parts else None), None
    module = ".".join(parts[:-2]) or None
    return f"{parts[-2]}.{parts[-1]}", module


def _go_function(line: str) -> tuple[str | None, str | None]:
    """``github.com/x/pkg.(*Server).Start(0xc0)`` -> ``Server.Start``, ``github.com/x/pkg``."""
    s = line.strip()
    if s.startswith("created by "):
        s = s[len("created by ") :]
    s = re.sub(r"\s+in goroutine \d+$", "", s)
    m = re.match(r"^(?P<qual>.*?[\w\]])(?:\((?P<args>[^()]*)\))?$", s)
    if not m:
        return None, None
    qual = re.sub(r"\[[^\]]*\]", "", m.group("qual"))
    slash = qual.rfind("/")
    dot = qual.find(".", slash + 1)
    if dot < 0:
        return None, None  # builtin such as panic(...)
    module, rest = qual[:dot], qual[dot + 1 :]
    rest = re.sub(r"\(\*?(\w+)\)", r"\1", rest)
    rest = re.sub(r"(?:\.(?:func|gowrap)\d+)+(?:\.\d+)*$", "", rest)
    return (rest or None), (module or None)


def _rust_function(raw: str) -> tuple[str | None, str | None]:
    """``<mycrate::Foo as core::fmt::Display>::fmt::h0123`` -> (``Foo.fmt``, ``mycrate``)."""
    s = re.sub(r"::h[0-9a-f]{16}$", "", raw)
    s = re.sub(r"<([^<>]+?) as [^<>]+>", r"\1", s)
    s = re.sub(r"<[^<>]*>", "", s).replace("{{closure}}", "")
    parts = [p for p in s.split("::") if p and _IDENT_FULL.match(p)]
    if not parts or parts[0] in ("std", "core", "alloc", "backtrace", "test", "rust_begin_unwind"):
        return None, None
    if parts[0].startswith("__") or (parts[0] in ("_start", "main") and len(parts) == 1):
        return None, None
    type_idx = next((i for i, p in enumerate(parts) if i and p[:1].isupper()), None)
    if type_idx is None:
        return parts[-1], ("::".join(parts[:-1]) or None)
    return ".".join(parts[type_idx:]), ("::".join(parts[:type_idx]) or None)


def _py_function(func: str | None) -> str | None:
    if not func or func.startswith("<"):
        return None
    func = func.split("(", 1)[0]
    return func or None


def _js_location(loc: str) -> tuple[str | None, int | None]:
    m = _JS_LOC.match(loc.strip())
    if not m:
        return None, None
    path, line = m.group("path"), int(m.group("line"))
    if path.startswith(("node:", "internal/")) or _pseudo_path(path):
        return None, line
    if re.match(r"[a-z][\w+.-]*://", path) and not path.startswith("file://"):
        scheme = path.split(":", 1)[0]
        path = urlsplit(path).path if scheme != "webpack" else path.split("://", 1)[1]
        path = path.lstrip("/") if scheme == "webpack" else path
    path = _norm_path(path)
    return (path or None), line


# ---------------------------------------------------------------------------------------
# The parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        norm = text.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
        if "<!--" in norm:
            norm = _HTML_COMMENT.sub(_blank, norm)
        if ".**" in norm:
            norm = _MD_DUNDER.sub(r"__\1__", norm)
        if "![" in norm:
            norm = _blank_in_line(_PLACEHOLDER_IMAGE, norm)
        if ":" in norm:
            norm = _blank_in_line(_EMOJI, norm)
        self.norm = norm
        self.lines = norm.split("\n")
        # the first non-blank line: a report's title, or a one-line query
        self.first = next((i for i, line in enumerate(self.lines) if line.strip()), None)
        self.starts: list[int] = []
        pos = 0
        for line in self.lines:
            self.starts.append(pos)
            pos += len(line) + 1
        n = len(self.lines)
        self.region: list[str] = [_PROSE] * n
        self.block: list[int] = [-1] * n  # fenced block index per line
        self.kind: list[str | None] = [None] * n
        self.frames: list[tuple[int, int, str, Frame]] = []  # (line, trace block, fmt, frame)
        self.line_funcs: dict[int, list[str]] = {}
        self.paths: list[tuple[int, str]] = []
        self.dotted: list[tuple[int, str]] = []
        self.idents: list[tuple[int, str]] = []
        self.errors: list[tuple[int, str]] = []
        self.block_lang: list[str] = []  # tag of each fenced block
        self.anchors: list[tuple[str, str, int]] = []  # links to a line: (ref, path, line)

    # -- driver ------------------------------------------------------------------------

    def run(self) -> QuerySignals:
        self._regions()
        self._traces()
        self._unfenced()
        self._noise()
        for i, line in enumerate(self.lines):  # the marks of `_emphasis_` in prose: blanked
            if "_" in line and self.region[i] == _PROSE and self.kind[i] is None:
                self.lines[i] = _UNDERSCORE_EMPHASIS.sub(r" \1 ", line)
        seen: set[str] = set()
        log_lines: dict[int, int] = {}
        for i, line in enumerate(self.lines):
            if self.kind[i] == _NOISE or self.region[i] == _FENCE_LINE or not line.strip():
                continue
            if line in seen:
                continue  # a pasted duplicate adds nothing; first positions are kept
            seen.add(line)
            if self.region[i] == _LOG and self.kind[i] is None:
                count = log_lines[self.block[i]] = log_lines.get(self.block[i], 0) + 1
                if count > _LOG_SCAN_LINES:
                    continue  # the tail of a long log is repetition, not new names
            if self.kind[i] in (_FRAME, _CTX):
                continue  # frames give their own paths; a Go package path is not a file
            stripped = _strip_links(line, self.starts[i], self.paths, self.anchors)
            self._scan_line(i, self._line_paths(i, stripped))
        frames, calls = self._ordered_frames()
        references, commits = self._changes()
        for i, _, _, frame in self.frames:
            if frame.path:
                self.paths.append((self.starts[i], frame.path))
        scripts = self._scripts()
        for i, line in enumerate(self.lines):  # a line that only runs a script is noise ...
            if self.kind[i] == _NOISE and "py" in line and _SCRIPT_LINE.match(line):
                m = _SCRIPT_RUN.search(line)
                if m and m.group(1) in scripts:  # ... but its script still names a root file
                    self.paths.append((self.starts[i], m.group(1)))
        return QuerySignals(
            text=self.text,
            clean_text=self._clean_text(),
            title_text=self._title_text(),
            paths=_ordered(self.paths),
            dotted=_ordered(self.dotted),
            identifiers=_ordered(self.idents),
            frames=tuple(f for _, f in frames),
            calls=tuple(calls),
            errors=_ordered(self.errors),
            title=self._title_names(),
            options=self._title_options(),
            scope=self._title_scope(),
            commands=self._commands(),
            quoted=self._quoted(),
            messages=self._messages(),
            anchors=tuple(dict.fromkeys(self.anchors)),
            scripts=scripts,
            references=references,
            commits=commits,
        )

    def _first_prose_line(self) -> int | None:
        """The first non-empty line, when it is prose (a title, or a one-line query)."""
        first = self.first
        return first if first is not None and self.region[first] == _PROSE else None

    def _title_names(self) -> tuple[str, ...]:
        """Identifiers, dotted names and errors of the first line, if more text follows."""
        first = self._first_prose_line()
        if first is None or not any(line.strip() for line in self.lines[first + 1 :]):
            return ()
        lo = self.starts[first]
        hi = lo + len(self.lines[first])
        names = [*self.dotted, *self.idents, *self.errors]
        found = [(pos, v) for pos, v in names if lo <= pos < hi]
        # In a report with no Markdown code marks at all (a tracker without them), a plain
        # word of the title that the report's code uses is that code's name: "polyval with
        # timedelta64 ..." and, below, xr.polyval(...). A report that marks its code has
        # marked the title's too.
        used = self._code_names() if "`" not in self.text else set()
        if used:
            for m in _IDENT.finditer(self.lines[first]):
                word = m.group()
                if (
                    word in used
                    and len(word) >= 3
                    and word not in _CODE_STOP
                    and word.lower() not in _CAP_STOP_LOWER
                ):
                    found.append((lo + m.start(), word))
        return _ordered(found)

    def _code_names(self) -> set[str]:
        """Names the report's code lines use (identifiers, and the last part of dotted names)."""
        code = {i for i, r in enumerate(self.region) if r == _CODE}
        if not code:
            return set()
        starts = self.starts
        return {
            v.rsplit(".", 1)[-1]
            for pos, v in [*self.idents, *self.dotted]
            if bisect.bisect_right(starts, pos) - 1 in code
        }

    def _title_scope(self) -> str | None:
        """The module the first line opens with as its scope (see ``_TITLE_SCOPE``)."""
        first = self._first_prose_line()
        m = _TITLE_SCOPE.match(self.lines[first]) if first is not None else None
        scope = m and (m.group(1) or m.group(2))
        return scope if scope and scope not in _NOT_SCOPES else None

    def _title_options(self) -> tuple[str, ...]:
        """Long options of the first line (a title, or the whole of a one-line query)."""
        first = self._first_prose_line()
        if first is None:
            return ()
        return tuple(dict.fromkeys(_LONG_OPTION.findall(self.lines[first])))

    def _scripts(self) -> tuple[str, ...]:
        """Script files the report only ever runs, by a bare name (``python repro.py``,
        ``python3 -u run.py``): each mention of the name is such a run."""
        if ".py" not in self.text:
            return ()
        runs: dict[str, int] = {}
        for m in _SCRIPT_RUN.finditer(self.text):
            runs[m.group(1)] = runs.get(m.group(1), 0) + 1
        return tuple(
            name
            for name, n in runs.items()
            if len(re.findall(rf"(?<![\w/\\.-]){re.escape(name)}(?![\w-])", self.text)) == n
        )

    def _commands(self) -> tuple[tuple[str, str], ...]:
        """Programs and subcommands of prompt lines and of lines of shell-script blocks.

        A line that is noise for the text still runs its command: `$ pip install -e .` says
        nothing of a bug in most projects, but in pip's own it names the code that runs."""
        found: list[tuple[str, str]] = []
        for i, line in enumerate(self.lines):
            if self.region[i] == _FENCE_LINE:
                continue
            if self.kind[i] is not None and not (
                self.kind[i] == _NOISE and _ENV_COMMAND.match(line)
            ):
                continue
            m = _PROMPT.match(line)
            if m:
                cmd = m.group("cmd")
            elif self.block[i] >= 0 and self.block_lang[self.block[i]] in _SCRIPT_LANGS:
                cmd = line
            else:
                continue
            found.extend(shell_command(cmd))
        return tuple(dict.fromkeys(found))

    def _changes(self) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
        """What the report says of changes, in one pass: the issues and pull requests it
        refers to, (repository name, ``ref_1234``), and the commits it names as the cause,
        (repository name, SHA). Links on a code host count anywhere, with the linked
        repository's name (retrieval keeps the project's own); in prose, a bare ``#1234``
        (in code or output it is a comment, a colour or a counter more often) and a SHA
        after words of cause (``_CAUSE``: regressed in, introduced by, bisected to ...)
        count with no name."""
        references: list[tuple[str, str]] = []
        commits: list[tuple[str, str]] = []
        for i, line in enumerate(self.lines):
            if "://" in line:
                for m in _HOSTED.finditer(line):
                    repo, rest = m.group(1).lower(), m.group(2) or ""
                    references.extend((repo, t) for t in reference_terms(rest))
                    link = _COMMIT_LINK.match(rest)
                    if link:
                        commits.append((repo, link.group(1).lower()))
            if self.region[i] != _PROSE:
                continue
            cause = _CAUSE_HINT.search(line)
            if "#" in line or cause:
                bare = _URL.sub(" ", line)
                if "#" in line:
                    references.extend(("", t) for t in reference_terms(bare))
                if cause:
                    commits.extend(("", m.group(1).lower()) for m in _CAUSE.finditer(bare))
        return (
            tuple(dict.fromkeys(references))[:REFERENCES_MAX],
            tuple(dict.fromkeys(commits))[:COMMITS_MAX],
        )

    def _quoted(self) -> tuple[str, ...]:
        """Lines that read as code (``_QUOTABLE``, ``QUOTED_*``) outside tracebacks and error
        lines, as the report has them (tabs kept), without a prompt, quote or diff mark."""
        raw = self.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if len(raw) != len(self.lines):  # cannot happen: blanking keeps line breaks
            return ()
        found: dict[str, None] = {}
        for i, line in enumerate(raw):
            if self.kind[i] is not None or self.region[i] == _FENCE_LINE:
                continue
            if not self.lines[i].strip():
                continue  # blanked whole: an HTML comment, a pasted image's placeholder
            if self.block[i] >= 0 and self.block_lang[self.block[i]] in _DIFF_LANGS:
                line = line[1:] if line[:1] in "+- " else ""
            stripped = _QUOTE_PREFIX.sub("", line.strip()).strip()
            if self.region[i] == _PROSE and _SENTENCE.search(stripped):
                continue  # prose: a code line in it ("is a command: x = f(x)") is one alone
            size = len(stripped)
            if QUOTED_MIN_CHARS <= size <= QUOTED_MAX_CHARS and _QUOTABLE.search(stripped):
                words = _IDENT.findall(stripped)
                if len(words) >= 2 and any(len(w) >= QUOTED_NAME_CHARS for w in words):
                    found.setdefault(stripped, None)
                    if len(found) >= QUOTED_MAX_LINES:
                        break
        return tuple(found)

    def _messages(self) -> tuple[str, ...]:
        """Lines that read as an error or warning message (``_MESSAGE_LINE``, an error line
        of a trace, pytest's ``E`` lines, a Markdown quote in prose), stripped, in order,
        without repeats."""
        found: dict[str, None] = {}
        for i, line in enumerate(self.lines):
            if self.region[i] == _FENCE_LINE:
                continue
            stripped = line.strip()
            if not stripped or len(stripped) > MESSAGE_MAX_CHARS:
                continue
            if (
                self.kind[i] == _ERR
                or line.startswith("E ")
                or _MESSAGE_LINE.search(stripped)
                or (self.region[i] == _PROSE and _MD_QUOTE.match(stripped))
            ):
                found.setdefault(stripped, None)
                if len(found) >= MESSAGES_MAX:
                    break
        return tuple(found)

    # -- regions: prose / fenced code / fenced output ------------------------------------

    def _regions(self) -> None:
        lines = self.lines
        i, n, block = 0, len(lines), 0
        while i < n:
            m = CODE_FENCE.match(lines[i])
            if not m:
                i += 1
                continue
            fence, lang = m.group("fence"), m.group("lang").lower()
            self.block_lang.append(lang)
            j = i + 1
            while j < n and not lines[j].lstrip().startswith(fence):
                j += 1
            body = range(i + 1, min(j, n))
            kind = self._classify_block([lines[k] for k in body], lang)
            for k in body:
                self.region[k] = kind
                self.block[k] = block
            self.region[i] = _FENCE_LINE
            if j < n:
                self.region[j] = _FENCE_LINE
            block += 1
            i = j + 1
        # indented code blocks and doctest lines in prose
        prev_blank = True
        in_indented = False
        for k, line in enumerate(lines):
            if self.region[k] != _PROSE:
                prev_blank, in_indented = False, False
                continue
            stripped = line.strip()
            if stripped.startswith((">>> ", "... ")) and len(stripped) > 4:
                self.region[k] = _CODE
            elif line.startswith("    ") and stripped and (prev_blank or in_indented):
                if not _LIST_ITEM.match(stripped):
                    self.region[k] = _CODE
                    in_indented = True
            elif stripped:
                in_indented = False
            prev_blank = not stripped

    def _unfenced(self) -> None:
        """Runs of plain lines shaped like code or like a tool's output become code or log
        blocks of their own, as a fenced block would: reports from trackers without Markdown
        paste them with no fence. The title, a line with inline code (Markdown: prose), lines
        of a trace and prose stay as they are; a code block goes on across blank lines to the
        next code line, and inside open brackets whatever the lines look like."""
        lines, region, kind, first = self.lines, self.region, self.kind, self.first
        shapes: list[str] = []
        for i, line in enumerate(lines):
            free = i != first and region[i] == _PROSE and kind[i] is None
            shapes.append(_bare_shape(line) if free and line.strip() else "")
        current: str | None = None  # kind of the block being read
        depth = 0  # open brackets of the code block being read
        block = -1
        n = len(lines)
        for i in range(n):
            shape = shapes[i]
            if current == _CODE and depth > 0 and shape:
                shape = _CODE
            if not lines[i].strip():
                if current is None:
                    continue
                j = _next_filled(lines, i + 1)
                nxt = shapes[j] if j < n else ""
                indented = j < n and lines[j][:1] in (" ", "\t")
                if nxt == current or (current == _CODE and nxt == _OTHER and indented):
                    continue
                current, depth = None, 0
                continue
            if shape in (_CODE, _LOG):
                if shape != current:
                    current, depth = shape, 0
                    block = len(self.block_lang)
                    self.block_lang.append("")
            elif shape != _OTHER or current is None:
                current, depth = None, 0
                continue
            region[i] = current
            self.block[i] = block
            if current == _CODE:
                code = _STRING.sub(" ", lines[i])
                opened = sum(code.count(c) for c in "([{")
                depth = max(0, depth + opened - sum(code.count(c) for c in ")]}"))

    @staticmethod
    def _classify_block(body: list[str], lang: str) -> str:
        if lang in _CODE_LANGS or lang in _DIFF_LANGS:
            return _CODE
        if lang in _TEXT_LANGS or lang:
            return _LOG
        code = log = 0
        for line in body[:40]:
            if not line.strip():
                continue
            if (
                _LOG_HINT.match(line)
                or (": " in line and _LINT_LINE.search(line))
                or _VERSION_LINE.match(line)
            ):
                log += 1
            elif _CODE_HINT.match(line) or line.rstrip().endswith(("{", "}", ";", ")")):
                code += 1
            else:
                log += 1
        return _CODE if code and code >= log else _LOG

    # -- stack traces ----------------------------------------------------------------------

    def _traces(self) -> None:
        lines, kind = self.lines, self.kind
        trace_block = 0
        in_trace: str | None = None  # format of the trace being read
        last_rust: int | None = None  # index into self.frames of a Rust frame without path
        n = len(lines)
        for i, line in enumerate(lines):
            stripped = line.strip()
            if not stripped:
                continue
            if kind[i] is not None:  # claimed by a look-ahead (Go function lines)
                continue
            rust_at = _RUST_AT.match(line) if in_trace == "rust" else None
            if rust_at:  # the location of the numbered Rust frame above
                if last_rust is not None:
                    li, tb, f, fr = self.frames[last_rust]
                    path = _norm_path(rust_at.group("path"))
                    frame = Frame(path, int(rust_at.group("line")), fr.function, fr.module)
                    self.frames[last_rust] = (li, tb, f, frame)
                    last_rust = None
                kind[i] = _CTX
                continue
            fmt = self._frame(i, line, trace_block, in_trace)
            if fmt:
                if in_trace is None:
                    self._error_before(i)
                kind[i] = kind[i] or _FRAME
                in_trace = fmt
                if fmt == "rust":  # a skipped std frame must not take the next location
                    added = self.frames and self.frames[-1][0] == i and self.frames[-1][2] == "rust"
                    last_rust = len(self.frames) - 1 if added else None
                continue
            if i + 1 < n and _GO_PATH.match(lines[i + 1]) and not line[:1].isspace():
                func, module = _go_function(line)
                m = _GO_PATH.match(lines[i + 1])
                assert m is not None
                if module is not None:
                    self._add_frame(
                        i + 1,
                        trace_block,
                        "go",
                        Frame(_norm_path(m.group("path")), int(m.group("line")), func, module),
                        func,
                    )
                kind[i], kind[i + 1] = _FRAME, _CTX
                in_trace = "go"
                continue
            ipy = _IPY_HEADER.match(line)
            if ipy:
                self._add_error(i, ipy.group("cls"), ipy.group("cls"))
                kind[i] = _HEAD
                trace_block += 1
                in_trace = "python"
                continue
            if _TRACE_HEAD.match(line):
                kind[i] = _HEAD
                trace_block += 1
                in_trace = in_trace or "python"
                if stripped.startswith(("goroutine", "stack backtrace")):
                    in_trace = "go" if stripped.startswith("goroutine") else "rust"
                continue
            if stripped.startswith(("panic: ", "fatal error: ")):
                kind[i] = _ERR
                trace_block += 1
                continue
            if line.startswith("E  ") or stripped.startswith("INTERNALERROR>"):
                body = _ERR_PREFIX.sub("", stripped)
                if self._loose_error(i, body):
                    kind[i] = _ERR
                else:
                    kind[i] = _CTX
                continue
            if in_trace is not None:
                if stripped.startswith("Caused by:") or _CS_INNER.match(stripped):
                    self._loose_error(i, stripped)
                    kind[i] = _ERR
                    trace_block += 1
                    continue
                indented = line[:1].isspace()
                if _TRACE_CTX.match(line) or (indented and in_trace == "python"):
                    kind[i] = _CTX
                    arrow = _ARROW.match(line)
                    if arrow and self.frames and self.frames[-1][3].line is None:
                        li, tb, f, fr = self.frames[-1]  # IPython 7 marks the line with -->
                        self.frames[-1] = (
                            li,
                            tb,
                            f,
                            Frame(fr.path, int(arrow.group(1)), fr.function, fr.module),
                        )
                    continue
                if self._loose_error(i, stripped):
                    kind[i] = _ERR
                    trace_block += 1
                    if in_trace not in ("java", "cs", "js"):
                        in_trace = None
                    continue
                in_trace = None
            trace_block += 1

    def _frame(self, i: int, line: str, block: int, in_trace: str | None) -> str | None:
        """Recognize a frame line; record its frame(s). Returns the trace format or None."""
        if "File" in line:
            m = _PY_FRAME.search(line)
            if m:
                path = m.group("path")
                if path.startswith("<frozen"):
                    return "python"
                func = _py_function(m.group("func"))
                p = None if _pseudo_path(path) else _norm_path(path)
                self._add_frame(
                    i, block, "python", Frame(p, int(m.group("line")), func, None), func
                )
                return "python"
            m = _IPY_FRAME.match(line)
            if m:
                path = m.group("path")
                if path.startswith("<frozen"):
                    return "python"
                func = _py_function(m.group("func"))
                p = None if _pseudo_path(path) else _norm_path(path)
                self._add_frame(
                    i, block, "python", Frame(p, int(m.group("line")), func, None), func
                )
                return "python"
        if line.startswith(">") and ".py(" in line:
            m = _PDB_FRAME.match(line)
            if m:
                func = _py_function(m.group("func"))
                path = _norm_path(m.group("path"))
                self._add_frame(
                    i, block, "python", Frame(path, int(m.group("line")), func, None), func
                )
                return "python"
        if " in " in line:
            m = _IPY_OLD_FRAME.match(line)
            if m:
                path = m.group("path")
                func = _py_function(m.group("func"))
                p = None if _pseudo_path(path) else _norm_path(path)
                self._add_frame(i, block, "python", Frame(p, None, func, None), func)
                return "python"
        if ": " in line:
            m = _PYTEST_FRAME.match(line)
            if m:
                path = m.group("path")
                if path.startswith("<frozen"):
                    return "python"
                if "." not in path and "/" not in path and not path.startswith("<"):
                    return None  # "Step:1: Done" is not a location
                func = _py_function(m.group("func"))
                err = m.group("err")
                if err and not (_ERROR_NAME.fullmatch(err) or _strong_shape(err)):
                    return None
                p = None if _pseudo_path(path) else _norm_path(path)
                self._add_frame(
                    i, block, "python", Frame(p, int(m.group("line")), func, None), func
                )
                if err:
                    self._add_error(i, err, err)
                return "python"
        stripped = line.lstrip()
        if stripped.startswith("at "):
            return self._at_frame(i, line, block)
        if "panicked at" in line:
            m = _RUST_PANIC.search(line)
            if m:
                self._add_frame(
                    i,
                    block,
                    "rust-panic",
                    Frame(_norm_path(m.group("path")), int(m.group("line")), None, None),
                    None,
                )
                self.kind[i] = _ERR
                return "rust"
        if ":in " in line:
            m = _RUBY_FRAME.match(line)
            if m:
                func = m.group("func")
                func = re.sub(r"^(?:block (?:\(\d+ levels\) )?in|rescue in|ensure in) ", "", func)
                module = None
                if func.startswith("<"):
                    func = None
                else:
                    if "::" in func:
                        head, _, func = func.rpartition("::")
                        module = head or None
                    func = func.replace("#", ".")
                self._add_frame(
                    i,
                    block,
                    "ruby",
                    Frame(_norm_path(m.group("path")), int(m.group("line")), func, module),
                    func,
                )
                msg = m.group("msg")
                if msg:
                    e = _RUBY_ERROR.search(msg)
                    if e:
                        cls = e.group("cls")
                        self._add_error(i, cls.rpartition("::")[2], cls)
                    self.kind[i] = _ERR
                return "ruby"
        if "::" in line or "<" in line or in_trace == "rust":
            m = _RUST_FRAME.match(line)
            if m and ("::" in m.group("func") or "<" in m.group("func") or in_trace == "rust"):
                func, module = _rust_function(m.group("func"))
                if func is not None:
                    self._add_frame(i, block, "rust", Frame(None, None, func, module), func)
                return "rust"
        if "@" in line:
            m = _JS_AT_FRAME.match(line)
            if m:
                path, _ = _js_location(f"{m.group('loc')}:{m.group('line')}")
                func = re.split(r"[/<]+", m.group("func").rstrip("</"))[-1] or None
                if func:
                    func = re.sub(r"^Object\.", "", func)
                self._add_frame(i, block, "js", Frame(path, int(m.group("line")), func, None), func)
                return "js"
        return None

    def _at_frame(self, i: int, line: str, block: int) -> str | None:
        m = _AT_QUAL_FRAME.match(line)
        if m:
            inner = m.group("inner").strip()
            loc = _JAVA_LOC.match(inner)
            is_java = bool(loc) or inner in (
                "Native Method",
                "Unknown Source",
                "<generated>",
                "Unknown",
            )
            if is_java and not m.group("cspath"):
                func, module = _java_function(m.group("qual"))
                path = loc.group("file") if loc else None
                lineno = int(loc.group("line")) if loc else None
                self._add_frame(i, block, "java", Frame(path, lineno, func, module), func)
                return "java"
            func, module = _cs_function(m.group("qual"))
            path = _norm_path(m.group("cspath")) if m.group("cspath") else None
            lineno = int(m.group("csline")) if m.group("csline") else None
            self._add_frame(i, block, "cs", Frame(path, lineno, func, module), func)
            return "cs"
        m = _JS_FRAME.match(line)
        if m:
            loc = m.group("loc") if m.group("loc") is not None else m.group("bare")
            if loc.startswith(("node:", "internal/")):
                return "js"  # Node's own internals
            if not _JS_LOC.match(loc) and loc not in ("<anonymous>", "native"):
                return None  # "at the moment (see above)" is prose
            path, lineno = _js_location(loc)
            func = m.group("func")
            if func:
                func = re.sub(r"^(?:Object|Module|process|Function)\.", "", func.strip())
                func = func.replace(".<anonymous>", "").replace("<anonymous>", "")
                func = func if func and _IDENT_FULL.match(func.replace(".", "_")) else None
            if path is None and func is None:
                return "js"
            self._add_frame(i, block, "js", Frame(path, lineno, func, None), func)
            return "js"
        return None

    def _add_frame(self, i: int, block: int, fmt: str, frame: Frame, func: str | None) -> None:
        if frame.path is None and frame.function is None:
            return
        self.frames.append((i, block, fmt, frame))
        if func:
            self.line_funcs.setdefault(i, []).append(func)

    def _error_before(self, i: int) -> None:
        """A trace printed innermost-first starts with its error line: find it above."""
        j = i - 1
        while j >= 0 and not self.lines[j].strip():
            j -= 1
        if (
            j >= 0
            and self.kind[j] is None
            and self.region[j] != _FENCE_LINE
            and self._loose_error(j, self.lines[j].strip())
        ):
            self.kind[j] = _ERR

    def _loose_error(self, i: int, line: str) -> bool:
        """Record the exception class of a trace's error line (any class-shaped name)."""
        m = _ERROR_LINE.match(line)
        if not m:
            return False
        full, cls = m.group("full"), m.group("cls")
        if cls in _CAP_STOP or cls in _GENERIC_ERRORS:
            return False
        if not ("." in full or _ERROR_NAME.fullmatch(cls) or _strong_shape(cls)):
            return False
        bare = m.group("msg") is None and not line.rstrip().endswith(":") and "." not in full
        if bare and not _EXCEPTION_LIKE.search(cls):
            return False  # a lone word on its own line needs an exception-like name
        self._add_error(i, cls, full)
        return True

    def _add_error(self, i: int, cls: str, full: str) -> None:
        self._add_error_at(self.starts[i], cls, full)

    # -- noise: version dumps, banners ---------------------------------------------------

    def _noise(self) -> None:
        """Mark banners, version lines, environment dumps (runs of key: value lines), and
        below the title one-word headings, lines of courtesy (``_SOCIAL``) and a reporter's
        checked statements about the report (``_PLEDGE``)."""
        lines, kind, region = self.lines, self.kind, self.region
        run: list[int] = []
        versions = 0
        first = self.first
        for i, line in enumerate([*lines, "\x00"]):
            free = i < len(lines) and region[i] not in (_CODE, _FENCE_LINE) and kind[i] is None
            # "- Python: 3.10.4" is a version line too (only free lines are read below), and so
            # is a Markdown table's row "| numpy | 1.23.5 |", read as its cells
            row = _table_row(line) if free and "|" in line else None
            if row is not None and (row == "---" or _DOTTED_NUMBER.search(row)):
                item = row  # ("| retries | 3 |" is a setting, not a version)
            else:
                item = _BULLET.sub("", line, count=1) if free else line
            version = free and _is_version_line(item)
            label = (
                free
                and i != first
                and bool(_HEADING_WORD.match(line) or _SOCIAL.match(line) or _PLEDGE.match(line))
            )
            if i < len(lines) and kind[i] is None and _EDIT_STAMP.match(line):
                kind[i] = _NOISE
                continue
            if (
                i < len(lines)
                and kind[i] is None
                and region[i] != _FENCE_LINE
                and ("version" in line or "platform." in line or "system_info" in line)
                and _VERSION_PROBE.match(line)
                and _VERSION_CALL.search(line)
            ):
                kind[i] = _NOISE  # prints the environment's versions, in code or not
                continue
            if free and (
                version or label or _NOISE_LINE.match(line) or (row and _NOISE_LINE.match(row))
            ):
                kind[i] = _NOISE
            if free and (
                version
                or not line.strip()
                or _KV_LINE.match(item)
                or _DUMP_LABEL.match(item)
                or _BARE_ITEM.match(line)
                or kind[i]
            ):
                run.append(i)
                versions += version
                continue
            if (
                i + 1 < len(lines)
                and region[i] == _FENCE_LINE
                and run
                and self.block[i + 1] >= 0
                and region[i + 1] != _FENCE_LINE
                and (i == 0 or self.block[i - 1] != self.block[i + 1])
            ):
                continue  # a fence that opens a dump: its label above and its lines are one run
            if versions >= 3:
                for k in run:
                    kind[k] = _NOISE
            run, versions = [], 0
        self._form_fields()

    def _form_fields(self) -> None:
        """An issue form's field answered in one line, as GitHub renders it: a heading, then
        its answer alone ("### Operating system" / "Ubuntu 22.04", "### Installation" / "pip").
        Read together ("Operating system: Ubuntu 22.04"), a version line or a statement of the
        environment is noise, heading and answer."""
        lines, kind, region = self.lines, self.kind, self.region
        n = len(lines)
        for i, line in enumerate(lines):
            if kind[i] is not None or region[i] != _PROSE or ("#" not in line and "**" not in line):
                continue
            m = _FIELD_HEADING.match(line)
            if not m:
                continue
            j = _next_filled(lines, i + 1)
            k = _next_filled(lines, j + 1)
            if j >= n or kind[j] not in (None, _NOISE) or region[j] != _PROSE:
                continue  # (an answer that is noise alone may still be a field's)
            if k < n and not _FIELD_HEADING.match(lines[k]):
                continue  # more than one line of answer
            pair = f"{m.group('h') or m.group('b')}: {lines[j].strip()}"
            if _is_version_line(pair):
                kind[i] = kind[j] = _NOISE

    # -- paths -------------------------------------------------------------------------------

    def _line_paths(self, i: int, line: str) -> str:
        """Record the path mentions of line ``i``; return the line with them blanked."""
        if "." not in line and "/" not in line and "\\" not in line and "file" not in line:
            return line
        base = self.starts[i]
        out: list[str] = []
        prev = 0
        for m in _PATH_TOKEN.finditer(line):
            tok = m.group()
            bare = tok.rstrip(".,:;!?")
            if (
                "/" not in tok
                and "\\" not in tok
                and "." not in bare
                and bare not in _SPECIAL_FILES
            ):
                continue  # no separator, or only a sentence's full stop
            core = tok.split("::", 1)[0].rstrip(".,:;!?") if ":" in tok else tok.rstrip(".,;!?")
            if ":" in core:
                core = _PATH_SUFFIX.sub("", core)
            lead = len(tok) - len(tok.lstrip(":"))
            core = core[lead:] if lead else core
            start, end = m.span()
            path = _is_path(core, line[end : end + 1])
            if path:
                self.paths.append((base + start, path))
                out.append(line[prev:start])
                out.append(" " * (end - start))
                prev = end
        if not out:
            return line
        out.append(line[prev:])
        return "".join(out)

    # -- per-line extraction ---------------------------------------------------------------

    def _scan_line(self, i: int, line: str) -> None:
        kind, region = self.kind[i], self.region[i]
        if kind in (_NOISE, _FRAME, _CTX) or region == _FENCE_LINE or not line.strip():
            return
        base = self.starts[i]
        if kind in (_HEAD, _ERR):
            self._errors_in(base, line)
            self._dotted_in(base, line)
            self._prose(base, line)
            return
        self._errors_in(base, line)
        if region == _CODE:
            code = line
            if self.block[i] >= 0 and _DIFF_MARK.match(code):
                code = " " + code[1:]  # diff line
            code = _DOCTEST.sub("    ", code)
            code = _STRING.sub(_blank_string, code)
            comment = _COMMENT.search(code)
            if comment:
                self._prose(base + comment.start(), code[comment.start() :])
                code = code[: comment.start()]
            self._dotted_in(base, code)
            self._code(base, code)
            return
        self._dotted_in(base, line)
        if region == _LOG:
            self._prose(base, line)
            return
        # prose: backticked spans are code, the rest is shape-checked words
        rest = line
        if "`" in line:
            original = self.lines[i]
            for m in _BACKTICKS.finditer(line):
                self._backtick(base + m.start(2), m.group(2), original[m.start(2) : m.end(2)])
            rest = _BACKTICKS.sub(_blank, line)
        self._prose(base, rest)

    def _errors_in(self, base: int, line: str) -> None:
        if "Error" not in line and "Exception" not in line and "Warning" not in line:
            return
        for m in _ERROR_NAME.finditer(line):
            self._add_error_at(base + m.start(), m.group(2), m.group(1))

    def _add_error_at(self, pos: int, cls: str, full: str) -> None:
        if cls in _GENERIC_ERRORS:
            return  # matches everything: no signal
        self.errors.append((pos, cls))
        if "." in full:
            self.dotted.append((pos, full))

    def _dotted_in(self, base: int, line: str) -> None:
        if "." not in line:
            return
        for m in _DOTTED.finditer(line):
            name = m.group()
            parts = name.split(".")
            while parts and parts[0] in ("self", "cls", "this"):
                parts = parts[1:]
            if len(parts) < 2 or all(len(p) <= 1 for p in parts):
                continue
            if parts[-1].lower() in _TLDS or parts[0].lower() == "www":
                continue
            if parts[-1].lower() in _FILE_EXTS or any(_HASHY.search(p) for p in parts):
                continue  # a file name ("test_x.py::test") or a version hash
            if (
                len(parts) == 2
                and parts[1][:1].isupper()
                and (parts[0] in _CAP_STOP or parts[1] in _CAP_STOP)
            ):
                continue  # "the end.Then more": two sentences missing a space
            self.dotted.append((base + m.start(), ".".join(parts)))

    def _prose(self, base: int, line: str) -> None:
        prefix = _COMMIT_TYPE.match(line)
        for m in _PROSE_CAND.finditer(line, prefix.end() if prefix else 0):
            word = m.group()
            s, e = m.start(), m.end()
            before = line[s - 1] if s else " "
            nxt = line[e : e + 2]
            if (nxt[:1] == "." and nxt[1:].isdigit()) or before.isdigit() or before == "-":
                continue  # glued to a version number or a hyphenated name
            if word in _HARD_STOP:
                continue
            if not _strong_shape(word):
                if len(word) < 2 or word in _CODE_STOP or word.lower() in _CAP_STOP_LOWER:
                    continue
                if nxt[:1] != "(" or line[e : e + 3] == "(s)":
                    continue  # a plain word counts only as a call: "call reset() first"
            self.idents.append((base + s, word))

    def _code(self, base: int, code: str) -> None:
        """Names a code line uses: calls, last attributes, keyword args, imports, shaped names."""
        imports = _IMPORT.match(code)
        if imports:
            for name in _COMMA.split(imports.group(2)):
                name = _AS.split(name.strip(" ()\\"))[0].split(".")[-1]
                if _IDENT_FULL.match(name) and not _code_noise(name):
                    self.idents.append((base + max(code.find(name), 0), name))
            return
        for m in _IDENT.finditer(code):
            word = m.group()
            if "$" in word or _code_noise(word):
                continue
            s, e = m.start(), m.end()
            before = code[s - 1] if s else " "
            after = code[e : e + 1]
            if _strong_shape(word):
                pass
            elif before == ".":
                # the last attribute of a chain: "np.random.randn" -> randn
                if (after == "." and not word[:1].isupper()) or (s >= 2 and code[s - 2].isdigit()):
                    continue
            elif not (after == "(" or (after == "=" and code[e : e + 2] != "==")):
                continue
            self.idents.append((base + s, word))

    def _backtick(self, pos: int, span: str, original: str) -> None:
        """Inline code: a bare name counts even if it is an English word (`map`, `hue`)."""
        stripped = span.strip()
        pos += span.find(stripped[:1]) if stripped else 0
        span = stripped
        bare = _BARE.fullmatch(span) if span == original.strip() else None
        if bare:
            parts = _SCOPE_SEP.split(bare.group(1))
            for k, part in enumerate(parts):
                if len(part) < 2 or part in _HARD_STOP:
                    continue
                if len(parts) > 1:
                    if k == 0 and (part in _ALIASES or part in _RECEIVERS or part in _CODE_STOP):
                        continue
                    if k < len(parts) - 1 and not (part[:1].isupper() or _strong_shape(part)):
                        continue  # package path components: keep the named thing
                self.idents.append((pos + span.find(part), part))
            return
        option = _OPTION.fullmatch(span)
        if option:
            name = option.group(1)
            if _IDENT_FULL.match(name) and len(name) > 1:
                self.idents.append((pos, name))
            return
        self._code(pos, _STRING.sub(_blank_string, span))

    # -- frames --------------------------------------------------------------------------------

    def _ordered_frames(self) -> tuple[list[tuple[int, Frame]], list[tuple[int, int]]]:
        """Frames in text order, each trace turned innermost-last, and the calls they show:
        (caller, callee) indexes into that list, each frame calling the next of its trace."""
        out: list[tuple[int, Frame]] = []
        calls: list[tuple[int, int]] = []
        group: list[tuple[int, Frame]] = []
        group_key: tuple[int, str] | None = None
        for i, block, fmt, frame in [*self.frames, (-1, -1, "", Frame(None, None, None, None))]:
            if (block, fmt) != group_key and group:
                assert group_key is not None
                calls.extend((n, n + 1) for n in range(len(out), len(out) + len(group) - 1))
                out.extend(reversed(group) if group_key[1] in _INNERMOST_FIRST else group)
                group = []
            group_key = (block, fmt)
            group.append((i, frame))
        return out, calls

    # -- clean text ----------------------------------------------------------------------------

    def _title_text(self) -> str:
        """The first line as ``_clean_text`` reads it, when other lines follow it."""
        first = self.first
        if first is None or not any(line.strip() for line in self.lines[first + 1 :]):
            return ""
        return _WS.sub(" ", _dense_line(self.lines[first]))

    def _clean_text(self) -> str:
        """The query for embedding: prose, heads of code blocks, traces as names + error."""
        lines = self.lines
        out: list[str] = []
        seen: set[str] = set()
        block_count: dict[int, int] = {}
        pending: list[str] = []
        size = 0

        def flush() -> None:
            if pending:
                names = list(dict.fromkeys(pending))
                if len(names) > _TRACE_FUNCS:  # both ends: innermost is first or last
                    half = _TRACE_FUNCS // 2
                    names = [*names[:half], "…", *names[-half:]]
                out.append(" ".join(names))
                pending.clear()

        func_lines = self.line_funcs
        for i, raw in enumerate(lines):
            if size > CLEAN_TEXT_LIMIT and not pending:
                break  # enough text; the cap below would drop the rest
            kind, region = self.kind[i], self.region[i]
            if kind in _TRACE_KINDS:
                pending.extend(func_lines.get(i, ()))
                continue
            if not raw.strip():
                continue
            flush()
            if kind == _NOISE or region == _FENCE_LINE:
                continue
            if kind == _ERR:
                line = _ERR_PREFIX.sub("", raw).strip()
                out.append(_strip_urls(line)[:_ERROR_LINE_CHARS])
                size += len(out[-1])
                continue
            if region in (_CODE, _LOG) and self.block[i] >= 0:
                b = self.block[i]
                count = block_count.get(b, 0)
                block_count[b] = count + 1
                limit = _CODE_BLOCK_LINES if region == _CODE else _LOG_BLOCK_LINES
                if count == limit:
                    out.append("…")
                if count >= limit:
                    continue
            line = _dense_line(raw)
            if not line:
                continue
            key = _WS.sub(" ", line)
            if len(key) > 30:
                if key in seen:
                    continue
                seen.add(key)
            out.append(line)
            size += len(line)
        flush()
        clean = _WS.sub(" ", " ".join(out)).strip()
        if len(clean) > CLEAN_TEXT_LIMIT:
            cut = clean.rfind(" ", 0, CLEAN_TEXT_LIMIT)
            clean = clean[: cut if cut > CLEAN_TEXT_LIMIT // 2 else CLEAN_TEXT_LIMIT]
        return clean


def _strip_links(
    line: str,
    base: int,
    paths: list[tuple[int, str]],
    anchors: list[tuple[str, str, int]] | None = None,
) -> str:
    """Blank URLs and e-mail addresses; keep the repository path of a GitHub file link, and
    its ref and line when it links to one (``#L42``, ``#L42-L50``: the first)."""
    if "://" in line or "www." in line:
        for m in _URL.finditer(line):
            url = m.group()
            if _CODE_HOST.match(url):
                blob = _GITHUB_BLOB.search(url)
                path = _is_path(blob.group("path").rstrip("/.,"), "") if blob else None
                if path:
                    paths.append((base + m.start(), path))
                    anchor = _LINE_ANCHOR.search(url.rstrip(".,;:"))
                    if anchor and anchors is not None and blob.group("path") == path:
                        anchors.append((blob.group("ref"), path, int(anchor.group(1))))
        line = _URL.sub(_blank, line)
    if "@" in line:
        line = _EMAIL.sub(_blank, line)
    return line


def _dense_line(raw: str) -> str:
    """A line as the dense query reads it: no links, Markdown line marks or HTML tags."""
    line = _TAG.sub(" ", _MD_PREFIX.sub("", _strip_urls(raw)))
    return _EMPTY_LINK.sub("]", line).strip()


def _strip_urls(line: str) -> str:
    if "://" in line or "www." in line:
        line = _URL.sub(" ", line)
    if "@" in line:
        line = _EMAIL.sub(" ", line)
    return line


def _ordered(items: list[tuple[int, str]]) -> tuple[str, ...]:
    """Deduplicated values sorted by position of first appearance (stable)."""
    out: dict[str, None] = {}
    for _, value in sorted(items, key=lambda item: item[0]):
        out.setdefault(value, None)
    return tuple(out)


def _bare_shape(line: str) -> str:
    """What a plain line of a report (outside fences) looks like: ``_CODE``, ``_LOG``,
    ``_PROSE`` (words in a row, or inline code: Markdown), or ``_OTHER``."""
    stripped = line.strip()
    if "`" in stripped or _MD_QUOTE.match(stripped) or _LABEL.match(stripped):
        return _PROSE
    if _NOISE_LINE.match(line) or _SOCIAL.match(line):
        return _PROSE  # a banner, a session header, a greeting: noise (``_noise``), in no block
    if _LINT_LINE.search(stripped) or _BARE_LOG.match(stripped):
        return _LOG
    if _STRONG_CODE.match(stripped):
        return _CODE
    code = _STRING.sub(" ", stripped)
    comment = _COMMENT.search(code)
    if comment:
        code = code[: comment.start()]
    if _SENTENCE.search(code):
        return _PROSE
    if _DOCTEST.match(line) or _CODE_HINT.match(stripped) or _BARE_CODE.match(stripped):
        return _CODE
    if _BARE_CONFIG.match(stripped):
        return _LOG
    return _OTHER
