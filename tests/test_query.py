# ruff: noqa: E501  (real issue texts and stack traces keep their long lines)
"""Query understanding: stack traces in eight formats, real SWE-bench issue texts, precision.

The issue fragments below are copied from real GitHub issues (the SWE-bench problem
statements in ``shared/eval/dev.jsonl``); tests never read that file.
"""

from __future__ import annotations

import pytest

from agentctx.query import (
    Frame,
    QuerySignals,
    module_to_paths,
    parse_query,
    without_template_lines,
)
from agentctx.retrieve import query_terms


def funcs(q: QuerySignals) -> list[str | None]:
    return [f.function for f in q.frames]


# ---------------------------------------------------------------------------------------
# Python


PY_CHAINED = """\
Calling the client fails:

```
Traceback (most recent call last):
  File "/usr/lib/python3.9/site-packages/requests/models.py", line 910, in json
    return complexjson.loads(self.text, **kwargs)
  File "<frozen importlib._bootstrap>", line 1030, in _gcd_import
  File "/usr/lib/python3.9/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "<stdin>", line 1, in <module>
  File "src/app/client.py", line 33, in fetch
    return resp.json()
requests.exceptions.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
```
"""


def test_python_traceback_chained():
    q = parse_query(PY_CHAINED)
    assert q.frames == (
        Frame("/usr/lib/python3.9/site-packages/requests/models.py", 910, "json", None),
        Frame("/usr/lib/python3.9/json/__init__.py", 346, "loads", None),
        Frame("src/app/client.py", 33, "fetch", None),
    )  # <frozen ...> is skipped; <stdin> / <module> has neither path nor function
    assert q.errors == ("JSONDecodeError",)
    assert q.calls == ((0, 1),)  # json() calls loads(); the second trace is another chain
    assert "json.decoder.JSONDecodeError" in q.dotted
    assert "requests.exceptions.JSONDecodeError" in q.dotted
    assert q.paths == (
        "/usr/lib/python3.9/site-packages/requests/models.py",
        "/usr/lib/python3.9/json/__init__.py",
        "src/app/client.py",
    )
    # code lines inside the trace are not mined for names: frames already say it all
    assert "complexjson" not in q.identifiers and "_default_decoder" not in q.identifiers


def test_python_traceback_with_log_prefixes_and_stdin_function():
    text = (
        "INTERNALERROR> Traceback (most recent call last):\n"
        'INTERNALERROR>   File "/usr/local/lib/python3.8/site-packages/_pytest/main.py", line 191, in wrap_session\n'
        "INTERNALERROR>     session.exitstatus = doit(config, session) or 0\n"
        '> [2022-06-09T13:38:24.824Z]   File "/usr/lib/python3.9/multiprocessing/pool.py", line 205, in __init__\n'
        '  File "<stdin>", line 2, in helper\n'
        "INTERNALERROR> RuntimeError: boom\n"
    )
    q = parse_query(text)
    assert funcs(q) == ["wrap_session", "__init__", "helper"]
    assert q.frames[2] == Frame(None, 2, "helper", None)
    assert q.errors == ("RuntimeError",)


PYTEST_SHORT = """\
==================================== ERRORS ====================================
_ ERROR collecting testcases/test_socks_user_011.py _
/usr/local/lib/python3.8/site-packages/_pytest/runner.py:341: in from_call
    result: Optional[TResult] = func()
/usr/local/lib/python3.8/site-packages/_pytest/runner.py:372: in <lambda>
    call = CallInfo.from_call(lambda: list(collector.collect()), "collect")
/usr/local/lib/python3.8/importlib/__init__.py:127: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
<frozen importlib._bootstrap>:1014: in _gcd_import
    ???
<frozen importlib._bootstrap>:991: in _find_and_load
    ???
/usr/local/lib/python3.8/site-packages/_pytest/assertion/rewrite.py:760: in is_rewrite_disabled
    return "PYTEST_DONT_REWRITE" in docstring
E   TypeError: argument of type 'int' is not iterable
"""


def test_pytest_short_traceback():
    q = parse_query(PYTEST_SHORT)
    assert funcs(q) == ["from_call", None, "import_module", "is_rewrite_disabled"]
    assert q.frames[-1] == Frame(
        "/usr/local/lib/python3.8/site-packages/_pytest/assertion/rewrite.py",
        760,
        "is_rewrite_disabled",
        None,
    )
    assert q.errors == ("TypeError",)
    assert not any("frozen" in (f.path or "") for f in q.frames)
    assert "_gcd_import" not in q.terms()


def test_pytest_failure_location_lines():
    text = """\
```
    def test_all_even():
        even_stevens = list(range(1,100,2))
>       assert all(is_even(number) for number in even_stevens)
E       assert False

test_all_any.py:7: AssertionError
C:\\Python38\\lib\\pathlib.py:1266: FileNotFoundError
```
"""
    q = parse_query(text)
    assert q.frames == (
        Frame("test_all_any.py", 7, None, None),
        Frame("C:/Python38/lib/pathlib.py", 1266, None, None),
    )
    assert q.errors == ("AssertionError", "FileNotFoundError")
    assert {"test_all_even", "even_stevens", "is_even"} <= set(q.identifiers)


def test_pdb_location_line():
    text = "> /srv/project/test_repro.py(10)tearDown()\n-> xxx\n(Pdb) q\n"
    q = parse_query(text)
    assert q.frames == (Frame("/srv/project/test_repro.py", 10, "tearDown", None),)


# ---------------------------------------------------------------------------------------
# JVM and .NET

JAVA = """\
Exception in thread "main" java.lang.IllegalStateException: Failed to start
\tat com.example.app.Server.start(Server.java:42)
\tat com.example.app.Server$Worker.lambda$run$0(Server.java:88)
\tat java.base/java.lang.Thread.run(Thread.java:833)
Caused by: java.lang.NullPointerException: config is null
\tat com.example.app.Config.<init>(Config.java:17)
\tat com.example.app.Server.start(Server.java:40)
\t... 2 more
"""


def test_java_trace_with_caused_by():
    q = parse_query(JAVA)
    # each trace is turned innermost-last, as Python prints it
    assert q.frames == (
        Frame("Thread.java", 833, "Thread.run", "java.lang"),
        Frame("Server.java", 88, "Server.Worker.run", "com.example.app"),
        Frame("Server.java", 42, "Server.start", "com.example.app"),
        Frame("Server.java", 40, "Server.start", "com.example.app"),
        Frame("Config.java", 17, "Config", "com.example.app"),
    )
    assert q.errors == ("IllegalStateException", "NullPointerException")
    assert q.calls == ((0, 1), (1, 2), (3, 4))  # caller first in each trace, none across
    assert "java.lang.NullPointerException" in q.dotted
    assert q.paths == ("Server.java", "Thread.java", "Config.java")
    assert "com.example.app.Server.start" not in q.dotted  # frames are not prose


def test_kotlin_trace_and_native_method():
    text = """\
java.lang.IllegalArgumentException: bad id
    at org.acme.users.UserRepository.find(UserRepository.kt:31)
    at org.acme.users.UserService.load(UserService.kt:12)
    at sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
"""
    q = parse_query(text)
    assert q.frames[-1] == Frame("UserRepository.kt", 31, "UserRepository.find", "org.acme.users")
    assert q.frames[0] == Frame(None, None, "NativeMethodAccessorImpl.invoke0", "sun.reflect")
    assert q.errors == ("IllegalArgumentException",)


def test_csharp_trace():
    text = """\
Unhandled exception. System.InvalidOperationException: Sequence contains no elements
   at System.Linq.ThrowHelper.ThrowNoElementsException()
   at MyApp.Services.OrderService.GetLatest(Int32 customerId) in C:\\src\\MyApp\\Services\\OrderService.cs:line 42
   at MyApp.Controllers.OrdersController.<Index>d__3.MoveNext() in C:\\src\\MyApp\\Controllers\\OrdersController.cs:line 18
"""
    q = parse_query(text)
    assert q.frames == (
        Frame(
            "C:/src/MyApp/Controllers/OrdersController.cs",
            18,
            "OrdersController.Index",
            "MyApp.Controllers",
        ),
        Frame(
            "C:/src/MyApp/Services/OrderService.cs", 42, "OrderService.GetLatest", "MyApp.Services"
        ),
        Frame(None, None, "ThrowHelper.ThrowNoElementsException", "System.Linq"),
    )
    assert q.errors == ("InvalidOperationException",)
    assert "System.InvalidOperationException" in q.dotted


# ---------------------------------------------------------------------------------------
# JavaScript


def test_node_trace():
    text = """\
TypeError: Cannot read properties of undefined (reading 'bar')
    at Object.handler (/app/src/server.js:10:9)
    at Router.dispatch (/app/node_modules/express/lib/router/index.js:284:7)
    at /app/src/routes/users.js:22:15
    at async loadUser (file:///app/src/users.mjs:3:9)
    at new UserStore (/app/src/store.js:5:11)
    at Module._compile (node:internal/modules/cjs/loader:1105:14)
"""
    q = parse_query(text)
    assert q.frames == (
        Frame("/app/src/store.js", 5, "UserStore", None),
        Frame("/app/src/users.mjs", 3, "loadUser", None),
        Frame("/app/src/routes/users.js", 22, None, None),
        Frame("/app/node_modules/express/lib/router/index.js", 284, "Router.dispatch", None),
        Frame("/app/src/server.js", 10, "handler", None),
    )  # node:internal frames are dropped
    assert q.errors == ("TypeError",)
    assert "/app/src/users.mjs" in q.paths


def test_browser_trace_keeps_url_path_only():
    text = """\
TypeError: this.props.onSave is not a function
handleClick@http://localhost:3000/static/js/main.chunk.js:120:20
dispatch@webpack:///./src/store/dispatch.js:14:3
"""
    q = parse_query(text)
    assert q.frames == (
        Frame("src/store/dispatch.js", 14, "dispatch", None),
        Frame("/static/js/main.chunk.js", 120, "handleClick", None),
    )
    assert "localhost" not in " ".join(q.paths)
    assert "onSave" in q.identifiers


# ---------------------------------------------------------------------------------------
# Go, Rust, Ruby


