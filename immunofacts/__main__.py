"""`python -m immunofacts`, and `main`, the entry point of the `immunofacts` command."""

import gc


def main() -> None:
    """Run the command line, its modules imported with the cyclic collector paused.

    Start-up makes tens of thousands of objects (modules, classes, functions) that live
    as long as the process, and no garbage: the collector, run as they are made, would
    walk them again and again for nothing (about a tenth of the start-up time). They
    are frozen once imported, so that no later collection walks them either."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        from .cli import main as run
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    run()


if __name__ == "__main__":
    main()
