"""``python -m pointillist`` runs the CLI."""

from pointillist.cli import main

main()
