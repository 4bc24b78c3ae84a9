"""The ``sim`` command line (also ``python -m sim``).

Subcommands are entries of :data:`SUBCOMMANDS`: each is a :class:`Subcommand` with a function
that declares its arguments and a function that runs it and returns the exit code. To add one
(``sim run``, ``sim report``, ...), write those two functions and append an entry; import heavy
modules inside the run function so ``sim --help`` stays fast.

Exit codes: 0 success; 2 a usage error (argparse) or any :class:`~sim.errors.SimError`, which
prints one line ``sim: error: <message>`` on stderr, without a traceback, and writes nothing;
130 on Ctrl-C or SIGTERM (``sim: interrupted; nothing written``, once the workers are ended
and temporary files removed). Whatever a command prints on standard output, and every
error line, has its control characters escaped (:mod:`sim.cli.terminal`).
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.cli import backtest as cli_backtest
from sim.cli import calibrate as cli_calibrate
from sim.cli import catalogs as cli_catalogs
from sim.cli import report as cli_report
from sim.cli import run as cli_run
from sim.cli import sweep as cli_sweep
from sim.cli.interrupt import interruptible
from sim.cli.terminal import EscapingStream, terminal_text
from sim.errors import SimError

PROG = "sim"
EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

REPLAY_FILES = ("outcomes.csv", "timeline.csv", "bills.csv")
"""What ``sim replay`` writes into ``--out``."""


@dataclass(frozen=True)
class Subcommand:
    """One ``sim <name>`` subcommand."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    description: str = ""


# -- helpers shared by subcommands ---------------------------------------------------------------


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sim")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def _existing_file(path: str, what: str) -> Path:
    """``path`` if it is a file; otherwise a :class:`SimError` naming it."""
    p = Path(path)
    if not p.exists():
        raise SimError(f"{what} {path!r} not found")
    if not p.is_file():
        raise SimError(f"{what} {path!r} is not a file")
    return p


def _out_dir(path: str) -> Path:
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise SimError(f"--out {path!r} exists and is not a directory")
    return p


def _add_catalog_arguments(parser: argparse.ArgumentParser) -> None:
    """``--catalog`` and ``--set``, shared by every subcommand that loads a catalog."""
    parser.add_argument(
        "--catalog",
        metavar="NAME|PATH",
        default=None,
        help="catalog name (see `sim catalogs`) or path to a YAML file "
        "(default: tencent-intl-2022)",
    )
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        dest="overrides",
        action="append",
        default=[],
        help="override a catalog field, e.g. --set billing.proration=second "
        "(value read as YAML; repeatable)",
    )


def _say(text: str = "") -> None:
    print(text, file=sys.stdout)


def warn(text: str) -> None:
    """``sim: warning: <text>`` on stderr: something was done that the user should know."""
    print(f"{PROG}: warning: {text}", file=sys.stderr)


def warn_ignored_usage(source: str, usage: Any, timeline: Any, tz: str) -> int:
    """Warn about usage rows dated after their app's deactivation, which billing ignores (R14);
    returns how many there were."""
    from sim.billing.usage import usage_in_service

    if usage is None:
        return 0
    _, dropped = usage_in_service(usage, timeline, tz)
    if dropped:
        rows = "row is" if dropped == 1 else "rows are"
        warn(f"{source}: {dropped} usage {rows} dated after the app's deactivation: ignored (R14)")
    return dropped


# -- sim replay ----------------------------------------------------------------------------------


def _replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ops", metavar="OPS", help="operations log, .csv or .parquet")
    parser.add_argument(
        "--out",
        metavar="DIR",
        required=True,
        help="directory to write the tables into (replaced whole, all or nothing, locked "
        "while written: README 'Outputs')",
    )
    _add_catalog_arguments(parser)
    parser.add_argument(
        "--usage",
        metavar="FILE",
        default=None,
        help="daily usage per app (columns app, date, dau, groups), .csv or .parquet",
    )
    parser.add_argument(
        "--workers",
        type=cli_run.workers_value,
        default="auto",
        metavar="N",
        help="processes deciding the operations, this one and N-1 workers, the apps split among "
        "them (same outputs byte for byte; 1: this process alone; 0: one per CPU; auto, the "
        "default: one per CPU from 1,000,000 operations, else 1); capped at the CPU count "
        "unless --oversubscribe",
    )
    parser.add_argument(
        "--oversubscribe", action="store_true", help="allow more --workers than CPUs"
    )


def _top_refusals(refusals: Any, limit: int = 6) -> list[str]:
    """'live_group_limit (10036): 2' lines, most frequent first (ties by code, reason), from
    the refusals counted by code and reason (columns ``error_code``, ``reason``, ``n``)."""
    counts = refusals.sort_values(["n", "error_code", "reason"], ascending=[False, True, True])
    lines = [
        f"{reason} ({code}): {n}" if code else f"{reason}: {n}"
        for code, reason, n in counts.itertuples(index=False)
    ]
    if len(lines) > limit:
        rest = int(counts["n"].iloc[limit - 1 :].sum())
        lines = [*lines[: limit - 1], f"{len(lines) - limit + 1} other reasons: {rest}"]
    return lines


def _bill_totals(bills: Any) -> list[str]:
    """'1234.56 USD' per currency, in currency order."""
    from decimal import Decimal

    if bills is None or bills.empty or not {"amount", "currency"} <= set(bills.columns):
        return []
    totals: dict[str, Decimal] = {}
    for amount, currency in zip(bills["amount"], bills["currency"], strict=True):
        if amount is None or amount != amount:  # missing / NaN
            continue
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(str(amount))
    return [f"{total} {currency}" for currency, total in sorted(totals.items())]


