"""The ``reelwright`` command line.

Each area registers its commands from its own module (listed in ``COMMAND_MODULES``, each exposing
``register(app)``), so the root stays small and imports stay lazy: torch loads only for model commands.
Errors derived from ``ReelwrightError`` print as one clear message and exit 1, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from schemas.errors import ReelwrightError

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The ephemeral API can take longer than Prefect's 20 s default to start on a busy 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
if os.environ.get("PREFECT_HOME"):
    # Prefect creates its home without parents; a fresh clone has no .reelwright/ yet (the Makefile points there).
    os.makedirs(os.path.expanduser(os.environ["PREFECT_HOME"]), exist_ok=True)

COMMAND_MODULES: tuple[str, ...] = (
    "flows.cli_render",
    "flows.cli_model",
    "flows.cli_dashboard",
    "flows.cli_clean",
    "flows.cli_deploy",
    "flows.cli_loop",
)

app = typer.Typer(
    name="reelwright",
    help="Reelwright: short-drama production pipeline (script → plan → generate → assemble → feedback → retrain).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main(argv: list[str] | None = None) -> int:
    try:
        app(args=argv, standalone_mode=False)
    except ReelwrightError as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        return 1
    except typer.Exit as ex:
        return ex.exit_code
    except typer.Abort:
        typer.secho("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        return 130
    except Exception as exc:  # click usage errors, then bugs
        import click

        # typer >= 0.20 raises its vendored click's exceptions, which are not ``click.ClickException``
        if isinstance(exc, click.ClickException | typer.exceptions.TyperException) and hasattr(exc, "show"):
            exc.show()
            return getattr(exc, "exit_code", 2)
        if os.environ.get("REELWRIGHT_DEBUG"):
            raise
        typer.secho(
            f"internal error: {type(exc).__name__}: {exc}\n  this is a bug in Reelwright, not in your input; "
            "run again with REELWRIGHT_DEBUG=1 for the traceback and report it",
            fg=typer.colors.RED,
            err=True,
        )
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
