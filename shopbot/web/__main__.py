"""`python -m shopbot.web --host H --port P`: what `shopbot run` starts as the storefront."""

from __future__ import annotations

import argparse
import os

from shopbot.web.app import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shopbot.web")
    parser.add_argument("--host", default=os.environ.get("SHOPBOT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