def test_go_panic():
    text = """\
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a8f2e]

goroutine 1 [running]:
github.com/acme/proj/server.(*Server).Start(0x0, {0x0, 0x0})
\t/home/u/proj/server/server.go:42 +0x1d
main.run(...)
\t/home/u/proj/main.go:17
main.main()
\t/home/u/proj/main.go:10 +0x25
exit status 2
"""
    q = parse_query(text)
    assert q.frames == (
        Frame("/home/u/proj/main.go", 10, "main", "main"),
        Frame("/home/u/proj/main.go", 17, "run", "main"),
        Frame("/home/u/proj/server/server.go", 42, "Server.Start", "github.com/acme/proj/server"),
    )
    assert q.errors == ()  # "panic" is not an exception class
    assert "github.com/acme/proj/server" not in q.paths  # a package, not a file


def test_rust_panic_old_style():
    text = (
        "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/main.rs:10:5\n"
        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
    )
    q = parse_query(text)
    assert q.frames == (Frame("src/main.rs", 10, None, None),)
    assert q.paths == ("src/main.rs",)


def test_rust_panic_new_style_with_backtrace():
    text = """\
thread 'main' panicked at src/parser/lexer.rs:88:14:
index out of bounds: the len is 3 but the index is 7
stack backtrace:
   0: rust_begin_unwind
             at /rustc/90c541806f23a127002de5b4038be731ba1458ca/library/std/src/panicking.rs:578:5
   1: core::panicking::panic_fmt
             at /rustc/90c541806f23a127002de5b4038be731ba1458ca/library/core/src/panicking.rs:67:14
   2: mycrate::parser::lexer::Lexer::next_token
             at ./src/parser/lexer.rs:88:14
   3: mycrate::parser::parse
             at ./src/parser/mod.rs:20:9
"""
    q = parse_query(text)
    assert q.frames == (
        Frame("src/parser/lexer.rs", 88, None, None),
        Frame("src/parser/mod.rs", 20, "parse", "mycrate::parser"),
        Frame("src/parser/lexer.rs", 88, "Lexer.next_token", "mycrate::parser::lexer"),
    )  # std/core frames are dropped
    assert q.paths == ("src/parser/lexer.rs", "src/parser/mod.rs")
    assert "rust_begin_unwind" not in q.terms()


def test_ruby_trace():
    text = """\
app/models/user.rb:10:in `save': undefined method `name' for nil:NilClass (NoMethodError)
\tfrom app/controllers/users_controller.rb:25:in `block in create'
\tfrom app/controllers/users_controller.rb:20:in 'UsersController#create'
\tfrom bin/rails:4:in `<main>'
"""
    q = parse_query(text)
    assert q.frames == (
        Frame("bin/rails", 4, None, None),
        Frame("app/controllers/users_controller.rb", 20, "UsersController.create", None),
        Frame("app/controllers/users_controller.rb", 25, "create", None),
        Frame("app/models/user.rb", 10, "save", None),
    )
    assert q.errors == ("NoMethodError",)


# ---------------------------------------------------------------------------------------
# Real SWE-bench issue texts (fragments copied from shared/eval/dev.jsonl)

SEABORN_2848 = """\
PairGrid errors with `hue` assigned in `map`
In seaborn version 0.9.0 I was able to use the following Code to plot scatterplots across a PairGrid with categorical hue. The reason I am not using the "hue" keyword in creating the PairGrid is, that I want one regression line (with regplot) and not one regression per hue-category.
```python
import seaborn as sns
iris = sns.load_dataset("iris")
g = sns.PairGrid(iris, y_vars=["sepal_length","sepal_width"], x_vars=["petal_length","petal_width"])
g.map(sns.scatterplot, hue=iris["species"])
g.map(sns.regplot, scatter=False)
```

However, since I updated to searbon 0.11.1 the following Error message occurs:
```
---------------------------------------------------------------------------
KeyError                                  Traceback (most recent call last)
~/.Software/miniforge3/envs/py3.9/lib/python3.8/site-packages/seaborn/_core.py in _lookup_single(self, key)
    143             # Use a value that's in the original data vector
--> 144             value = self.lookup_table[key]
    145         except KeyError:

KeyError: 'setosa'

During handling of the above exception, another exception occurred:

TypeError                                 Traceback (most recent call last)
<ipython-input-3-46dd21e9c95a> in <module>
      2 iris = sns.load_dataset("iris")
      3 g = sns.PairGrid(iris, y_vars=["sepal_length","sepal_width"], x_vars=["petal_length","species"])
----> 4 g.map(sns.scatterplot, hue=iris["species"])
      5

~/.Software/miniforge3/envs/py3.9/lib/python3.8/site-packages/seaborn/axisgrid.py in map(self, func, **kwargs)
   1263         row_indices, col_indices = np.indices(self.axes.shape)
   1264         indices = zip(row_indices.flat, col_indices.flat)
-> 1265         self._map_bivariate(func, indices, **kwargs)
   1266
   1267         return self

~/.Software/miniforge3/envs/py3.9/lib/python3.8/site-packages/seaborn/_core.py in _lookup_single(self, key)
    149                 normed = self.norm(key)
    150             except TypeError as err:
--> 151                 if np.isnan(key):
    152                     value = (0, 0, 0, 0)
    153                 else:

TypeError: ufunc 'isnan' not supported for the input types, and the inputs could not be safely coerced to any supported types according to the casting rule ''safe''
```
"""


def test_seaborn_2848_ipython7_traceback_and_code_block():
    q = parse_query(SEABORN_2848)
    site = "~/.Software/miniforge3/envs/py3.9/lib/python3.8/site-packages/seaborn/"
    assert q.frames == (
        Frame(site + "_core.py", 144, "_lookup_single", None),
        Frame(site + "axisgrid.py", 1265, "map", None),
        Frame(site + "_core.py", 151, "_lookup_single", None),
    )
    assert q.paths == (site + "_core.py", site + "axisgrid.py")
    assert q.errors == ("KeyError", "TypeError")
    assert {"PairGrid", "hue", "map", "load_dataset", "regplot"} <= set(q.identifiers)
    assert "sns.PairGrid" in q.dotted and "sns.load_dataset" in q.dotted
    # string contents and plain prose are not identifiers
    assert not {"iris", "setosa", "species", "sepal_length", "The", "However"} & set(q.identifiers)


REQUESTS_1724 = """\
Unicode method names cause UnicodeDecodeError for some requests in Python 2.7.2
The following example works fine:

```
files = {u'file': open(u'/usr/bin/diff', u'rb')}
response = requests.request(method='POST', url=u'http://httpbin.org/post', files=files)
```

```
Traceback (most recent call last):
  File "/Users/hwkns/test_requests.py", line 6, in <module>
    response = requests.request(method=u'POST', url=u'http://httpbin.org/post', files=files)
  File "/Library/Python/2.7/site-packages/requests/api.py", line 44, in request
    return session.request(method=method, url=url, **kwargs)
  File "/Library/Python/2.7/site-packages/requests/sessions.py", line 335, in request
    resp = self.send(prep, **send_kwargs)
  File "/Library/Python/2.7/site-packages/requests/sessions.py", line 438, in send
    r = adapter.send(request, **kwargs)
  File "/Library/Python/2.7/site-packages/requests/adapters.py", line 292, in send
    timeout=timeout
  File "/Library/Python/2.7/site-packages/requests/packages/urllib3/connectionpool.py", line 428, in urlopen
    body=body, headers=headers)
  File "/System/Library/Frameworks/Python.framework/Versions/2.7/lib/python2.7/httplib.py", line 809, in _send_output
    msg += message_body
UnicodeDecodeError: 'ascii' codec can't decode byte 0xcf in position 140: ordinal not in range(128)
```

My guess is that `u'POST'` is infecting the header with unicode when it should be a string.  This is because `sessions.py:313` is simply:

```
req.method = method.upper()
```

My requests version is 1.2.3, but I see the same `.upper()` being used in the current source.
"""


def test_requests_1724_python_traceback():
    q = parse_query(REQUESTS_1724)
    assert funcs(q) == [None, "request", "request", "send", "send", "urlopen", "_send_output"]
    assert q.frames[3] == Frame(
        "/Library/Python/2.7/site-packages/requests/sessions.py", 438, "send", None
    )
    assert "/Library/Python/2.7/site-packages/requests/sessions.py" in q.paths
    assert "sessions.py" in q.paths  # from `sessions.py:313`
    assert q.errors == ("UnicodeDecodeError",)
    assert "upper" in q.identifiers
    assert "range" not in q.identifiers  # "not in range(128)" is a message, not code
    assert "httpbin.org" not in q.dotted  # URLs are dropped
    assert {"send", "urlopen", "unicodedecodeerror", "upper"} <= set(q.terms())


REQUESTS_1963 = """\
`Session.resolve_redirects` copies the original request for all subsequent requests, can cause incorrect method selection
Consider the following redirection chain:

```
POST /do_something HTTP/1.1
Host: server.example.com
...

HTTP/1.1 307 Temporary Redirect
Location: //failover.example.com/new_thing_1513
```

The intermediate 303 See Other has caused the POST to be converted to
a GET.  The subsequent 307 should preserve the GET.  However, because
`Session.resolve_redirects` starts each iteration by copying the _original_
request object, Requests will issue a POST!
"""


def test_requests_1963_backticked_method():
    q = parse_query(REQUESTS_1963)
    assert q.dotted == ("Session.resolve_redirects",)
    assert q.identifiers[:2] == ("Session", "resolve_redirects")
    assert "_original_" not in q.identifiers  # markdown emphasis
    assert "original" not in q.identifiers
    assert not any(p.startswith("HTTP") for p in q.paths)  # "HTTP/1.1" is no path
    assert "server.example.com" not in q.dotted


REQUESTS_2317 = """\
method = builtin_str(method) problem
In requests/sessions.py is a command:

method = builtin_str(method)
Converts method from
b'GET'
to
"b'GET'"

I am using python3.4 and python-neutronclient (2.3.9) with requests (2.4.3).  neutronclient is broken because it uses this "args = utils.safe_encode_list(args)" command which converts all the values to binary string, including method.
"""


