"""`python -m immunofacts`."""

from .cli import main

main()
