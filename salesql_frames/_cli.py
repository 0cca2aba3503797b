"""The ``salesql-frames`` command line: enrich a spreadsheet, check the account and cache.

Commands: ``enrich-persons``, ``enrich-organizations``, ``demo``, ``allowance``,
``verify-key``, ``cache info|clear`` and ``sandbox``; each has ``--help`` with examples.

Exit codes: 0 done; 1 error (one line on stderr, prefixed ``salesql-frames:``);
2 bad command line; 3 the run stopped early (daily quota, credit budget), partial
output written; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import _constants as C
from ._assemble import How, check_shape
from ._client import Client
from ._display import plural
from ._exceptions import (
    InvalidArgumentError,
    MappingError,
    MissingAPIKeyError,
    RunInterrupted,
    RunStoppedWarning,
    SalesQLError,
    SalesQLWarning,
)
from ._io import (
    FORMATS,
    STREAM_FORMATS,
    Table,
    format_of,
    read_table,
    scan_lazy,
    sink_lazy,
    write_table,
)
from ._kinds import KINDS, KindSpec
from ._presets import PRESET_NAMES
from ._schema import ExplodeTarget
from ._validate import age_seconds
from ._version import __version__

__all__ = ["main"]

PROG = "salesql-frames"
DEMO_OUTPUT = "salesql-demo-enriched.xlsx"
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_STOPPED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
NO_KEY = (
    f"no API key: set {C.API_KEY_ENV} (SalesQL dashboard: Settings -> API Access), "
    "or add --sandbox to try it against the local sandbox"
)

_MAIN_EPILOG = f"""\
examples:
  {PROG} demo                                   # no key needed
  {PROG} enrich-persons leads.xlsx -o enriched.xlsx --dry-run
  {PROG} enrich-persons leads.csv -o enriched.xlsx --max-credits 500
  {PROG} enrich-organizations accounts.csv -o accounts.parquet --sandbox