def test_requests_2317_path_in_prose():
    q = parse_query(REQUESTS_2317)
    assert q.paths == ("requests/sessions.py",)
    assert q.identifiers == ("builtin_str", "safe_encode_list")
    assert q.dotted == ("utils.safe_encode_list",)
    assert not any("python3" in d for d in q.dotted)


REQUESTS_863 = """\
Allow lists in the dict values of the hooks argument
Currently the Request class has a .register_hook() method but it parses the dictionary it expects from it's hooks argument weirdly: the argument can only specify one hook function per hook.  If you pass in a list of hook functions per hook the code in Request.**init**() will wrap the list in a list which then fails when the hooks are consumed (since a list is not callable).  This is especially annoying since you can not use multiple hooks from a session.  The only way to get multiple hooks now is to create the request object without sending it, then call .register_hook() multiple times and then finally call .send().
"""


def test_requests_863_markdown_mangled_dunder():
    q = parse_query(REQUESTS_863)
    assert q.dotted == ("Request.__init__",)
    assert q.identifiers == ("register_hook", "__init__", "send")
    assert q.terms() == ["__init__", "register_hook", "send"]


XARRAY_4094 = """\
to_unstacked_dataset broken for single-dim variables
<!-- A short summary of the issue, if appropriate -->


#### MCVE Code Sample

```python
arr = xr.DataArray(
     np.arange(3),
     coords=[("x", [0, 1, 2])],
 )
data = xr.Dataset({"a": arr, "b": arr})
stacked = data.to_stacked_array('y', sample_dims=['x'])
unstacked = stacked.to_unstacked_dataset('y')
# MergeError: conflicting values for variable 'y' on objects to be combined. You can skip this check by specifying compat='override'.
```

#### Expected Output
A working roundtrip.

#### Versions

<details><summary>Output of <tt>xr.show_versions()</tt></summary>

INSTALLED VERSIONS
------------------
commit: None
python: 3.7.3 (default, Mar 27 2019, 22:11:17)
[GCC 7.3.0]
python-bits: 64
OS: Linux
OS-release: 4.15.0-96-generic
machine: x86_64
processor: x86_64
byteorder: little
LC_ALL: None
LANG: en_GB.UTF-8
LOCALE: en_GB.UTF-8
libhdf5: 1.10.4

xarray: 0.15.1
pandas: 1.0.3
numpy: 1.17.3
nc_time_axis: None
PseudoNetCDF: None
setuptools: 41.0.0

</details>
"""


def test_xarray_4094_code_block_and_version_dump():
    q = parse_query(XARRAY_4094)
    assert q.identifiers[0] == "to_unstacked_dataset"
    assert {"to_stacked_array", "sample_dims", "DataArray", "arange", "show_versions"} <= set(
        q.identifiers
    )
    assert q.errors == ("MergeError",)  # from a comment inside the code block
    assert {"xr.DataArray", "data.to_stacked_array", "stacked.to_unstacked_dataset"} <= set(
        q.dotted
    )
    # the environment dump is noise: none of its keys are identifiers
    assert not {"nc_time_axis", "LC_ALL", "PseudoNetCDF", "x86_64", "en_GB"} & set(q.identifiers)
    assert "en_GB.UTF" not in q.dotted
    assert "INSTALLED VERSIONS" not in q.clean_text and "libhdf5" not in q.clean_text
    assert "A short summary" not in q.clean_text  # HTML comments are dropped


XARRAY_6721 = """\
Accessing chunks on zarr backed xarray seems to load entire array into memory
### What happened?

When running the following example it appears the entire dataset is loaded into memory when accessing the `chunks` attribute:

```python
import xarray as xr

url = "https://ncsa.osn.xsede.org/Pangeo/pangeo-forge/swot_adac/FESOM/surf/fma.zarr"
ds = xr.open_dataset(url, engine='zarr') # note that ds is not chunked but still uses lazy loading
ds.chunks
```

### Relevant log output

```Python
File ~/Downloads/minicondam1/envs/dev3.9/lib/python3.9/site-packages/xarray/core/dataset.py:2110, in Dataset.chunks(self)
   2095 @property
   2096 def chunks(self) -> Mapping[Hashable, tuple[int, ...]]:
   2097     \"\"\"
   2098     Mapping from dimension names to block lengths for this dataset's data, or None if
   2099     the underlying data is not a dask array.
   (...)
   2108     xarray.unify_chunks
   2109     \"\"\"
-> 2110     return get_chunksizes(self.variables.values())

File ~/Downloads/minicondam1/envs/dev3.9/lib/python3.9/site-packages/xarray/core/common.py:1815, in get_chunksizes(variables)
   1813 chunks: dict[Any, tuple[int, ...]] = {}
   1814 for v in variables:
-> 1815     if hasattr(v.data, "chunks"):
   1816         for dim, c in v.chunksizes.items():
   1817             if dim in chunks and c != chunks[dim]:

File ~/Downloads/minicondam1/envs/dev3.9/lib/python3.9/site-packages/xarray/core/variable.py:339, in Variable.data(self)
    337     return self._data
    338 else:
--> 339     return self.values

File ~/Downloads/minicondam1/envs/dev3.9/lib/python3.9/site-packages/xarray/core/indexing.py:552, in MemoryCachedArray.__array__(self, dtype)
    551 def __array__(self, dtype=None):
--> 552     self._ensure_cached()
    553     return np.asarray(self.array, dtype=dtype)
```
"""


def test_xarray_6721_ipython8_traceback():
    q = parse_query(XARRAY_6721)
    assert funcs(q) == [
        "Dataset.chunks",
        "get_chunksizes",
        "Variable.data",
        "MemoryCachedArray.__array__",
    ]
    site = "~/Downloads/minicondam1/envs/dev3.9/lib/python3.9/site-packages/xarray/core/"
    assert q.frames[1] == Frame(site + "common.py", 1815, "get_chunksizes", None)
    assert q.paths[0] == site + "dataset.py"
    assert not any("zarr" in p for p in q.paths)  # fma.zarr sits in a URL
    assert {"chunks", "open_dataset"} <= set(q.identifiers)
    assert "xsede" not in q.clean_text and "https" not in q.clean_text
    assert {"dataset", "chunks", "get_chunksizes", "memorycachedarray", "__array__"} <= set(
        q.terms()
    )


PYLINT_6903 = """\
Running pylint in Kubernetes Pod with --jobs=0 fails
### Bug description

I run pylint in multiple parallel stages with Jenkins at a Kubernets agent with `--jobs=0`.

The newly introduced function [pylint.run._query_cpu()](https://github.com/PyCQA/pylint/blob/main/pylint/lint/run.py#L34) is called to determine the number of cpus to use and returns 0 in this case.

> cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us
> \\> -1

### Pylint output

```shell
> [2022-06-09T13:38:24.824Z]   File "/usr/local/lib/python3.9/dist-packages/pylint/lint/run.py", line 197, in __init__
> [2022-06-09T13:38:24.824Z]     linter.check(args)
> [2022-06-09T13:38:24.824Z]   File "/usr/local/lib/python3.9/dist-packages/pylint/lint/parallel.py", line 140, in check_parallel
> [2022-06-09T13:38:24.824Z]     with multiprocessing.Pool(
> [2022-06-09T13:38:24.824Z]   File "/usr/lib/python3.9/multiprocessing/pool.py", line 205, in __init__
> [2022-06-09T13:38:24.824Z]     raise ValueError("Number of processes must be at least 1")
```

### Pylint version

```shell
pylint>2.14.0
```
"""


def test_pylint_6903_github_link_and_prefixed_frames():
    q = parse_query(PYLINT_6903)
    assert q.paths[0] == "pylint/lint/run.py"  # from the GitHub blob link
    assert "/sys/fs/cgroup/cpu/cpu.cfs_quota_us" in q.paths
    assert "pylint.run._query_cpu" in q.dotted
    assert {"jobs", "_query_cpu"} <= set(q.identifiers)
    assert funcs(q) == ["__init__", "check_parallel", "__init__"]
    assert q.frames[0].path == "/usr/local/lib/python3.9/dist-packages/pylint/lint/run.py"
    assert "github.com" not in q.clean_text


PYTEST_5103 = """\
Unroll the iterable for all/any calls to get better reports
Sometime I need to assert some predicate on all of an iterable, and for that the builtin functions `all`/`any` are great - but the failure messages aren't useful at all!

- A for loop
```sh
    def test_all_even():
        even_stevens = list(range(1,100,2))
        for number in even_stevens:
>           assert is_even(number)
E           assert False
E            +  where False = is_even(1)

test_all_any.py:7: AssertionError
```
- [x] `pip list` of the virtual environment you are using
```
Package        Version
-------------- -------
atomicwrites   1.3.0
attrs          19.1.0
more-itertools 7.0.0
pluggy         0.9.0
pytest         4.4.0
```
- [x] pytest and operating system versions
`platform darwin -- Python 3.7.3, pytest-4.4.0, py-1.8.0, pluggy-0.9.0`
"""


def test_pytest_5103_backticked_builtins_and_pytest_output():
    q = parse_query(PYTEST_5103)
    assert q.identifiers[:2] == ("all", "any")
    assert {"test_all_even", "is_even"} <= set(q.identifiers)
    assert q.paths == ("test_all_any.py",)
    assert q.frames == (Frame("test_all_any.py", 7, None, None),)
    assert q.errors == ("AssertionError",)
    assert not {"atomicwrites", "attrs", "pluggy", "Python", "platform"} & set(q.identifiers)
    assert "atomicwrites" not in q.clean_text  # pip list is noise


PYLINT_5859 = """\
"--notes" option ignores note tags that are entirely punctuation
### Bug description

If a note tag specified with the `--notes` option is entirely punctuation, pylint won't report a fixme warning (W0511).

```python
# YES: yes
# ???: no
```

`pylint test.py --notes="YES,???"` will return a fixme warning (W0511) for the first line, but not the second.

### Pylint output

```shell
************* Module test
test.py:1:1: W0511: YES: yes (fixme)
```
"""


def test_pylint_5859_option_name():
    q = parse_query(PYLINT_5859)
    assert q.identifiers == ("notes",)
    assert q.paths == ("test.py",)
    assert q.frames == () and q.errors == ()


