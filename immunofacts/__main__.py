"""`python -m immunofacts`, and `main`, the entry point of the `immunofacts` command."""

import gc
import signal


def main() -> None:
    """Run the command line, its modules imported with the cyclic collector paused.

    Start-up makes tens of thousands of objects (modules, classes, functions) that live
    as long as the process, and no garbage: the collector, run as they are made, would
    walk them again and again for nothing (about a tenth of the start-up time). They
    are frozen once imported, so that no later collection walks them either.

    SIGINT, SIGTERM and SIGHUP that arrive while the modules load (a slow start, a
    Ctrl-C at once) are held, not raised inside an import (a traceback, or lost in an
    import lock's callback): the command line stops on them as soon as it handles
    signals itself."""
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        held.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, hold)
    collecting = gc.isenabled()
    gc.disable()
    try:
        from .cli import main as run
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    run(held)


if __name__ == "__main__":
    main()