The API key comes from {C.API_KEY_ENV}; answers are kept in a local result store
(see '{PROG} cache info'), so nothing is paid for twice.
exit codes: 0 done, 1 error, 2 bad command line, 3 stopped early (partial output
written), 130 interrupted
"""
_INPUT_NOTE = """\
Input: CSV, TSV, XLSX or Parquet, by extension. Every input column is kept, in
order; CSV/TSV/XLSX cells are read as text (leading zeros survive) and fully
blank rows are dropped: one output row per non-blank input row. Results are
appended as {prefix}* columns; {prefix}status is found, not_found,
invalid_input, skipped or error. Without --map, columns are detected from
headers such as {detected}.
"""


def _enrich_epilog(spec: KindSpec) -> str:
    command = f"{PROG} enrich-{spec.plural}"
    examples = "".join(f"  {command} {example}\n" for example in spec.cli_examples)
    note = _INPUT_NOTE.format(prefix=C.DEFAULT_PREFIX, detected=spec.header_examples)
    return f"examples:\n{examples}\n{note}"


class UsageError(Exception):
    """The command line asks for something that cannot be done (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors, like every other error of the command."""

    def error(self, message: str) -> NoReturn:
        _say(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_USAGE)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (``| head``): no traceback, no "[Errno 32]" line.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:
        raise
    except UsageError as exc:
        _say(str(exc))
        return EXIT_USAGE
    except MissingAPIKeyError:
        _say(NO_KEY)
        return EXIT_ERROR
    except (SalesQLError, OSError, ValueError) as exc:
        _say(_one_line(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# -- the parser ----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Enrich spreadsheets of leads with SalesQL emails, phones and work "
        "history\n(or try it all against a local sandbox, without a key).",
        epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for spec in KINDS.values():
        _add_enrich(commands, spec)
    _add_demo(commands)
    _add_account(commands)
    _add_cache(commands)
    _add_sandbox(commands)
    return parser


Subparsers = Any  # argparse's _SubParsersAction is private


def _command(commands: Subparsers, name: str, summary: str, epilog: str = "") -> Any:
    return commands.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + ".",
        epilog=epilog or None, formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_enrich(commands: Subparsers, spec: KindSpec) -> None:
    name = f"enrich-{spec.plural}"
    command = _command(commands, name, f"enrich each row with the SalesQL {spec.description} "
                       "it describes", _enrich_epilog(spec))
    command.set_defaults(run=_enrich, spec=spec)
    command.add_argument("input", metavar="INPUT", help="the spreadsheet to enrich")
    command.add_argument(
        "-o", "--output", metavar="OUTPUT",
        help="where to write the result, format by extension (default: INPUT-enriched "
        "next to the input)",
    )
    files = command.add_argument_group("files")
    files.add_argument("--input-format", choices=FORMATS, help="override the input extension")
    files.add_argument("--output-format", choices=FORMATS, help="override the output extension")
    files.add_argument("--sheet", metavar="NAME", help="XLSX sheet to read (default: the first)")
    files.add_argument(
        "--stream", action="store_true",
        help="for lists beyond memory: read a CSV or Parquet INPUT lazily with polars, "
        "send its unique queries, and stream the rows to a CSV or Parquet OUTPUT (wide "
        "output only)",
    )
    files.add_argument(
        "--preset", choices=PRESET_NAMES, default="generic",
        help="output columns named as a CRM's import expects them (hubspot, salesforce: "
        "your columns kept, the result columns renamed, one row per input row); generic "
        "(default): the library's own layout",
    )
    files.add_argument(
        "--header-row", type=_count(1), metavar="N",
        help="the row holding the column names, 1 = the first (default: the first row, "
        "or the one under blank or title rows; what was chosen is printed)",
    )
    files.add_argument("--force", action="store_true",
                       help="replace OUTPUT if it exists (default: refuse)")
    files.add_argument(
        "--excel-csv", action="store_true",
        help="CSV/TSV output: UTF-8 with a byte-order mark, so Excel on Windows shows "
        "accents right",
    )
    files.add_argument(
        "--default-region", type=_region, metavar="CC",
        help="persons: the region (US, GB, ...) of phones written without a country code, "
        "for their E.164 column (default: those stay empty, never a guess)",
    )
    files.add_argument(
        "--allow-formulas", action="store_true",
        help="CSV/TSV output: write API values that look like formulas (=..., @..., +SUM...) "
        "as they are, not prefixed with '",
    )

    columns = command.add_argument_group("columns")
    columns.add_argument(
        "--map", action="append", default=[], metavar="COLUMN=PARAM",
        help=f"feed COLUMN to API parameter PARAM ({', '.join(spec.params)}); repeatable. "
        "Naming any column turns header detection off",
    )
    columns.add_argument(
        "--only-missing", action="append", metavar="COLUMN",
        help="send only rows where COLUMN is empty (others are 'skipped' and cost "
        "nothing); repeatable: rows where any of them is empty",
    )
    for flag in spec.flags:
        columns.add_argument(f"--{flag.replace('_', '-')}", action="store_true",
                             help=spec.flag_help[flag])
    if spec.explode:
        shape = command.add_argument_group("output shape")
        shape.add_argument(
            "--how", choices=("wide", "long"),
            help="wide: one row per input row (default); long: one row per item of "
            "--explode",
        )
        shape.add_argument(
            "--explode", choices=spec.explode,
            help="one row per email, phone or job, with a salesql_row column (implies "
            "--how long)",
        )
    _add_sending(command)


def _add_sending(command: Any) -> None:
    sending = command.add_argument_group("sending")
    sending.add_argument("--dry-run", action="store_true",
                         help="print what would be sent and cost; send and write nothing")
    sending.add_argument("--max-credits", type=_count(0), metavar="N",
                         help="stop before the worst case (one credit per query) exceeds N")
    sending.add_argument("--rate-limit", type=_count(1), metavar="N",
                         help="your plan's searches per minute (default: learned from the API)")
    sending.add_argument("--daily-limit", type=_count(1), metavar="N",
                         help="send at most N searches per UTC day: the last batch is cut "
                         "to what is left, the rest is skipped")
    sending.add_argument("--quiet", action="store_true",
                         help="no progress bar, no plan on stderr before sending")
    sending.add_argument(
        "-y", "--yes", action="store_true",
        help=f"do not ask before sending (asked only on a terminal, when the worst case "
        f"is over {C.CLI_CONFIRM_CREDITS:,} credits)",
    )
    sending.add_argument("--max-age", type=_age, metavar="AGE",
                         help="send again stored answers fetched more than AGE ago: days, "
                         "or 90d, 12h, 2w")
    store = sending.add_mutually_exclusive_group()
    store.add_argument("--cache", metavar="PATH",
                       help="result store file (default: see 'cache info')")
    store.add_argument("--no-cache", action="store_true",
                       help="neither reuse nor keep answers")
    _add_sandbox_flag(command, "(no result store unless --cache is given)")


def _add_sandbox_flag(command: Any, note: str = "") -> None:
    command.add_argument(
        "--sandbox", action="store_true",
        help=f"use an in-process sandbox API with synthetic data: no key, no credits {note}"
        .strip(),
    )


def _add_demo(commands: Subparsers) -> None:
    command = _command(
        commands, "demo",
        "enrich a 200-row sample lead list against the built-in sandbox (no key needed)",
        f"examples:\n  {PROG} demo\n  {PROG} demo -o demo.csv --quiet\n\n"
        "The sample has duplicates in cosmetic variants, invalid and blank rows; the\n"
        "plan and a summary are printed, the enriched sheet is written.\n",
    )
    command.add_argument("-o", "--output", default=DEMO_OUTPUT, metavar="OUTPUT",
                         help=f"where to write the result (default: {DEMO_OUTPUT})")
    command.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(run=_demo)


def _add_account(commands: Subparsers) -> None:
    key = f"The key comes from {C.API_KEY_ENV} (and the API root from {C.BASE_URL_ENV})."
    allowance = _command(commands, "allowance", "show the credits left on the account "
                         "(costs nothing)", f"example:\n  {PROG} allowance\n\n{key}\n")
    _add_sandbox_flag(allowance)
    allowance.set_defaults(run=_allowance)
    verify = _command(commands, "verify-key", "check the API key with the free test "
                      "profile (costs no credit)", f"example:\n  {PROG} verify-key\n\n{key}\n")
    _add_sandbox_flag(verify)
    verify.set_defaults(run=_verify)


def _add_cache(commands: Subparsers) -> None:
    where = (f"The store is ${C.CACHE_DIR_ENV}/{C.CACHE_FILE_NAME} if that variable is set,\n"
             "else in your user cache folder; --cache PATH picks another file.")
    cache = _command(commands, "cache", "inspect or clear the local result store",
                     f"examples:\n  {PROG} cache info\n  {PROG} cache clear --older-than 30"
                     f"\n\n{where}\n")
    actions = cache.add_subparsers(dest="action", required=True, metavar="ACTION")
    info = _command(actions, "info", "show where the store is, what it holds, its size",
                    f"example:\n  {PROG} cache info --cache ./answers.sqlite3\n")
    info.set_defaults(run=_cache_info)
    clear = _command(actions, "clear", "delete stored answers (all, or the old ones)",
                     f"examples:\n  {PROG} cache clear\n  {PROG} cache clear --older-than 30\n")
    clear.add_argument("--older-than", type=_days, metavar="DAYS",
                       help="only delete answers stored more than DAYS days ago")
    clear.add_argument("-y", "--yes", action="store_true",
                       help="do not ask (asked only on a terminal)")
    clear.set_defaults(run=_cache_clear)
    for command in (info, clear):
        command.add_argument("--cache", metavar="PATH", help="the store file")


def _add_sandbox(commands: Subparsers) -> None:
    command = _command(
        commands, "sandbox", "serve the local sandbox API until Ctrl-C",
        f"example:\n  {PROG} sandbox --port 8765\n\nthen, in another shell:\n"
        f"  export {C.API_KEY_ENV}=sandbox-key {C.BASE_URL_ENV}=http://127.0.0.1:8765/v1\n"
        f"  {PROG} enrich-persons leads.csv -o enriched.xlsx\n",
    )
    command.add_argument("--port", type=int, default=8765, help="TCP port (default: 8765)")
    command.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    command.add_argument("--api-key", default="sandbox-key", help="the key it accepts")
    command.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    command.add_argument("--shape", choices=("documented", "lean"), default="documented",
                         help="record shape: the reference's, or the leaner observed one")
    command.add_argument("--daily-limit", type=_count(1), metavar="N",
                         help="searches allowed per UTC day (default: unlimited)")
    command.add_argument("--rate-limit", type=_count(1), metavar="N",
                         help="searches allowed per minute (default: unlimited)")
    command.set_defaults(run=_serve)


def _count(least: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more days, got {text!r}")
    return value


def _region(text: str) -> str | None:
    from ._phones import check_region

    try:
        return check_region(text)
    except InvalidArgumentError as exc:
        message = str(exc).replace("default_region", "--default-region")
        raise argparse.ArgumentTypeError(message) from None


def _age(text: str) -> float:
    try:
        return age_seconds("--max-age", text) or 0.0
    except InvalidArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- enrich ----------------------------------------------------------------------------------


def parse_mapping(pairs: Sequence[str], spec: KindSpec) -> dict[str, str]:
    """``--map COLUMN=PARAM`` values -> ``{param: column}``.

    Raises:
        UsageError: A value is not ``COLUMN=PARAM`` with a known parameter, or a
            parameter is mapped twice.

    Examples:
        >>> from salesql_frames._kinds import PERSON
        >>> parse_mapping(["Profile URL=linkedin_url", "Org=organization_name"], PERSON)
        {'linkedin_url': 'Profile URL', 'organization_name': 'Org'}
    """
    allowed = spec.params
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, equals, param = pair.rpartition("=")
        param = param.strip()
        if not equals or not column or not param:
            raise UsageError(
                f"--map {pair!r}: write COLUMN=PARAM, e.g. --map 'Profile=linkedin_url'"
            )
        if param not in allowed:
            reversed_pair = column.strip() in allowed
            hint = f"; reversed? write --map '{param}={column}'" if reversed_pair else ""
            raise UsageError(
                f"--map {pair!r}: {param!r} is not an API parameter "
                f"(one of {', '.join(allowed)}){hint}"
            )
        if param in mapping:
            raise UsageError(f"--map: {param} is given twice ({mapping[param]!r} and {column!r})")
        mapping[param] = column
    return mapping


def _shape(args: argparse.Namespace) -> tuple[How, ExplodeTarget | None]:
    """``--how``/``--explode`` -> ``how=``, ``explode=``; ``--explode`` alone means long."""
    explode: ExplodeTarget | None = getattr(args, "explode", None)
    how: How = getattr(args, "how", None) or ("long" if explode else "wide")
    if how == "long" and explode is None:
        choices = ", ".join(args.spec.explode)
        raise UsageError(f"--how long needs --explode {choices}")
    if how == "wide" and explode is not None:
        raise UsageError("--explode makes long output; leave out --how wide")
    check_shape(args.spec, how, explode)
    return how, explode


def _output(args: argparse.Namespace, source: Path) -> tuple[Path, str]:
    """The output path and format, checked before anything is sent."""
    if args.output:
        output = Path(args.output).expanduser()
    else:
        fmt = args.output_format or format_of(source, args.input_format)
        output = source.with_name(f"{source.stem}-enriched.{fmt}")
    fmt = format_of(output, args.output_format, option="--output-format")
    if not output.parent.is_dir():
        raise UsageError(f"cannot write {output}: folder {output.parent} does not exist")
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        raise UsageError(f"{output} is the input file; write the result elsewhere with -o")
    if output.exists() and not getattr(args, "force", False) and not args.dry_run:
        raise UsageError(f"{output} exists: add --force to replace it, or pick another -o")
    return output, fmt


def _cache_option(args: argparse.Namespace) -> bool | str | None:
    """``--no-cache``: False; ``--cache PATH``: PATH; ``--sandbox``: False; else default."""
    if args.no_cache:
        return False
    if args.cache:
        return str(Path(args.cache).expanduser())
    return False if args.sandbox else None


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Client]:
    """A client for the API (key from the environment) or for an in-process sandbox."""
    options: dict[str, Any] = {
        "rate_limit": getattr(args, "rate_limit", None),
        "daily_limit": getattr(args, "daily_limit", None),
    }
    with contextlib.ExitStack() as stack:
        if args.sandbox:
            from . import sandbox

            sb = stack.enter_context(sandbox.serve())
            client = sb.client(**options)  # its account is the sandbox's, not the port's
        else:
            client = Client(**options)
        yield stack.enter_context(client)


def _enrich(args: argparse.Namespace) -> int:
    from ._enrich import (
        OutputOptions,
        RunOptions,
        estimate_frame,
        plan_frame,
        run_enrichment,
    )

    spec: KindSpec = args.spec
    mapping = parse_mapping(args.map, spec)
    how, explode = _shape(args)
    if args.preset != "generic" and how == "long":
        raise UsageError(f"--preset {args.preset} writes one row per input row: leave out "
                         "--how long and --explode")
    source = Path(args.input).expanduser()
    output, out_format = _output(args, source)
    flags = {flag: bool(getattr(args, flag)) for flag in spec.flags}
    if args.stream:
        return _enrich_streaming(args, spec, mapping, flags, how, source, output, out_format)
    table = read_table(source, fmt=args.input_format, sheet=args.sheet,
                       header_row=args.header_row)
    try:
        plan = plan_frame(table.frame, spec, mapping, only_missing=args.only_missing,
                          flags=flags)
    except MappingError as exc:
        # A wrong --map column is a bad command line, like a wrong --map parameter.
        raise UsageError(_cli_mapping_hint(str(exc))) from None
    cache = _cache_option(args)
    with _client(args) as client:
        if not args.dry_run:
            client._secret("/search")  # no key: say so before printing a plan
        if not (args.dry_run or args.quiet):
            # What was read and the plan, before any request (stderr: stdout is the report).
            _err("\n\n".join([table.describe(), repr(plan)]))
        guess = estimate_frame(plan, RunOptions(client=client, cache=cache,
                                                max_age=args.max_age))
        if args.dry_run:
            print(_dry_run_report(table, plan, guess, args.max_credits))
            return EXIT_OK
        if not args.quiet:
            _err(str(guess))
        if not _confirmed(guess.worst_case_credits, args.yes):
            _say("nothing sent, nothing written")
            return EXIT_ERROR
        options = _run_options(args, client, cache)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = run_enrichment(table.frame, plan, options=options,
                                        output=OutputOptions(
                                            how=how, explode=explode,
                                            default_region=args.default_region))
            except RunInterrupted as interrupt:
                return _interrupted(write_table(
                    interrupt.partial, output, fmt=out_format,
                    neutralize_formulas=not args.allow_formulas, preset=args.preset,
                    bom=args.excel_csv), cache)
    written = write_table(result.frame, output, fmt=out_format,
                          neutralize_formulas=not args.allow_formulas, preset=args.preset,
                          bom=args.excel_csv)
    print("\n\n".join([table.describe(), repr(plan), str(result.summary), _store_line(args),
                       f"wrote {written.resolve()} ({len(result.frame):,} rows)"]))
    return _report_warnings(caught, written, result.summary.skipped, resumable=cache is not False)


def _interrupted(partial: Path, cache: bool | str | None) -> int:
    """Say where the partial output of an interrupted run went; exit code 130."""
    _say(f"interrupted: partial output written to {partial} (unsent rows are 'skipped'); "
         "run the same command again to send the rest"
         + ("" if cache is False else ": answers already received come from the result "
            "store"))
    return EXIT_INTERRUPTED


def _store_line(args: argparse.Namespace) -> str:
    """Which result store the run used, in one line (the summary counts what it gave)."""
    cache = _cache_option(args)
    if cache is False:
        why = "--no-cache" if args.no_cache else "--sandbox without --cache PATH"
        return f"result store: none ({why}): running again sends everything again"
    return f"result store: {_cache_path(args)}: running again sends only what is missing"


def _run_options(args: argparse.Namespace, client: Client, cache: bool | str | None) -> Any:
    """The run's options from the command line (both the eager and the streaming path)."""
    from ._enrich import RunOptions

    return RunOptions(client=client, cache=cache, max_credits=args.max_credits,
                      progress=not args.quiet, max_age=args.max_age)


def _enrich_streaming(
    args: argparse.Namespace, spec: KindSpec, mapping: Mapping[str, str | None],
    flags: dict[str, bool], how: How, source: Path, output: Path, out_format: str,
) -> int:
    """``--stream``: the LazyFrame path, from a scanned CSV/Parquet to a streamed output."""
    from ._enrich import OutputOptions, RunOptions, estimate_frame
    from ._lazy import plan_lazy, run_lazy

    clash = [name for name, given in (("--sheet", args.sheet), ("--how long", how == "long"),
                                      ("--preset", args.preset != "generic"),
                                      ("--header-row", args.header_row),
                                      ("--excel-csv", args.excel_csv)) if given]
    if clash:
        raise UsageError(f"--stream writes wide output as it is: leave out {', '.join(clash)}")
    if out_format not in STREAM_FORMATS:
        raise UsageError(f"--stream writes CSV or Parquet, not {out_format}: use a .csv or "
                         ".parquet output")
    frame = scan_lazy(source, fmt=args.input_format)
    cache = _cache_option(args)
    with _client(args) as client:
        if not args.dry_run:
            client._secret("/search")  # no key: say so before printing a plan
        if args.dry_run or not args.quiet or sys.stdin.isatty():
            # The plan before any request, as on the eager path (one more scan of the
            # mapped columns: streamed, and small beside sending).
            plan = _lazy_plan(plan_lazy, frame, spec, mapping, args.only_missing, flags)
            guess = estimate_frame(plan, RunOptions(client=client, cache=cache,
                                                    max_age=args.max_age))
            report = "\n\n".join([f"read {source} lazily (--stream)", repr(plan), str(guess)])
            if args.dry_run:
                print(report)
                return EXIT_OK
            if not args.quiet:
                _err(report)
            if not _confirmed(guess.worst_case_credits, args.yes):
                _say("nothing sent, nothing written")
                return EXIT_ERROR
        options = _run_options(args, client, cache)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = run_lazy(frame, spec, mapping, only_missing=args.only_missing,
                                  flags=flags, output=OutputOptions(
                                      how="wide", default_region=args.default_region),
                                  options=options)
            except MappingError as exc:
                raise MappingError(_cli_mapping_hint(str(exc))) from None
            except RunInterrupted as interrupt:
                return _interrupted(sink_lazy(interrupt.partial, output, fmt=out_format,
                                              neutralize_formulas=not args.allow_formulas),
                                    cache)
    written = sink_lazy(result.frame, output, fmt=out_format,
                        neutralize_formulas=not args.allow_formulas)
    distinct = (f"read {source} lazily (--stream): the counts below are of the "
                f"{result.plan.rows:,} distinct values of the mapped columns")
    print("\n\n".join([distinct, repr(result.plan), str(result.summary),
                       f"wrote {written.resolve()} (every input row, in order)"]))
    return _report_warnings(caught, written, result.summary.skipped, resumable=cache is not False)


def _lazy_plan(plan_lazy: Any, frame: Any, spec: KindSpec, mapping: Mapping[str, str | None],
               only_missing: Any, flags: dict[str, bool]) -> Any:
    try:
        return plan_lazy(frame, spec, mapping, only_missing=only_missing, flags=flags)
    except MappingError as exc:
        raise MappingError(_cli_mapping_hint(str(exc))) from None


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)




