"""How much lines that say nothing of the bug move the ranking: neutral edits of each report.

Usage: python benchmarks/neutral_edits.py --data ../shared/eval/dev.jsonl --work-dir DIR
                                          [--filter all|lite] [--edits greeting,thanks,...]
                                          [--lines FILE [--edits b1-x,...]] [--out report.json]

``DIR`` is the ``--work-dir`` of an ``agentctx bench swebench`` run: one indexed snapshot per
instance (instances without one are passed over; nothing is indexed or refreshed here). Each
report is ranked as it is and once per edit, with the ranking code of this checkout; printed
per edit: file Acc@1/3/5 (Lite and all) and the instances whose gold files' rank moved. A
ranking that reads reports well moves little for these; the Acc@1 gap that one moved
instance makes is the measure's resolution on 41 Lite reports (see retrieval-log.md, row 39).

Edits (each what real reports carry): ``greeting`` ("Hi all," under the title), ``thanks``
("Thanks for the great library!" at the end), ``release`` ("I am on the latest release." at
the end), ``environment`` (a bulleted OS / Python / install list at the end), ``checklist`` (a
two-item task list under the title, as a template no longer in the repository leaves),
``versions`` (a ``show_versions()``-style dump of the platform and dependencies in a fence at
the end), ``env-info`` (a bulleted list at the end with keys of two words: ``- Python version:
3.9.7``), ``conda`` (``conda list`` and its table in a fence at the end), ``pip-install`` (a
``pip install`` command and its output in a fence at the end), ``form`` (the last fields of a
GitHub issue form: one left empty, ``_No response_``, and two short answers), ``print-versions``
(the code an issue template asks to run for the versions, ``import numpy;
print("Numpy", numpy.__version__)``, and what it printed, at the end), ``screenshot`` (two pasted
images as GitHub writes them, an ``<img>`` tag and ``![image](...)``, at the end),
``md-versions`` (a Markdown table of packages and versions at the end), ``plea`` ("Any help
would be greatly appreciated!" between emoji at the end), ``mentions`` ("cc @jdoe @asmith" at
the end), ``run-script`` (``$ python run.py`` in a fence at the end: a script of the
reporter's, named like a nested file of pylint's), ``setup-develop`` (``git clone``, ``cd`` and
``python setup.py develop`` in a fence at the end), ``originally`` (GitHub's
"_Originally posted by @jdoe in <link>_" line of an issue made from a comment, at the end),
``env-yaml`` (a conda ``environment.yml`` in a fence at the end), ``requirements``
("requirements.txt:" over a fenced listing of pinned packages, at the end), ``see-also``
("See also <a Stack Overflow link>" at the end), ``venv`` (``python -m venv`` and ``source
.venv/bin/activate`` in a fence at the end), ``dockerfile`` (a three-line Dockerfile that installs
the package and runs ``main.py``, at the end), ``ide`` ("I'm using VS Code 1.74 on Windows 11." at
the end), ``pr-offer`` ("I'd be happy to open a PR to fix
this if you agree." at the end), ``more-info`` ("Let me know if you need any more information."
at the end), ``minimal`` ("Here is a minimal reproducible example:" under the title),
``duplicate-check`` ("I searched the existing issues and could not find anything similar." at the
end), ``gh-default`` and ``gh-context`` (the first and the last section of GitHub's default bug
report template, under the title and at the end), and five sentences about the report in other
words, written before the rules for such lines and left unfixed: ``ask``, ``pr-welcome``,
``below-script``, ``not-sure``, ``sorry-dup``.

``--lines FILE`` runs the lines of a JSON file instead (``{"lines": {name: {"where": "under" |
"end", "text": ...}}}``; ``--edits`` then picks among them). ``neutral_lines_blind.json`` holds 94
lines written by helpers that saw no code and no rule of the parser: what the rules were not
written from. A summary line gives the mean Lite and all Acc@1 over the edits run and the ranks
they moved in all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _under_title(extra: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        title, sep, body = text.partition("\n")
        return f"{title}\n{extra}\n{body}" if sep else f"{title}\n{extra}\n"

    return edit


def _at_end(extra: str) -> Callable[[str], str]:
    return lambda text: f"{text.rstrip()}\n\n{extra}\n"


EDITS: dict[str, Callable[[str], str]] = {
    "greeting": _under_title("Hi all,"),
    "thanks": _at_end("Thanks for the great library!"),
    "release": _at_end("I am on the latest release."),
    "environment": _at_end(
        "**Environment**\n- OS: macOS 12.1\n- Python: 3.10.4\n- Installed via pip"
    ),
    "checklist": _under_title(
        "### Checklist\n\n- [x] I have checked that this issue has not already been reported.\n"
        "- [x] I have confirmed this bug exists on the latest version of the package.\n"
    ),
    "versions": _at_end(
        "### Versions\n\n```\nSystem:\n    python: 3.9.7 (default, Sep 16 2021, 13:09:58)  "
        "[GCC 7.5.0]\nexecutable: /usr/local/bin/python3\n   machine: "
        "Linux-5.15.0-56-generic-x86_64-with-glibc2.35\n\nPython dependencies:\n"
        "          pip: 22.3.1\n   setuptools: 65.5.0\n        numpy: 1.23.5\n"
        "        scipy: 1.9.3\n       pandas: 1.5.2\n```"
    ),
    "env-info": _at_end(
        "**Environment info**\n- OS: Linux\n- Python version: 3.9.7\n- Package version: 2.0.1\n"
        "- Extra tools: none"
    ),
    "conda": _at_end(
        "```\n$ conda list\n# packages in environment at /opt/conda:\n#\n"
        "# Name                    Version                   Build  Channel\n"
        "numpy                     1.23.5          py310h5f9d8c6_0\n"
        "pandas                    1.5.2           py310h1128e8f_0\n"
        "scipy                     1.9.3           py310hd5efca6_0\n```"
    ),
    "pip-install": _at_end(
        "```\n$ pip install -U mypkg\nCollecting numpy>=1.21\n  Downloading numpy-1.23.5-cp310-cp310-"
        "manylinux_2_17_x86_64.manylinux2014_x86_64.whl (17.1 MB)\nRequirement already satisfied: "
        "packaging in ./venv/lib/python3.10/site-packages (23.0)\nInstalling collected packages: "
        "numpy\nSuccessfully installed numpy-1.23.5\n```"
    ),
    "print-versions": _at_end(
        "### Versions\n\n```python\nimport platform; print(platform.platform())\n"
        'import sys; print("Python", sys.version)\nimport numpy; print("Numpy", numpy.__version__)\n'
        'import scipy; print("Scipy", scipy.__version__)\n```\n```\n'
        "Linux-5.15.0-56-generic-x86_64-with-glibc2.35\n"
        "Python 3.9.7 (default, Sep 16 2021, 13:09:58) [GCC 7.5.0]\nNumpy 1.23.5\nScipy 1.9.3\n```"
    ),
    "screenshot": _at_end(
        '<img width="612" alt="Screen Shot 2023-01-05 at 2 32 10 PM" src="https://user-images.'
        'githubusercontent.com/1234567/210123456-0a1b2c3d.png">\n\n![image](https://user-images.'
        "githubusercontent.com/1234567/210123457-9f8e7d6c.png)"
    ),
    "md-versions": _at_end(
        "| Package | Version |\n|---|---|\n| python | 3.10.4 |\n| numpy | 1.23.5 |\n"
        "| pandas | 1.5.2 |"
    ),
    "plea": _at_end(":+1: Any help would be greatly appreciated! :pray:"),
    "mentions": _at_end("cc @jdoe @asmith"),
    "run-script": _at_end("```\n$ python run.py\n```"),
    "setup-develop": _at_end(
        "```\n$ git clone https://github.com/someone/example\n$ cd example\n"
        "$ python setup.py develop\n```"
    ),
    "originally": _at_end(
        "_Originally posted by @jdoe in https://github.com/owner/project/issues/1234"
        "#issuecomment-987654321_"
    ),
    "env-yaml": _at_end(
        "```yaml\nname: bug-env\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.10\n"
        "  - numpy=1.23.5\n  - pandas=1.5.2\n  - pip\n```"
    ),
    "requirements": _at_end(
        "requirements.txt:\n```\nnumpy==1.23.5\npandas>=1.5.2\nscipy~=1.9\n```"
    ),
    "see-also": _at_end(
        "See also https://stackoverflow.com/questions/12345678/how-to-do-this-thing"
    ),
    "venv": _at_end("```\n$ python -m venv .venv\n$ source .venv/bin/activate\n```"),
    "dockerfile": _at_end(
        "```Dockerfile\nFROM python:3.10-slim\nRUN pip install --no-cache-dir mypkg\n"
        'CMD ["python", "main.py"]\n```'
    ),
    "ide": _at_end("I'm using VS Code 1.74 on Windows 11."),
    "pr-offer": _at_end("I'd be happy to open a PR to fix this if you agree."),
    "more-info": _at_end("Let me know if you need any more information."),
    "minimal": _under_title("Here is a minimal reproducible example:"),
    "duplicate-check": _at_end(
        "I searched the existing issues and could not find anything similar."
    ),
    "gh-default": _under_title(
        "**Describe the bug**\nA clear and concise description of what the bug is."
    ),
    "gh-context": _at_end("**Additional context**\nAdd any other context about the problem here."),
    # Written before any rule for lines about the report, and left unfixed: what such
    # sentences in other words still move (prose words are query terms; see the log).
    "ask": _at_end("Feel free to ask if anything is unclear."),
    "pr-welcome": _at_end("Would a PR for this be welcome?"),
    "below-script": _under_title("Below you can find a short script that shows the issue:"),
    "not-sure": _under_title("Not sure if this is a bug or intended behaviour."),
    "sorry-dup": _at_end("Sorry if this is a duplicate."),
    "form": _at_end(
        "### Additional information\n\n_No response_\n\n### Operating system\n\n"
        "Ubuntu 22.04\n\n### Installation\n\npip"
    ),
}
KS = (1, 3, 5)


def _gold_rank(files: list[str], gold: list[str]) -> int | None:
    """Rank of the worst-placed gold file (None: one is not ranked)."""
    ranks = [files.index(g) + 1 if g in files else None for g in gold]
    return None if not ranks or None in ranks else max(r for r in ranks if r is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--work-dir", required=True, type=Path)
    parser.add_argument("--filter", default="all", choices=("all", "lite"))
    parser.add_argument("--edits")
    parser.add_argument("--lines", type=Path, help="a JSON file of lines to add (see above)")
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    known = EDITS
    if args.lines:
        rows = json.loads(args.lines.read_text(encoding="utf-8"))["lines"]
        place = {"under": _under_title, "end": _at_end}
        known = {name: place[row["where"]](row["text"]) for name, row in rows.items()}
    chosen = args.edits.split(",") if args.edits else list(known)
    unknown = [e for e in chosen if e not in known]
    if unknown:
        parser.error(f"unknown edit {unknown[0]!r}; known: {', '.join(known)}")
    edits = ["as-is", *chosen]

    from agentctx import pipeline
    from agentctx.bench.swebench import acc_at_k, load_instances, ranked_files_of
    from agentctx.config import load_settings
    from agentctx.embed import get_embedder

    emb = get_embedder(args.embedder)
    insts = [
        i
        for i in load_instances(args.data, split=args.filter)
        if (args.work_dir / i.id / ".agentctx").is_dir()
    ]
    if not insts:
        sys.exit(f"no indexed snapshot of these instances under {args.work_dir}")
    ranked: dict[str, dict[str, list[str]]] = {e: {} for e in edits}
    t0 = time.perf_counter()
    for n, inst in enumerate(insts, 1):
        settings = load_settings(args.work_dir / inst.id, {"embedder": args.embedder})
        for edit in edits:
            statement = inst.problem_statement
            text = statement if edit == "as-is" else known[edit](statement)
            found = pipeline.search(settings, text, refresh=False, embedder=emb)
            ranked[edit][inst.id] = ranked_files_of(h.path for h in found.hits)
        print(f"[{n}/{len(insts)}] {inst.id}", file=sys.stderr)

    def acc(edit: str, lite: bool) -> dict[str, float]:
        out: dict[str, float] = {}
        for k in KS:
            hits = [acc_at_k(ranked[edit][i.id], i.scored_files, k) for i in insts]
            kept = [
                h
                for h, i in zip(hits, insts, strict=True)
                if h is not None and (i.in_lite or not lite)
            ]
            out[f"acc@{k}"] = round(100 * sum(kept) / len(kept), 1) if kept else 0.0
        return out

    report: dict[str, Any] = {"instances": len(insts), "seconds": round(time.perf_counter() - t0)}
    for edit in edits:
        moved: dict[str, list[int | None]] = {}
        for i in insts:
            before = _gold_rank(ranked["as-is"][i.id], i.scored_files)
            after = _gold_rank(ranked[edit][i.id], i.scored_files)
            if before != after:
                moved[i.id] = [before, after]
        lite, alls = acc(edit, True), acc(edit, False)
        report[edit] = {"lite": lite, "all": alls, "moved": moved}
        print(
            f"{edit:12s} Lite Acc@1/3/5 {lite['acc@1']}/{lite['acc@3']}/{lite['acc@5']}"
            f"  all {alls['acc@1']}/{alls['acc@3']}/{alls['acc@5']}  ranks moved: {len(moved)}"
        )
        for iid, (before, after) in sorted(moved.items()):
            print(f"    {iid}: {before} -> {after}")
    if len(edits) > 1:
        runs = [report[e] for e in edits[1:]]
        summary = {
            "edits": len(runs),
            "mean_lite_acc@1": round(sum(r["lite"]["acc@1"] for r in runs) / len(runs), 1),
            "mean_all_acc@1": round(sum(r["all"]["acc@1"] for r in runs) / len(runs), 1),
            "ranks_moved": sum(len(r["moved"]) for r in runs),
        }
        report["summary"] = summary
        print(
            f"{len(runs)} edits: mean Acc@1 Lite {summary['mean_lite_acc@1']} all "
            f"{summary['mean_all_acc@1']} (as-is {report['as-is']['lite']['acc@1']}/"
            f"{report['as-is']['all']['acc@1']}), {summary['ranks_moved']} ranks moved"
        )
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
