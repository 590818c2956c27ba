"""Subcommands of `shopbot`; each module defines `register(subparsers)`."""