PYLINT_7114 = """\
Linting fails if module contains module of the same name
### Steps to reproduce

Given multiple files:
```
.
`-- a/
    |-- a.py
    `-- b.py
```
Which are all empty, running `pylint a` fails:

```
$ pylint a
************* Module a
a/__init__.py:1:0: F0010: error while code parsing: Unable to load file a/__init__.py:
[Errno 2] No such file or directory: 'a/__init__.py' (parse-error)
$
```

However, if I rename `a.py`, `pylint a` succeeds. Alternatively, I can also `touch a/__init__.py`, but that shouldn't be necessary anymore.
"""


def test_pylint_7114_short_file_names():
    q = parse_query(PYLINT_7114)
    assert q.paths == ("a.py", "b.py", "a/__init__.py")
    assert q.identifiers == ()  # `pylint a` and `touch ...` are shell commands
    assert q.dotted == ()


PYTEST_8365 = """\
tmpdir creation fails when the username contains illegal characters for directory names
`tmpdir`, `tmpdir_factory` and `tmp_path_factory` rely on `getpass.getuser()` for determining the `basetemp` directory. I found that the user name returned by `getpass.getuser()` may return characters that are not allowed for directory names.

When trying to create a temp directory in pytest through e.g. `tmpdir_factory.mktemp('foobar')` this fails with the following error message:
```
self = WindowsPath('C:/Users/john_doe/AppData/Local/Temp/pytest-of-contoso/john_doe')
mode = 511, parents = False, exist_ok = True

    def mkdir(self, mode=0o777, parents=False, exist_ok=False):
        \"\"\"
        Create a new directory at this given path.
        \"\"\"
        if self._closed:
            self._raise_closed()
        try:
>           self._accessor.mkdir(self, mode)
E           FileNotFoundError: [WinError 3] The system cannot find the path specified: 'C:\\\\Users\\\\john_doe\\\\AppData\\\\Local\\\\Temp\\\\pytest-of-contoso\\\\john_doe'

C:\\Python38\\lib\\pathlib.py:1266: FileNotFoundError
```
"""


def test_pytest_8365_windows_paths_and_backticks():
    q = parse_query(PYTEST_8365)
    assert q.identifiers[:4] == ("tmpdir", "tmpdir_factory", "tmp_path_factory", "getuser")
    assert "getpass.getuser" in q.dotted and "tmpdir_factory.mktemp" in q.dotted
    assert "getpass" not in q.identifiers or q.identifiers.index("getuser") < q.identifiers.index(
        "getpass"
    )
    assert "C:/Python38/lib/pathlib.py" in q.paths
    assert q.frames == (Frame("C:/Python38/lib/pathlib.py", 1266, None, None),)
    assert q.errors[0] == "FileNotFoundError"
    assert "e.g" not in q.dotted


FLASK_4045 = """\
Raise error when blueprint name contains a dot
This is required since every dot is now significant since blueprints can be nested. An error was already added for endpoint names in 1.0, but should have been added for this as well.
"""


def test_flask_4045_plain_prose_has_no_strong_signals():
    q = parse_query(FLASK_4045)
    assert (q.paths, q.dotted, q.identifiers, q.frames, q.errors) == ((), (), (), (), ())
    assert q.terms() == []
    assert q.clean_text.startswith("Raise error when blueprint name contains a dot This is")


XARRAY_3677 = """\
Merging dataArray into dataset using dataset method fails
While it's possible to merge a dataset and a dataarray object using the top-level `merge()` function, if you try the same thing with the `ds.merge()` method it fails.

```python
import xarray as xr

ds = xr.Dataset({'a': 0})
da = xr.DataArray(1, name='b')

expected = xr.merge([ds, da])  # works fine
print(expected)

ds.merge(da)  # fails
```

Output:
```
Traceback (most recent call last):
  File "mwe.py", line 6, in <module>
    actual = ds.merge(da)
  File "/home/tegn500/Documents/Work/Code/xarray/xarray/core/dataset.py", line 3591, in merge
    fill_value=fill_value,
  File "/home/tegn500/Documents/Work/Code/xarray/xarray/core/merge.py", line 835, in dataset_merge_method
    objs, compat, join, priority_arg=priority_arg, fill_value=fill_value
  File "/home/tegn500/Documents/Work/Code/xarray/xarray/core/merge.py", line 548, in merge_core
    coerced = coerce_pandas_values(objects)
  File "/home/tegn500/Documents/Work/Code/xarray/xarray/core/merge.py", line 394, in coerce_pandas_values
    for k, v in obj.items():
  File "/home/tegn500/Documents/Work/Code/xarray/xarray/core/common.py", line 233, in __getattr__
    "{!r} object has no attribute {!r}".format(type(self).__name__, name)
AttributeError: 'DataArray' object has no attribute 'items'
```
"""


def test_xarray_3677_traceback_and_backticks():
    q = parse_query(XARRAY_3677)
    assert funcs(q) == [
        None,
        "merge",
        "dataset_merge_method",
        "merge_core",
        "coerce_pandas_values",
        "__getattr__",
    ]
    assert q.frames[0] == Frame("mwe.py", 6, None, None)
    assert q.errors == ("AttributeError",)
    assert "merge" in q.identifiers and "ds" not in q.identifiers  # `ds.merge()`: a receiver
    assert {"xr.Dataset", "xr.merge", "ds.merge"} <= set(q.dotted)
    assert "/home/tegn500/Documents/Work/Code/xarray/xarray/core/merge.py" in q.paths


# ---------------------------------------------------------------------------------------
# clean_text


def test_clean_text_collapses_a_long_traceback():
    frames = "".join(
        f'  File "/srv/app/pkg/mod{i}.py", line {i + 10}, in step_{i}\n    value = step_{i + 1}(value)\n'
        for i in range(60)
    )
    text = (
        "Import fails on startup\n\n"
        "```\nTraceback (most recent call last):\n"
        + frames
        + "ValueError: bad config key 'port'\n```\n\nSee https://example.com/docs/config for details."
    )
    q = parse_query(text)
    assert len(q.frames) == 60
    clean = q.clean_text
    assert clean.startswith("Import fails on startup")
    assert "ValueError: bad config key 'port'" in clean
    assert "step_59" in clean  # innermost function names are kept
    assert "/srv/app" not in clean and "line 69" not in clean  # frame noise is gone
    assert "value = step_" not in clean  # so are the source lines
    assert "example.com" not in clean and "https" not in clean
    assert len(clean) < len(text) / 4


def test_clean_text_truncates_long_blocks_and_caps_length():
    code = "\n".join(f"result_{i} = compute(value_{i})" for i in range(200))
    text = f"Slow loop\n\n```python\n{code}\n```\n\nEnd of report. " + "word " * 1000
    q = parse_query(text)
    assert "result_3 " in q.clean_text and "result_150" not in q.clean_text
    assert "…" in q.clean_text
    assert len(q.clean_text) <= 2000
    assert "  " not in q.clean_text and "\n" not in q.clean_text


def test_clean_text_drops_duplicate_paragraphs():
    para = "The session object keeps the original method across redirects in resolve_redirects."
    q = parse_query(f"Title\n\n{para}\n\n{para}\n")
    assert q.clean_text.count("resolve_redirects") == 1


# ---------------------------------------------------------------------------------------
# Precision of the prose extractors


def test_prose_words_versions_urls_and_emails_are_not_signals():
    text = (
        "The parser breaks. However, This happens on Python 3.9.1 and v2.0.0, e.g. when "
        "running on macOS or GitHub Actions. See https://github.com/org/repo/issues/12 "
        "or mail dev.team@example.org, hash 0x1f3a and deadbeef1234. i.e. nothing works."
    )
    q = parse_query(text)
    assert q.identifiers == ()
    assert q.dotted == ()
    assert q.paths == ()
    assert q.errors == ()


def test_prose_code_shapes_are_identifiers():
    text = (
        "Calling PairGrid.map_diag with a DataFrame breaks __init__; the _private_helper and "
        "MAX_RETRIES constant are involved, and so is getHTTPResponse. Use os.path.join() "
        "and call reset() first."
    )
    q = parse_query(text)
    assert q.identifiers == (
        "PairGrid",
        "map_diag",
        "DataFrame",
        "__init__",
        "_private_helper",
        "MAX_RETRIES",
        "getHTTPResponse",
        "reset",
    )
    assert q.dotted == ("PairGrid.map_diag", "os.path.join")


def test_paths_need_an_extension_or_a_directory_shape():
    text = (
        "Edit setup.cfg and src/_pytest/python.py (see ./docs/conf.py, Makefile, .pylintrc). "
        "It works and/or fails with HTTP/1.1 in 17/15 cases; Node.js is fine; "
        "call resp.json() and check /etc/hosts and lib/pkg/sub/ too."
    )
    q = parse_query(text)
    assert q.paths == (
        "setup.cfg",
        "src/_pytest/python.py",
        "docs/conf.py",
        "Makefile",
        ".pylintrc",
        "/etc/hosts",
        "lib/pkg/sub/",
    )
    assert "resp.json" in q.dotted


def test_dotted_names():
    q = parse_query(
        "Both xr.Dataset.to_netcdf and np.ndarray fail; requests.sessions.Session.send too. "
        "Visit www.example.com or docs.python.org, version 1.2.3, file setup.py, end.Then more."
    )
    assert q.dotted == ("xr.Dataset.to_netcdf", "np.ndarray", "requests.sessions.Session.send")
    assert q.terms() == ["dataset", "to_netcdf", "ndarray", "session", "send"]


def test_errors_from_prose_and_qualified_names():
    q = parse_query(
        "It raises requests.exceptions.ConnectionError, sometimes a KeyError, "
        "never a plain Exception or Error."
    )
    assert q.errors == ("ConnectionError", "KeyError")
    assert "requests.exceptions.ConnectionError" in q.dotted


