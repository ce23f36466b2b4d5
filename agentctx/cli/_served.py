"""``pack`` and ``search`` answered by a running ``agentctx watch`` (see ``agentctx.serve``).

Output is exactly what the local command prints: notes and ``--stats``/``--profile``
on stderr, the bundle or results on stdout, errors as the same one line and exit code.
When no watcher can answer, ``answer`` returns False and the command runs locally.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import AgentctxError, ExitCode, write_stdout
from ._common import err_console


class ServedError(AgentctxError):
    """An error the watcher reported, re-raised here with its own exit code."""

    def __init__(self, message: str, hint: str | None, code: int) -> None:
        super().__init__(message, hint)
        try:
            self.exit_code = ExitCode(code)
        except ValueError:
            self.exit_code = ExitCode.ERROR


def answer(
    settings: Any, op: str, args: dict[str, Any], *, stats: bool = False, profile: bool = False
) -> bool:
    """Print the watcher's answer and return True; False when no watcher can answer."""
    from ..client import settings_fingerprint, try_serve

    response = try_serve(settings.root, op, args, fingerprint=settings_fingerprint(settings))
    if response is None:
        return False
    for line in response["stderr"]:
        err_console.print(line, markup=False, highlight=False)
    error = response.get("error")
    if response["exit"] != 0:
        message = error.get("message") if isinstance(error, dict) else None
        hint = error.get("hint") if isinstance(error, dict) else None
        raise ServedError(str(message or "the watcher failed"), hint, response["exit"])
    write_stdout(response["stdout"])
    if stats and isinstance(response.get("stats"), dict):
        err_console.print_json(json.dumps(response["stats"]))
    prof = response.get("profile")
    if profile and isinstance(prof, dict):
        from ..progress import print_profile

        print_profile(prof)
    return True