def _read_ahead(reader: ThreadPoolExecutor, ops: Path) -> Future[Any] | None:
    """A CSV log read into Arrow on ``reader``'s thread (Arrow's reader leaves the GIL, so the
    modules the replay needs import meanwhile), or None for another kind of file."""
    if ops.suffix.lower() not in (".csv", ".txt"):
        return None
    from sim.files.csvarrow import read_csv_arrow  # numpy and pyarrow only

    return reader.submit(read_csv_arrow, ops)


def _table_read(read: Future[Any] | None) -> Any:
    """The Arrow table read ahead, or None: the replay then reads the log itself, and names
    any problem (a file that cannot be read is reported there, not here)."""
    try:
        return None if read is None else read.result()
    except Exception:
        return None


def _run_replay(args: argparse.Namespace) -> int:
    ops = _existing_file(args.ops, "ops log")
    with ThreadPoolExecutor(1, thread_name_prefix="sim-read") as reader:
        read = _read_ahead(reader, ops)  # read while pandas and the rest import (0.1 s)
        import pandas as pd

        from sim.files.opslog import read_usage
        from sim.files.outputs import OutputDir
        from sim.replayer import replay_tables

        prefetched = _table_read(read)
    usage = read_usage(_existing_file(args.usage, "usage file")) if args.usage else None
    out = _out_dir(args.out)
    with OutputDir(out) as folder:  # locked first: a second writer is refused before any work
        result = replay_tables(
            ops,
            prefetched=prefetched,
            catalog=args.catalog,
            usage=usage,
            overrides=list(args.overrides),
            workers=args.workers,
            oversubscribe=args.oversubscribe,
        )
        warn_ignored_usage(args.usage, usage, result.timeline, result.catalog.timezone)
        bills = getattr(result, "bills", None)
        if bills is None:  # a replay without billing: an empty bills.csv
            bills = pd.DataFrame()
        for name, df in zip(REPLAY_FILES, (result.outcomes, result.timeline, bills), strict=True):
            folder.write(name, df)

    total = result.outcomes.shape[0]
    refusals = pd.DataFrame(
        [(code, reason, n) for (code, reason), n in result.refused.items()],
        columns=["error_code", "reason", "n"],
    )
    refused = int(refusals["n"].sum())
    _say(f"replayed {total} operations: {total - refused} ok, {refused} refused")
    lines = _top_refusals(refusals)
    if lines:
        _say("refused by reason (error code):")
    for line in lines:
        _say(f"  {line}")
    totals = _bill_totals(bills)
    if totals:
        _say(f"bills: {len(bills)} lines, total {', '.join(totals)}")
    _say(f"wrote {', '.join(REPLAY_FILES)} to {out}")
    return EXIT_OK


# -- the registry and the entry point -------------------------------------------------------------

SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "replay",
        help="replay an operations log through the rules engine",
        description="Replay an operations log (columns time, app, op, and as the op needs them "
        "user, group, group_type, members, edition, live_unlimited, groups_per_user, "
        "members_per_group, months) and write outcomes.csv, timeline.csv and bills.csv.",
        add_arguments=_replay_arguments,
        run=_run_replay,
    ),
    Subcommand("run", cli_run.HELP, cli_run.add_arguments, cli_run.run, cli_run.DESCRIPTION),
    Subcommand(
        "backtest",
        cli_backtest.HELP,
        cli_backtest.add_arguments,
        cli_backtest.run,
        cli_backtest.DESCRIPTION,
    ),
    Subcommand(
        "calibrate",
        cli_calibrate.HELP,
        cli_calibrate.add_arguments,
        cli_calibrate.run,
        cli_calibrate.DESCRIPTION,
    ),
    Subcommand(
        "sweep", cli_sweep.HELP, cli_sweep.add_arguments, cli_sweep.run, cli_sweep.DESCRIPTION
    ),
    *(Subcommand(*entry) for entry in cli_report.SUBCOMMANDS),
    Subcommand(
        "catalogs",
        cli_catalogs.HELP,
        cli_catalogs.add_arguments,
        cli_catalogs.run,
        cli_catalogs.DESCRIPTION,
    ),
)
"""Every ``sim`` subcommand, in the order ``sim --help`` lists them."""


def build_parser(subcommands: Sequence[Subcommand] = SUBCOMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Simulation and cost analysis of IM-cloud editions, packs, limits and "
        "prorated billing.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in subcommands:
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description or cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``sim`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    stdout = sys.stdout
    sys.stdout = EscapingStream(stdout)  # type: ignore[assignment]
    try:
        with interruptible():
            return args._run(args)
    except SimError as exc:
        return _fail(str(exc))
    except MemoryError:
        return _fail("out of memory; use a smaller input (or shards on a cluster for a large run)")
    except KeyboardInterrupt:
        return _fail("interrupted; nothing written", EXIT_INTERRUPTED)
    finally:
        sys.stdout = stdout


def entry() -> None:
    """The ``sim`` program: :func:`main` on the command line's arguments, then exit with its
    code. Every object left is frozen first (:func:`gc.freeze`): the interpreter's last full
    collection would walk all that pandas, pyarrow and numpy hold only to free memory the
    ending process gives back anyway (0.05 s of a 2-second ``sim replay``). Exit handlers and
    module teardown still run."""
    code = main()
    gc.freeze()
    sys.exit(code)


def _fail(message: str, code: int = EXIT_ERROR) -> int:
    """Print ``sim: error: message`` (or ``sim: interrupted...``) as one safe line; ``code``."""
    prefix = f"{PROG}: " if code == EXIT_INTERRUPTED else f"{PROG}: error: "
    print(prefix + terminal_text(message, one_line=True), file=sys.stderr)
    return code