def test_doctest_and_indented_code_blocks():
    text = (
        "Example:\n\n"
        ">>> from pkg.io import read_table\n"
        ">>> read_table('x.csv', skip_rows=2)\n"
        "Traceback (most recent call last):\n"
        "KeyError: 'a'\n\n"
        "Also:\n\n"
        "    frame = load_frame(path)\n"
        "    frame.normalize()\n"
    )
    q = parse_query(text)
    assert q.identifiers[:2] == ("read_table", "skip_rows")
    assert {"load_frame", "normalize"} <= set(q.identifiers)
    assert "frame" not in q.identifiers and "path" not in q.identifiers
    assert "x.csv" in q.paths
    assert q.errors == ("KeyError",)


def test_crlf_input_and_determinism():
    text = REQUESTS_1724.replace("\n", "\r\n")
    a, b = parse_query(text), parse_query(text)
    assert a == b
    assert a.frames == parse_query(REQUESTS_1724).frames
    assert a.text == text


def test_title_names_what_the_first_line_of_a_report_names():
    q = parse_query(
        "`Session.resolve_redirects` copies the request\n\n"
        "Calling `prepare_request` and then `send` keeps the old method."
    )
    assert q.title == ("Session.resolve_redirects", "Session", "resolve_redirects")
    assert "prepare_request" in q.identifiers and "prepare_request" not in q.title
    # A one-line query has no title: all of it is the question.
    assert parse_query("why does `resolve_redirects` copy the request?").title == ()
    # A report that starts with code has no title either.
    assert parse_query("```\nfoo_bar(1)\n```\nfails with KeyError").title == ()
    assert parse_query("\n\nto_unstacked_dataset broken\nbody").title == ("to_unstacked_dataset",)


def test_empty_query():
    q = parse_query("")
    assert q == QuerySignals("", "", (), (), (), (), ())
    assert q.terms() == []


# ---------------------------------------------------------------------------------------
# module_to_paths


def test_module_to_paths_longest_prefix_first():
    assert module_to_paths("pkg.io.parser") == [
        "pkg/io/parser.py",
        "pkg/io/parser/__init__.py",
        "pkg/io/parser",
        "pkg/io.py",
        "pkg/io/__init__.py",
        "pkg/io",
        "pkg.py",
        "pkg/__init__.py",
        "pkg",
    ]


def test_module_to_paths_with_trailing_attributes():
    out = module_to_paths("pkg.io.parser.Parser.read")
    assert out[0] == "pkg/io/parser/Parser/read.py"
    assert out.index("pkg/io/parser.py") < out.index("pkg/io.py")
    assert out[-1] == "pkg"


@pytest.mark.parametrize("bad", ["", "   ", "1.2.3", "a..b", "x.py-y"])
def test_module_to_paths_rejects_non_names(bad):
    assert module_to_paths(bad) == []


def test_trace_lookalikes_in_prose_are_not_frames():
    text = (
        "We looked at the moment (see above) and it failed.\n"
        "Edit setup.py in my project first.\n"
        "Step:1: Done\n"
        "There are .env or .flaskenv files present.\n"
        "### Additional dependencies\n\n_No response_\n"
    )
    q = parse_query(text)
    assert q.frames == ()
    assert q.identifiers == ()
    assert q.paths == ("setup.py", ".env")
    assert "We looked at the moment" in q.clean_text


def test_ipython_header_names_the_error():
    text = (
        "---------------------------------------------------------------------------\n"
        "LinAlgError                               Traceback (most recent call last)\n"
        "File ~/code/seaborn/seaborn/_stats/regression.py:30, in PolyFit._fit_predict(self, data)\n"
        "---> 30     p = np.polyfit(x, y, self.order)\n"
        "\n"
        "File <__array_function__ internals>:180, in polyfit(*args, **kwargs)\n"
        "\n"
        "LinAlgError: SVD did not converge in Linear Least Squares\n"
    )
    q = parse_query(text)
    assert q.errors == ("LinAlgError",)
    assert q.frames == (
        Frame("~/code/seaborn/seaborn/_stats/regression.py", 30, "PolyFit._fit_predict", None),
        Frame(None, 180, "polyfit", None),
    )
    assert q.terms() == ["linalgerror", "polyfit", "_fit_predict"]
    assert q.clean_text == (
        "PolyFit._fit_predict polyfit LinAlgError: SVD did not converge in Linear Least Squares"
    )


def test_options_named_in_the_title_or_a_one_line_query():
    report = parse_query(
        "pytest --collect-only needs a one char shortcut\n\nLike `--co`, or --fixtures-per-test."
    )
    assert report.options == ("--collect-only",)  # the body's options are not the title's
    assert parse_query("why does --runxfail break `skip`?").options == ("--runxfail",)
    assert parse_query("`--recursive=y` ignores ignore-paths\nbody").options == ("--recursive",)
    # Not options: dashes inside words or paths, rules, code before any prose.
    assert parse_query("a--b and ---- and /x/--y\nbody").options == ()
    assert parse_query("```\ntool --x\n```\n--y in prose").options == ()


BUG_TEMPLATE = """\
---
name: Bug report
---
<!-- Thanks for submitting an issue! -->

- [ ] a detailed description of the bug or problem you are having
- [ ] output of `pip list` from the virtual environment you are using
- [ ] minimal example if possible

### Expected behavior
"""


def test_lines_of_the_issue_template_are_left_out_of_the_query():
    report = (
        "Minimal example if possible crashes the collector\n"  # a title stays, even so
        "- [x] a detailed description of the bug or problem you are having\n"
        "* [X] Output of `pip list` from the virtual environment you are using\n"
        "### Expected behavior\n"  # a two-word heading labels the reporter's text: kept
        "The fixture cache keeps a stale value after teardown.\n"
        "    - [ ]   minimal example, if possible!\n"
    )
    kept = without_template_lines(report, BUG_TEMPLATE)
    assert kept == (
        "Minimal example if possible crashes the collector\n"
        "### Expected behavior\n"
        "The fixture cache keeps a stale value after teardown.\n"
    )
    assert without_template_lines(report, "") == report
    # The title is the first line with text, even after blank lines: it stays.
    titled = "\n\nMinimal example if possible\n- [x] minimal example if possible\nStale.\n"
    assert (
        without_template_lines(titled, BUG_TEMPLATE) == "\n\nMinimal example if possible\nStale.\n"
    )
    assert without_template_lines("a b\nno such line here at all\n", BUG_TEMPLATE).endswith("all\n")
    # Only whole words of the template count: a line inside a longer template line does
    # (it is the template's words), a line with a word more does not.
    assert without_template_lines("t\nof the bug or problem\n", BUG_TEMPLATE) == "t\n"
    assert without_template_lines("t\nof the bug or problems\n", BUG_TEMPLATE).endswith(
        "problems\n"
    )


def test_parse_query_with_the_template_has_only_the_reporters_words():
    report = (
        "Cache keeps stale values\n"
        "- [x] a detailed description of the bug or problem you are having\n"
        "- [x] output of `pip list` from the virtual environment you are using\n"
        "The `FixtureDef.cache` holds a value after `teardown`.\n"
    )
    plain = parse_query(report)
    cleaned = parse_query(report, BUG_TEMPLATE)
    assert "virtual environment" in plain.clean_text
    assert cleaned.clean_text == (
        "Cache keeps stale values The `FixtureDef.cache` holds a value after `teardown`."
    )
    assert cleaned.identifiers == plain.identifiers  # the reporter's names all stay
    assert cleaned.dotted == plain.dotted == ("FixtureDef.cache",)


def test_githubs_default_template_lines_are_left_out_in_every_project():
    # no template of the project's own: GitHub's default bug report still is one
    _says_nothing("**Describe the bug**\nA clear and concise description of what the bug is.")
    _says_nothing("If applicable, add screenshots to help explain your problem.")
    q = parse_query(
        _RETRIES + "**Additional context**\nAdd any other context about the problem here.\n"
    )
    assert "context about the problem" not in q.clean_text
    assert "Additional context" in q.clean_text  # a two-word heading labels what follows
    # and with one of the project's, both count
    both = parse_query(
        _RETRIES + "- [x] a detailed description of the bug or problem you are having\n"
        "A clear and concise description of what you expected to happen.\n",
        BUG_TEMPLATE,
    )
    assert both.clean_text == parse_query(_RETRIES).clean_text
    # the reporter's own sentence in the same words stays
    q = parse_query(_RETRIES + "A clear description of what the bug is: max_retries is ignored.\n")
    assert "max_retries is ignored" in q.clean_text


def test_shell_commands_name_a_program_and_its_subcommand():
    from agentctx.query import shell_command

    assert shell_command("flask routes") == [("flask", "routes")]
    assert shell_command("FLASK_APP=x poetry run flask db-upgrade") == [("flask", "db-upgrade")]
    assert shell_command("python3.11 -X dev -m pkg.cli export") == [("-m pkg.cli", "export")]
    assert shell_command("python manage.py sqlmigrate app 0001") == [("manage.py", "sqlmigrate")]
    assert shell_command(r"C:\env\Scripts\tool.exe sync") == [("tool", "sync")]
    assert shell_command("tool --level=3 sync now") == [("tool", "sync")]
    # An option that may take a value: both words are candidates.
    assert shell_command("flask --app hello run --debug") == [("flask", "hello"), ("flask", "run")]
    assert shell_command("sudo ./venv/bin/tool -v sync") == [("tool", "sync")]
    # No subcommand: a path, a file, an option only, nothing, or no program at all.
    for line in (
        "pytest tests/",
        "pylint a.py",
        "pylint --recursive=y",
        "flask",
        "python x",
        "***** Module x",
        "python -c 'print(1)'",
    ):
        assert shell_command(line) == [], line


def test_commands_come_from_prompt_lines_and_shell_blocks_only():
    report = parse_query(
        "flask routes hides subdomains\n\n"
        "Running flask shell works.\n\n"  # prose: not a command line
        "```\n$ flask routes\nEndpoint  Methods  Rule\n```\n"
        "```bash\npip install -e .\nmyapp sync --all\n```\n"
        "```console\noutput line here\n(venv) user@host:~/app$ myapp prune\n```\n"
        "```python\nimport sys\n```\n"
    )
    assert report.commands == (
        ("flask", "routes"),
        ("pip", "install"),
        ("myapp", "sync"),
        ("myapp", "prune"),
    )