def _confirmed(worst_case: int, yes: bool, threshold: int = C.CLI_CONFIRM_CREDITS) -> bool:
    """Ask on a terminal before a worst case above ``threshold``; never block otherwise."""
    if yes or worst_case <= threshold or not sys.stdin.isatty():
        return True
    print(f"send it? worst case {plural(worst_case, 'credit')} [y/N] ", end="",
          file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except (EOFError, KeyboardInterrupt):
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def _cli_mapping_hint(message: str) -> str:
    """The library's mapping advice, with ``--map`` in place of Python arguments."""
    head, marker, _ = message.partition(" Name the columns")
    return f"{head} Name them with --map COLUMN=PARAM (see --help)" if marker else message


def _dry_run_report(table: Table, plan: Any, guess: Any, max_credits: int | None) -> str:
    lines = [table.describe(), "", repr(plan), "", str(guess)]
    if max_credits is not None and guess.worst_case_credits > max_credits:
        lines.append(f"--max-credits {max_credits:,}: the run would stop before the worst "
                     "case; unsent rows would be 'skipped'")
    lines += ["", "dry run: nothing sent, nothing written"]
    return "\n".join(lines)


def _report_warnings(
    caught: list[warnings.WarningMessage], written: Path, skipped: int, *, resumable: bool
) -> int:
    """Print the library's warnings on stderr; exit code 3 when the run stopped early."""
    stopped = [w for w in caught if issubclass(w.category, RunStoppedWarning)]
    for note in caught:
        if issubclass(note.category, SalesQLWarning) and note not in stopped:
            _say(f"warning: {_one_line(Exception(note.message))}")
    if not stopped:
        return EXIT_OK
    reason = _one_line(Exception(stopped[0].message))
    if not resumable:
        reason += (" No result store was used (--no-cache, or --sandbox without --cache "
                   "PATH): running again sends everything again.")
    elif "run again" not in reason.lower():
        reason += (" Run the same command again to send the rest: answers already received "
                   "come from the result store.")
    _say(f"stopped early, partial output written to {written} ({plural(skipped, 'row')} skipped): "
         f"{reason}")
    return EXIT_STOPPED


# -- other commands ----------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from . import sandbox
    from ._demo import run_demo

    with sandbox.serve() as sb, sb.client() as client:
        report = run_demo(Path(args.output).expanduser(), client, progress=not args.quiet)
    print(report)
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from . import sandbox

    sandbox.run(
        port=args.port, host=args.host, api_key=args.api_key, seed=args.seed, shape=args.shape,
        daily_limit=args.daily_limit,
        rate_limit=(args.rate_limit, 60.0) if args.rate_limit else None,
    )
    return EXIT_OK


def _allowance(args: argparse.Namespace) -> int:
    with _client(args) as client:
        allowance = client.allowance()
    left = "unknown" if allowance.emails_and_phones is None else f"{allowance.emails_and_phones:,}"
    print(f"credits left: {left}")
    if allowance.reset_date:
        print(f"resets: {allowance.reset_date:%Y-%m-%d %H:%M} UTC")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    with _client(args) as client:
        ok = client.verify_key()
    if ok:
        print("key OK")
        return EXIT_OK
    _say(f"key refused: check {C.API_KEY_ENV} (SalesQL dashboard: Settings -> API Access)")
    return EXIT_ERROR


def _cache_path(args: argparse.Namespace) -> Path:
    from ._store import default_cache_path

    return Path(args.cache).expanduser() if args.cache else default_cache_path()


def _cache_info(args: argparse.Namespace) -> int:
    from ._store import cache_info

    path = _cache_path(args)
    if not path.exists():
        print(f"{path}\nempty: nothing stored yet")
        return EXIT_OK
    print(cache_info(path))
    return EXIT_OK


def _cache_clear(args: argparse.Namespace) -> int:
    from ._store import ResultStore, clear_cache

    path = _cache_path(args)
    days = args.older_than
    if not path.exists():
        print(f"nothing to clear: no result store at {path}")
        return EXIT_OK
    age = "" if days is None else f" older than {days:g} days"
    older_than = None if days is None else days * 86_400
    if not args.yes and sys.stdin.isatty():
        with ResultStore(path) as store:
            doomed, held = store.count(older_than=older_than), store.count()
        if doomed == 0:
            print(f"nothing to clear: {path} holds no answer{age}" if not held else
                  f"nothing to clear: {path} holds {plural(held, 'stored answer')}, none"
                  f"{age}")
            return EXIT_OK
        which = "all of them" if doomed == held else f"of {held:,}"
        print(f"Delete {plural(doomed, 'stored answer')}{age} ({which}; each was paid for "
              f"once) from {path}? [y/N] ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return EXIT_ERROR
    removed = clear_cache(path, older_than=older_than)
    print(f"removed {plural(removed, 'stored answer')}{age} from {path}")
    return EXIT_OK

