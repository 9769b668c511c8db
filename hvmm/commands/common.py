"""What the subcommands share: option types, the shared option groups
(argparse parent parsers), the progress bar, and the outputs written when a
run ends (the message, --stats, --stats-json, --screenshot, --audio)."""

from __future__ import annotations

import argparse
import math
import os
import sys

from hvmm.errors import ConfigError
from hvmm.status import ExitStatus

CPU_MODELS = ("8086", "286", "386", "686")
#: The longest --timeout or --sleep (seconds): anything longer is a typo.
MAX_SECONDS = 1e9


class UsageError(Exception):
    """A problem with the command line or an input file: status 2."""


def err(message: str) -> None:
    print(f"hvmm: {message}", file=sys.stderr, flush=True)


# ---- option types --------------------------------------------------------------------

def positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def memory_mib(text: str) -> int:
    value = positive_int(text)
    if value > 3072:
        raise argparse.ArgumentTypeError(f"at most 3072 MiB: {text!r}")
    return value


def seconds(text: str) -> float:
    """A positive, finite number of seconds (at most :data:`MAX_SECONDS`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or not math.isfinite(value) or value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be a positive number of seconds up to {MAX_SECONDS:g}: {text!r}")
    return value


def screenshot_path(text: str) -> str:
    from hvmm.frontends.screenshot import check_path

    try:
        check_path(text)  # before the run, not after it
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def audio_path(text: str) -> str:
    from hvmm.frontends.audio import check_path

    try:
        check_path(text)  # before the run, not after it
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


# ---- the shared options (parent parsers) -----------------------------------------------

def machine_options(default_cpu: str = "386") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("machine")
    g.add_argument("--cpu", choices=CPU_MODELS, default=default_cpu,
                   help=f"CPU model (default {default_cpu})")
    g.add_argument("--memory", metavar="MiB", type=memory_mib,
                   help="guest RAM in MiB, 1 to 3072, 16 on the 286 (default 1 for the 8086, 16 for the others)")
    return p


def device_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--device", metavar="SPEC", action="append",
                   help="add a Python device: package.module:Class[,key=value...] or an "
                   "installed device's name[,key=value...] (see `hvmm devices`); repeatable")
    return p


def run_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("limits and statistics")
    g.add_argument("--max-instructions", metavar="N", type=positive_int,
                   help="stop after N instructions (exit status 10)")
    g.add_argument("--timeout", metavar="SECONDS", type=seconds,
                   help="stop after SECONDS of wall time (exit status 12)")
    g.add_argument("--stats", action="store_true",
                   help="print retired instructions, wall time, MIPS, the last POST code "
                   "and a table of port I/O per device and path (in-kernel, python, "
                   "unclaimed) to stderr")
    g.add_argument("--stats-json", metavar="FILE",
                   help="write the statistics, the exit status and why the run stopped "
                   "to FILE as JSON (for tools)")
    return p


def output_options(serial: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("output")
    if serial:
        g.add_argument("--serial", choices=("stdio",),
                       help="connect COM1 to stdin/stdout (raw mode on a terminal, "
                       "Ctrl-] leaves)")
    g.add_argument("--screenshot", metavar="FILE.png", type=screenshot_path,
                   help="when the run ends, however it ends, save the screen as a "
                   "640x400 PNG (text and CGA/VGA graphics modes)")
    g.add_argument("--audio", metavar="FILE.wav", type=audio_path,
                   help="write what the PC speaker played to a WAV file")
    return p


# ---- during and after the run ------------------------------------------------------------

def progress_bar(total: int | None, show: bool | None = None):
    """A tqdm bar on stderr counting retired instructions out of ``total``
    (shown by default only when stderr is a terminal), and the callback that
    moves it: (None, None) when there is no bar."""
    if show is None:
        show = total is not None and sys.stderr.isatty()
    if not show or total is None:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="instr", unit_scale=True, file=sys.stderr,
               leave=False, dynamic_ncols=True)

    def on_progress(done, _bar=bar):
        _bar.update(min(done, total) - _bar.n)

    return bar, on_progress


def check_stats_json(path: str | None) -> None:
    """--stats-json FILE: refuse a path that cannot be written before the run."""
    if not path:
        return
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise UsageError(f"cannot write --stats-json {path}: no directory {parent}")
    if os.path.isdir(path):
        raise UsageError(f"cannot write --stats-json {path}: is a directory")


def finish(machine, args, result, *, message: str | None = None, extra: str | None = None,
           screen: str | None = None, stats: bool | None = None) -> int:
    """The end of every run: the one-line message, ``extra`` lines for
    stderr (--regs), the final screen
    (stdout), --screenshot, --audio, the stats table and --stats-json;
    returns the exit status (2 if an output file cannot be written and the
    run itself went well)."""
    status = int(result.status)
    message = result.message if message is None else message
    sys.stdout.flush()
    if message:
        err(message)
    if extra:
        print(extra, file=sys.stderr)
    if screen is not None:
        print(screen, flush=True)
    status = _output(status, getattr(args, "screenshot", None), machine.screenshot)
    if getattr(args, "audio", None):
        from hvmm.frontends.audio import save

        status = _output(status, args.audio, lambda path: save(machine.cpu, path))
    show = args.stats if stats is None else stats
    if show or getattr(args, "stats_json", None):
        s = machine.stats()
        if show:
            print(machine.format_stats(s), file=sys.stderr)
        if getattr(args, "stats_json", None):
            from hvmm.stats import stats_json

            def write(path):
                try:
                    with open(path, "w") as f:
                        f.write(stats_json(s, status=status, reason=result.reason,
                                           message=message))
                except OSError as exc:
                    raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None

            status = _output(status, args.stats_json, write)
    sys.stderr.flush()
    return status


def _output(status: int, path, write) -> int:
    if not path:
        return status
    try:
        write(path)
    except ConfigError as exc:
        err(str(exc))
        return ExitStatus.USAGE if status == ExitStatus.OK else status
    return status