def test_quoted_lines_are_code_the_report_shows_outside_its_tracebacks():
    report = parse_query(
        "method = builtin_str(method) problem\n\n"
        "In requests/sessions.py is a command:\n\n"
        "method = builtin_str(method)\n\n"  # a code line in prose: quoted (once)
        "It converts the method to a literal string (see the docs: sessions).\n\n"  # a sentence
        "```python\n>>> r = requests.request(b'GET', url)\nx = 1\nIn [2]: session.send(prep, **kw)\nfor i in range(len(args)):\n```\n"
        "```\nTraceback (most recent call last):\n"
        '  File "/site-packages/requests/sessions.py", line 456, in request\n'
        "    resp = self.send(prep, **send_kwargs)\n"  # a frame's source line: the frame's
        "KeyError: 'unknown method GET'\n```\n"
        "> prepared = self.prepare_request(req)\n"  # a Markdown quote
        "```diff\n-    method = to_native_string(method)\n+    method = method.upper()\n```\n"
    )
    assert report.quoted == (
        "method = builtin_str(method) problem",
        "method = builtin_str(method)",
        "r = requests.request(b'GET', url)",
        "session.send(prep, **kw)",
        "prepared = self.prepare_request(req)",
        "method = to_native_string(method)",
        "method = method.upper()",
    )
    assert "resp = self.send(prep, **send_kwargs)" not in report.quoted
    assert "x = 1" not in report.quoted  # too short to say where it is from
    assert "for i in range(len(args)):" not in report.quoted  # only short, common names
    assert parse_query(f"```\nvalues = [{', '.join(['item'] * 60)}]\n```").quoted == ()  # long
    # Tabs are kept: a Go or Makefile line matches the project's as written.
    assert parse_query("```go\n\tvar\tx = compute(y)\n```").quoted == ("var\tx = compute(y)",)
    assert parse_query("").quoted == ()
    # A huge paste: its first lines.
    from agentctx.query import QUOTED_MAX_LINES

    paste = "".join(f"value_{i} = compute({i})\n" for i in range(QUOTED_MAX_LINES + 20))
    quoted = parse_query("```python\n" + paste + "```").quoted
    assert len(quoted) == QUOTED_MAX_LINES and quoted[0] == "value_0 = compute(0)"


def test_messages_are_the_error_and_warning_lines_a_report_shows():
    report = parse_query(
        "Confusing assertion message with byte strings\n\n"
        "The comparison raises a ValueError when the index is not monotonic.\n\n"  # prose: no
        "```\n    def test_b():\n>       assert b'' == b'42'\n"
        "E       AssertionError: assert b'' == b'42'\n"
        "E         Right contains more items, first extra item: 52\n"
        "E         Right contains more items, first extra item: 52\n"  # a repeat
        "```\n"
        "```\nTraceback (most recent call last):\n"
        '  File "/site-packages/pkg/capture.py", line 12, in write\n'
        '    raise TypeError("write() argument must be str")\n'
        "TypeError: write() argument must be str, not bytes\n```\n"
        "/usr/lib/python3.9/site-packages/pkg/conventions.py:492: SerializationWarning: "
        "variable 'test' has _Unsigned attribute\n"
        "[redacted]/pkg/reporters/text.py:206: UserWarning: Don't recognize the argument\n"
        "ImportError while loading conftest '/src/conftest.py'.\n"
        "collected 3 items\n"  # output, not a message
        "    def write(self, obj):\n"
        "This issues this error:\n\n"
        ">Using pytest.skip outside of a test is not allowed.\n"  # a Markdown quote
        ">>> write(b'x')\n"  # a prompt, not a quote
    )
    assert report.messages == (
        "E       AssertionError: assert b'' == b'42'",
        "E         Right contains more items, first extra item: 52",
        "TypeError: write() argument must be str, not bytes",
        "/usr/lib/python3.9/site-packages/pkg/conventions.py:492: SerializationWarning: "
        "variable 'test' has _Unsigned attribute",
        "[redacted]/pkg/reporters/text.py:206: UserWarning: Don't recognize the argument",
        "ImportError while loading conftest '/src/conftest.py'.",
        ">Using pytest.skip outside of a test is not allowed.",
    )
    # What command-line tools of other languages print.
    assert parse_query(
        "```\nerror[E0308]: mismatched types in the order line\nfatal: not a cart: shop\n"
        "thread 'main' panicked at 'order total overflowed', src/cart.rs:10:5\n"
        "WARNING: the price list is older than the cart\n"
        "/docs/index.rst:3: WARNING: duplicate object description of shop.Cart\n"
        "src/cart.c:4:2: error: unknown type name 'cart_t'\n"
        'Exception in thread "main" java.lang.IllegalStateException: cart is closed\n'
        "errors: 2\n```"  # a count, not a message
    ).messages == (
        "error[E0308]: mismatched types in the order line",
        "fatal: not a cart: shop",
        "thread 'main' panicked at 'order total overflowed', src/cart.rs:10:5",
        "WARNING: the price list is older than the cart",
        "/docs/index.rst:3: WARNING: duplicate object description of shop.Cart",
        "src/cart.c:4:2: error: unknown type name 'cart_t'",
        'Exception in thread "main" java.lang.IllegalStateException: cart is closed',
    )
    assert parse_query("").messages == ()
    assert parse_query("collected 3 items\nall 3 passed").messages == ()
    from agentctx.query import MESSAGES_MAX

    many = "".join(f"E   ValueError: bad value {i}\n" for i in range(MESSAGES_MAX + 5))
    assert len(parse_query(many).messages) == MESSAGES_MAX


def test_anchors_are_links_to_a_line_of_a_file_on_a_code_host():
    report = parse_query(
        "Unsigned bytes are decoded wrongly\n\n"
        "It is handled [here](https://github.com/o/r/blob/df052e7/pkg/coding/vars.py#L311).\n"
        "Also https://github.com/o/r/blob/main/pkg/io.py#L10-L20, "
        "https://github.com/o/r/blame/v2/pkg/cli.py#L99 and the line "
        "https://gitlab.com/o/r/-/blob/v1.2/src/x.go#L7-9.\n"
        "No line: https://github.com/o/r/blob/main/pkg/other.py and "
        "https://github.com/o/r/pull/1746#issuecomment-1 and https://example.com/a.py#L3\n"
    )
    assert report.anchors == (
        ("df052e7", "pkg/coding/vars.py", 311),
        ("main", "pkg/io.py", 10),
        ("v2", "pkg/cli.py", 99),
        ("v1.2", "src/x.go", 7),
    )
    assert "pkg/coding/vars.py" in report.paths and "pkg/other.py" in report.paths


def test_references_are_issues_and_pull_requests_with_the_linked_repository():
    report = parse_query(
        "Attributes are lost since #6461\n\n"
        "It broke with https://github.com/pydata/xarray/pull/1746 (a fork: "
        "https://github.com/me/xarray/issues/12#issuecomment-3), not "
        "https://github.com/Unidata/netcdf-c/pull/1317.\n\n"
        "```python\nx = f()  #123 is a comment here\n```\n"
        "```\nprogress #456\n```\n"
    )
    assert report.references == (
        ("", "ref_6461"),
        ("xarray", "ref_1746"),
        ("xarray", "ref_12"),
        ("netcdf-c", "ref_1317"),
    )
    from agentctx.query import REFERENCES_MAX

    many = parse_query(" ".join(f"#{n}" for n in range(10, 30)))
    assert len(many.references) == REFERENCES_MAX and many.references[0] == ("", "ref_10")


def test_commits_are_the_ones_a_report_names_as_the_cause():
    report = parse_query(
        "Symlinked directories are not collected\n\n"
        "This regressed in b473e515bc57ff1133fe650f1e7e6d7e22e5d841 (included in 6.1.0).\n"
        "Introduced by https://github.com/pytest-dev/pytest/commit/B6166DCCB4D2B481.\n"
        "I run commit: 69c7e01e5167a3137c285cb50d1978252bb8bcbf of main.\n"  # the version
        "```\nregressed in 1234abcd\n```\n"  # in code: not prose
    )
    assert report.commits == (
        ("", "b473e515bc57ff1133fe650f1e7e6d7e22e5d841"),
        ("pytest", "b6166dccb4d2b481"),
    )
    assert parse_query("Bisected to 1234567 (a number)").commits == ()  # no letter


def test_a_conventional_commit_prefix_is_no_call():
    # `fix(parser):` opens a commit message or pull-request title: the type of a change.
    s = parse_query("fix(config): validate render_limit\n\nIt was never checked.")
    assert s.identifiers == ("render_limit",) and s.title == ("render_limit",)
    assert parse_query("feat!: drop reset() from the pool\nbody").identifiers == ("reset",)
    # Anywhere else it is a call, as before.
    assert "fix" in parse_query("Calling fix(config) breaks the build\nbody").identifiers


def test_a_title_that_opens_with_a_module_names_it_as_its_scope():
    assert parse_query("latex: add interval delimiters\n\nbody").scope == "latex"
    assert parse_query("fix(printing): keep the order\nbody").scope == "printing"
    # Kinds of change, capitalised words and prose are no modules.
    for title in ("ENH: faster gcd", "fix: a crash", "Feature request: units", "Why is it slow"):
        assert parse_query(f"{title}\nbody").scope is None


# ---------------------------------------------------------------------------------------
# Reports without Markdown: code and output pasted as plain lines (Trac, Bugzilla, mail)

TRAC_STYLE = """\
weighted mean ignores skipna
Description
\t
Computing a weighted mean drops the skipna argument on the floor.
import numpy as np
import xarray as xr

da = xr.DataArray(
\t[1.0, np.nan],
\tdims="x",
)
da.weighted(xr.ones_like(da)).mean(skipna=False)
I expected nan here, and got 1.0 instead.
"""


def test_unfenced_code_is_read_as_code():
    q = parse_query(TRAC_STYLE)
    # a keyword argument counts only in code: `skipna=` is a name there, a plain word in prose
    assert "skipna" in q.identifiers
    assert "weighted" in q.identifiers  # a method called in code
    # the title's plain words that the code uses are names the title gives
    assert "skipna" in q.title and "weighted" in q.title
    assert "ignores" not in q.title
    # a report that marks code (`...`) marked its title's code too: plain words stay words
    marked = parse_query(TRAC_STYLE.replace("Computing", "Computing `da.weighted`:"))
    assert "skipna" not in marked.title and "skipna" in marked.identifiers
    # the one-word heading under the title is no word of the report
    assert "Description" not in q.clean_text
    assert q.clean_text.startswith("weighted mean ignores skipna Computing a weighted mean")


def test_unfenced_tool_output_is_a_log_block():
    findings = "\n".join(
        f"src/app/views.py:{n}:0: C0301: Line too long ({100 + n}/100) (line-too-long)"
        for n in range(1, 21)
    )
    q = parse_query(
        "Line length checker counts tabs as one column\n\n"
        "Running the linter over the project prints:\n\n"
        f"************* Module app.views\n{findings}\n\n"
        "Tabs should count as the indent width.\n"
    )
    # a log block keeps its first lines in the dense text, as a fenced one would
    assert "src/app/views.py:1:0" in q.clean_text
    assert "src/app/views.py:20:0" not in q.clean_text
    assert "…" in q.clean_text
    assert q.clean_text.endswith("Tabs should count as the indent width.")


def test_prose_stays_prose_without_fences():
    q = parse_query(
        "Plot is empty\n\n"
        "with the default settings the plot is empty (see the attached image)\n"
        "return values are wrong whenever the input holds a NaN\n"
        "I ran `plot(data)` and nothing showed up.\n"
    )
    # prose lines are not code a report quotes, even when they start like a statement
    assert q.quoted == ()
    assert "with the default settings the plot is empty" in q.clean_text


def test_a_one_word_query_is_kept():
    assert parse_query("Retries").clean_text == "Retries"
    assert parse_query("Retries\nDescription\nthey are not configurable").clean_text == (
        "Retries they are not configurable"
    )


def test_a_trackers_edit_stamp_is_no_word_of_the_report():
    q = parse_query(
        "Retries are not configurable\nDescription\n\t \n\t\t(last modified by Jane Roe)\n"
        "\t \nThe client gives up after three tries.\n"
    )
    assert q.clean_text == "Retries are not configurable The client gives up after three tries."


def test_lines_of_courtesy_are_no_words_of_the_report():
    body = "The client gives up after three tries.\n"
    plain = parse_query("Retries are not configurable\n" + body)
    polite = parse_query(
        "Retries are not configurable\nHi all,\n\n" + body + "\nThanks for the great library!\n"
        "Best regards,\n"
    )
    # greetings, thanks and sign-offs leave the dense text and the lexical terms as the
    # report without them has them
    assert polite.clean_text == plain.clean_text
    assert query_terms(polite) == query_terms(plain)


def test_thanks_that_say_more_stay():
    for line in (
        "Thanks to the cache the second call never retries.",
        "Thanks for looking, but the retry count is still ignored.",
        "Hello world prints nothing when retries run out.",
    ):
        q = parse_query("Retries are not configurable\n" + line + "\n")
        assert line in q.clean_text
    # the title is never one: a one-line query is all the user wrote
    assert parse_query("Thanks for the retry option").clean_text == "Thanks for the retry option"


def test_a_version_line_in_a_list_is_a_version_line():
    bare = parse_query("Retries are not configurable\nThe client gives up.\n\nPython: 3.10.4\n")
    listed = parse_query("Retries are not configurable\nThe client gives up.\n\n- Python: 3.10.4\n")
    assert "3.10.4" not in listed.clean_text
    assert listed.clean_text == bare.clean_text
    # a task list's item is not a plain list item
    boxed = parse_query("Retries are not configurable\n- [x] requests: 2.31.0\n")
    assert "requests: 2.31.0" in boxed.clean_text


def test_a_reporters_checked_statements_are_no_words_of_the_report():
    q = parse_query(
        "Retries are not configurable\n"
        "- [x] I have checked that this issue has not already been reported.\n"
        "- [X] I've confirmed this bug exists on the latest version.\n"
        "- [ ] Support `max_retries` in `Session`\n"
        "- [ ] Add a retry option\n"
        "The client gives up.\n"
    )
    assert "checked" not in q.clean_text and "confirmed" not in q.clean_text
    # a to-do list's items say what the report is about
    assert "Add a retry option" in q.clean_text
    assert "max_retries" in q.identifiers


def test_an_unanswered_form_field_says_nothing():
    body = "The client gives up after three tries.\n"
    plain = parse_query("Retries are not configurable\n" + body)
    form = parse_query(
        "Retries are not configurable\n" + body + "\n### Additional information\n\n_No response_\n"
    )
    # GitHub's placeholder for an optional field left empty: no words of the report (the
    # field's heading stays: a section's heading is read whatever it holds)
    assert "response" not in form.clean_text
    assert set(query_terms(form)) - set(query_terms(plain)) == {"additional", "information"}
    # the words themselves in a sentence stay
    said = parse_query("Retries are not configurable\nNo response arrives after three tries.\n")
    assert "No response arrives" in said.clean_text


def test_the_labels_of_an_environment_dump_are_part_of_it():
    q = parse_query(
        "Retries are not configurable\nThe client gives up after three tries.\n\n"
        "```\nSystem:\n    python: 3.9.7 (default, Sep 16 2021, 13:09:58)  [GCC 7.5.0]\n"
        "executable: /usr/local/bin/python3\n   machine: Linux-5.15.0-56-generic-x86_64\n\n"
        "Python dependencies:\n          pip: 22.3.1\n   setuptools: 65.5.0\n"
        "        numpy: 1.23.5\n```\n"
    )
    for word in ("System", "executable", "machine", "dependencies", "numpy"):
        assert word not in q.clean_text
    # a label beside fewer than three version lines is not a dump
    short = parse_query("Retries are not configurable\nSeen with the client:\nrequests: 2.31.0\n")
    assert "Seen with the client" in short.clean_text


def test_a_version_line_with_a_key_of_two_or_three_words():
    q = parse_query(
        "Retries are not configurable\nThe client gives up after three tries.\n\n"
        "**Environment info**\n- OS: Linux\n- Python version: 3.9.7\n- Requests version: 2.31.0\n"
    )
    assert "3.9.7" not in q.clean_text and "Requests version" not in q.clean_text
    # a line with more words before its colon is prose
    said = parse_query("Retries are not configurable\nIt broke when we upgraded to: 3.1\n")
    assert "It broke when we upgraded to" in said.clean_text


def test_a_package_managers_listing_is_an_environment_dump():
    body = "Retries are not configurable\nThe client gives up after three tries.\n"
    plain = parse_query(body)
    for listing in (
        "```\n$ conda list\n# packages in environment at /opt/conda:\n#\n"
        "# Name                    Version                   Build  Channel\n"
        "numpy                     1.23.5          py310h5f9d8c6_0\n"
        "pandas                    1.5.2           py310h1128e8f_0    conda-forge\n```\n",
        "```\n$ python -m pip list\nPackage    Version\n---------- -------\n"
        "idna       3.4\nurllib3    1.26.14\n```\n",
        "```\n$ pip freeze\ncertifi==2022.12.7\nidna==3.4\n```\n",
    ):
        q = parse_query(body + "\n" + listing)
        # no build string is an identifier, no package name a lexical term
        assert q.identifiers == plain.identifiers
        assert query_terms(q) == query_terms(plain)
    # columns one space apart are prose, and so is a sentence that names the command
    said = parse_query(body + "Python 3.9 is broken\nI ran pip show requests and it said nothing\n")
    assert "Python 3.9 is broken" in said.clean_text
    assert "pip show requests" in said.clean_text


def test_pips_install_output_is_no_words_of_the_report():
    body = "Retries are not configurable\nThe client gives up after three tries.\n"
    plain = parse_query(body)
    q = parse_query(
        body + "\n```\n$ pip install -U mypkg\nCollecting numpy>=1.21\n"
        "  Downloading numpy-1.23.5-cp310-cp310-manylinux_2_17_x86_64.whl (17.1 MB)\n"
        "Requirement already satisfied: packaging in ./venv/lib/python3.10/site-packages (23.0)\n"
        "Installing collected packages: numpy\nSuccessfully installed numpy-1.23.5\n```\n"
    )
    assert q.clean_text == plain.clean_text
    assert not q.paths and not q.identifiers
    # the command still runs: pip's own repository finds its install command by it
    assert q.commands == (("pip", "install"),)
    # the same verbs in the reporter's sentences stay
    for line in (
        "Collecting the results takes forever when retries are on.",
        "Downloading a file with stream=True never finishes.",
        "Successfully installed it but the import fails.",
    ):
        assert line in parse_query(body + line + "\n").clean_text


def test_code_that_prints_the_environments_versions_is_no_code_of_the_report():
    body = "Retries are not configurable\nThe client gives up after three tries.\n"
    plain = parse_query(body)
    for probe in (
        "```python\nimport platform; print(platform.platform())\n"
        'import sys; print("Python", sys.version)\n'
        'import numpy; print("Numpy", numpy.__version__)\n```\n'
        "```\nLinux-5.15.0-56-generic-x86_64-with-glibc2.35\n"
        "Python 3.9.7 (default, Sep 16 2021, 13:09:58) [GCC 7.5.0]\nNumpy 1.23.5\n```\n",
        ">>> import numpy as np; np.__version__\n'1.23.5'\n",
        '```\n$ python -c "import xarray; xarray.show_versions()"\n```\n',
        ">>> import astropy; astropy.system_info()\n",
    ):
        q = parse_query(body + "\n" + probe)
        # no name of the probe is an identifier, a dotted name, a quoted line or a term
        assert q.identifiers == plain.identifiers and not q.dotted and not q.quoted
        assert query_terms(q) == query_terms(plain)
        assert "platform" not in q.clean_text and "show_versions" not in q.clean_text
    # code that uses a version, or prints anything else, is the report's own
    for line in (
        "if numpy.__version__ >= '1.20': arr = arr.astype(int)",
        "print(session.get_adapter(url).max_retries)",
        "import numpy as np",
    ):
        q = parse_query(body + "\n```python\n" + line + "\n```\n")
        assert line.split("(")[0].split()[0] in q.clean_text


_RETRIES = "Retries are not configurable\nThe client gives up after three tries.\n"


def _says_nothing(extra: str, body: str = _RETRIES) -> QuerySignals:
    """``extra`` below ``body`` leaves the query's text and terms as ``body`` alone has them."""
    plain = parse_query(body)
    q = parse_query(body + "\n" + extra + "\n")
    assert q.clean_text == plain.clean_text, extra
    assert query_terms(q) == query_terms(plain), extra
    return q


def test_a_pasted_images_placeholder_alt_text_is_no_words_of_the_report():
    body = "Bars are drawn twice\nThe legend shows every bar two times.\n"
    for image in (
        "![image](https://user-images.githubusercontent.com/1234567/210123456-0a1b2c3d.png)",
        "![Screen Shot 2023-01-05 at 2.32.10 PM](https://user-images.githubusercontent.com/1/2.png)",
        "![Screenshot_20230105](https://example.org/shot.png)",
    ):
        _says_nothing(image, body)
    # an alt text of the reporter's own words stays
    q = parse_query(body + "\n![legend with doubled bars](https://example.org/legend.png)\n")
    assert "legend with doubled bars" in q.clean_text


def test_pleas_mentions_and_emoji_are_no_words_of_the_report():
    body = _RETRIES
    for line in (
        "cc @jdoe @asmith",
        "/cc @jdoe, @asmith and @ghost",
        "Any help would be greatly appreciated!",
        ":+1: :tada: Any help appreciated :pray:",
    ):
        _says_nothing(line)
    # a reST field is no emoji; what follows an emoji at a line's start stays prose
    q = parse_query(body + "\nThe :returns: field is dropped.\n:tada: it works with `retries=3`\n")
    assert ":returns: field" in q.clean_text and "it works with" in q.clean_text
    assert "retries" in q.identifiers
    # a sentence that asks for more than help, or names people with its own words, stays
    said = parse_query(body + "Any help with the adapter's retry loop is appreciated.\n")
    assert "adapter's retry loop" in said.clean_text


def test_a_markdown_table_of_versions_is_an_environment_dump():
    body = _RETRIES
    _says_nothing("| Package | Version |\n|---|:---:|\n| python | 3.10.4 |\n| numpy | 1.23.5 |")
    # a table of settings is the report's own
    q = parse_query(body + "\n| option | default |\n|---|---|\n| max_retries | 3 |\n")
    assert "max_retries" in q.clean_text and "option" in q.clean_text


def test_statements_of_the_environment_are_version_lines():
    body = _RETRIES
    for lines in (
        "- OS: macOS 12.1\n- Python: 3.10.4\n- Installed via pip",
        "Operating system: Ubuntu 22.04 LTS\nInstallation: conda-forge",
        "I am on the latest release.",
        "Tested on the latest main.",
        "I'm using VS Code 1.74 on Windows 11.",
        "For reference, I'm using python 3.5.1 and requests 2.10.0.",
    ):
        _says_nothing(lines)
    # a sentence that goes on about the code is the report's own
    for line in (
        "OS: not relevant, the retry loop in the adapter ignores max_retries",
        "Installed with pip, the adapter breaks on import.",
        "I am on the latest release and the adapter still ignores max_retries.",
        "I'm using requests 2.31.0 and the adapter ignores max_retries.",
    ):
        assert line.split(",")[0] in parse_query(body + line + "\n").clean_text


def test_an_issue_forms_one_line_field_of_the_environment_is_noise():
    body = _RETRIES
    _says_nothing(
        "### Operating system\n\nUbuntu 22.04\n\n### Library Version\n\n3.5.1\n\n"
        "### Installation\n\npip\n\n**OS**\nWindows 10"
    )
    # a field whose answer is no version or environment, or is more than a line, stays
    q = parse_query(
        body + "\n### Backend\n\nQtAgg\n\n### Installation\n\npip, then the adapter from git\n"
        "\n### Steps\n\nRun it twice.\nThen retry.\n"
    )
    for kept in ("Backend", "QtAgg", "Installation", "adapter from git", "Run it twice"):
        assert kept in q.clean_text


def test_setup_py_installing_the_package_is_an_environment_command():
    body = _RETRIES
    for line in (
        "$ python setup.py develop",
        "python3 setup.py install --user",
        "./setup.py build_ext -i",
    ):
        assert not _says_nothing("```\n" + line + "\n```").paths
    # running the project's own setup.py for anything else is the report's own
    q = parse_query(body + "\n```\n$ python setup.py check_retries\n```\n")
    assert "setup.py" in q.paths


def test_underscore_emphasis_and_a_comments_origin_are_no_words_of_the_report():
    body = _RETRIES
    q = _says_nothing(
        "_Originally posted by @jdoe in "
        "https://github.com/psf/requests/issues/1234#issuecomment-987654321_"
    )
    assert q.references == (("requests", "ref_1234"),)  # the issue it came from still counts
    q = parse_query(body + "It is _really slow_ with `_private_attr_` and _foo_bar_ set.\n")
    assert "really slow" in q.clean_text and "_really" not in query_terms(q)
    assert {"_private_attr_", "_foo_bar_"} <= set(q.identifiers)  # names keep their marks


def test_an_environment_file_or_requirements_listing_is_an_environment_dump():
    _says_nothing(
        "```yaml\nname: bug-env\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.10\n"
        "  - numpy=1.23.5\n  - pandas=1.5.2\n  - pip\n```"
    )
    q = _says_nothing("requirements.txt:\n```\nnumpy==1.23.5\npandas>=1.5.2\nscipy~=1.9\n```")
    assert not q.paths  # the reporter's requirements file, not the project's
    # a label over a block that is not a dump names its file; a list of words stays
    q = parse_query(_RETRIES + "\nconfig.py:\n```python\nMAX_RETRIES = 5\n```\n")
    assert "config.py" in q.paths
    q = parse_query(_RETRIES + "\nTried:\n- backoff\n- jitter\n")
    assert "backoff" in q.clean_text and "jitter" in q.clean_text


def test_a_link_with_only_a_lead_in_is_no_words_of_the_report():
    q = _says_nothing("See also https://stackoverflow.com/questions/12345678/how-to-retry")
    assert not q.references
    q = _says_nothing("Related: https://github.com/psf/requests/issues/1234")
    assert q.references == (("requests", "ref_1234"),)  # the linked issue still counts
    # a link to a file of the repository names it; a sentence around a link stays
    q = parse_query(
        _RETRIES + "See https://github.com/psf/requests/blob/v2.31.0/requests/adapters.py#L42\n"
    )
    assert "requests/adapters.py" in q.paths
    q = parse_query(_RETRIES + "Introduced with https://github.com/psf/requests/pull/2844\n")
    assert "Introduced with" in q.clean_text


def test_setting_up_an_environment_or_a_checkout_is_an_environment_command():
    for block in (
        "```\n$ python -m venv .venv\n$ source .venv/bin/activate\n```",
        "```\nC:\\> venv\\Scripts\\activate\n(venv) C:\\> conda activate bug-env\n```",
        "```\n$ git clone https://github.com/someone/example\n$ cd example\n"
        "(venv) user@host:~/example$ pip install -e .\n```",
        "```Dockerfile\nFROM python:3.10-slim\nRUN pip install --no-cache-dir mypkg\n```",
    ):
        assert not _says_nothing(block).paths, block
    # a command after `cd` on the same line, or a venv named nowhere, is the report's own
    q = parse_query(_RETRIES + "\n```\n$ cd example && python -m retrying\n```\n")
    assert "retrying" in q.clean_text
    # commands of such lines still count: in pip's or conda's own project they name code
    q = parse_query(_RETRIES + "\n```\n$ conda activate bug-env\n```\n")
    assert ("conda", "activate") in q.commands


def test_a_line_that_only_runs_the_reporters_script_says_nothing_but_names_it():
    for block in (
        "```\n$ python run.py\n```",
        "```\npython3 -u repro.py\n```",
        '```Dockerfile\nCMD ["python", "main.py"]\n```',
    ):
        q = _says_nothing(block)
        assert len(q.scripts) == 1 and q.scripts[0] in q.paths  # a root file, or none
    # arguments after the script are the report's own
    q = parse_query(_RETRIES + "\n```\n$ python run.py --max-retries 5\n```\n")
    assert "max-retries" in q.clean_text and q.scripts == ("run.py",)
    # setup.py with a command names no file (an environment command, above)
    assert not _says_nothing("```\n$ python setup.py develop\n```").paths


def test_lines_about_the_report_itself_are_no_words_of_the_report():
    for line in (
        "Let me know if you need any more information.",
        "Please let me know if any further details would help.",
        "I'd be happy to open a PR to fix this if you agree.",
        "If this is confirmed as a bug, I can submit a PR.",
        "Happy to submit a pull request for this.",
        "I searched the existing issues and could not find anything similar.",
        "I couldn't find an existing issue about this.",
        "Here is a minimal reproducible example:",
        "The following snippet reproduces the problem:",
        "Minimal example:",
        "Code to reproduce:",
    ):
        _says_nothing(line)
    # the same shapes with the report's own names stay
    for line in (
        "Let me know if Session.send should retry.",
        "I'd be happy to open a PR that makes `max_retries` configurable.",
        "I can open a PR changing HTTPAdapter to retry reads.",
        "The following test fails:",
    ):
        q = parse_query(_RETRIES + "\n" + line + "\n")
        assert q.clean_text != parse_query(_RETRIES).clean_text, line


def test_title_text_is_the_first_line_read_as_the_dense_query_reads_it():
    q = parse_query(
        "Getting http://.example.com raises UnicodeError\n\n"
        "Attempting to get e.g. `http://.example.com` results in a `UnicodeError`.\n"
    )
    assert q.title_text == "Getting raises UnicodeError"  # the link is no words of the title
    assert parse_query(
        "### Retries are <b>ignored</b>\nThe adapter never retries.\n"
    ).title_text == ("Retries are ignored")
    # a question of one line has no title of its own: the text is all there is
    assert parse_query("how are retries configured?").title_text == ""
    assert parse_query("how are retries configured?\n\n").title_text == ""
