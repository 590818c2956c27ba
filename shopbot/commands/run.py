"""`shopbot run`: prepare whatever is missing, start every service, supervise until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import time

from shopbot.config import PROJECT_ROOT, load_dotenv
from shopbot.envfile import ensure_env_file
from shopbot.errors import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="set up what is missing and start every service")
    parser.add_argument("--host", default=os.environ.get("SHOPBOT_HOST", "127.0.0.1"))
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--actions-port", type=int, default=5055)
    parser.add_argument("--web-port", type=int, default=8000)
    parser.add_argument("--no-seed", action="store_true", help="do not fill an empty database")
    parser.set_defaults(func=_run)


def prepare(*, seed: bool = True) -> dict:
    """Everything `make run` needs before servers start; each step is skipped when done."""
    from sqlalchemy import func, select

    from shopbot.commands.common import open_database
    from shopbot.db.models import Product

    env_path, created = ensure_env_file()
    load_dotenv(env_path)
    if created:
        print(f"created {env_path} with fresh secrets")
    settings, engine, factory = open_database()
    with factory() as session:
        empty = session.scalar(select(func.count()).select_from(Product)) == 0
    if empty and seed:
        from shopbot.demo.seed import seed_demo

        print("seeding the demo store ...")
        seed_demo(factory, progress=True)

    from recommender.training import latest_artifacts, train_from_database

    if latest_artifacts(settings) is None:
        print("training the recommender ...")
        train_from_database(settings, progress=True)

    from bot.training import train_rasa

    model = train_rasa()
    engine.dispose()
    return {"settings": settings, "model": model}


def _run(args: argparse.Namespace) -> int:
    from shopbot import services

    ready = prepare(seed=not args.no_seed)
    token = os.environ.get("RASA_AUTH_TOKEN")
    if not token:
        raise CommandError("RASA_AUTH_TOKEN is not set (see .env.example)")
    web_origin = f"http://{args.host}:{args.web_port}"
    procs = [
        services.action_server(args.actions_port),
        services.rasa_server(ready["model"], port=args.rasa_port, host=args.host, token=token),
        services.storefront(args.web_port, args.host),
    ]
    log_dir = PROJECT_ROOT / "var" / "log"
    try:
        for proc in procs:
            proc.start(log_dir)
        for proc in procs:
            proc.wait_ready()
        rest_token = os.environ.get("SHOPBOT_REST_TOKENS", "").split(",")[0]
        print(
            "\nshopbot is up:\n"
            f"  storefront + chat widget  {web_origin}/\n"
            f"  REST webhook              http://{args.host}:{args.rasa_port}/webhooks/rest/webhook\n"
            f"  dev REST token            {rest_token}\n"
            f"  try: curl -H 'Authorization: Bearer {rest_token}' -H 'Content-Type: application/json' \\\n"
            f'         -d \'{{"sender": "demo", "message": "想买双跑鞋 500以内"}}\' \\\n'
            f"         http://{args.host}:{args.rasa_port}/webhooks/rest/webhook\n"
            f"  logs                      {log_dir}/\n"
            "Ctrl-C stops everything."
        )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while True:
            for proc in procs:
                if proc.process is not None and proc.process.poll() is not None:
                    raise CommandError(
                        f"{proc.name} stopped (code {proc.process.returncode}); see {log_dir}/{proc.name}.log"
                    )
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping ...")
        return 0
    except RuntimeError as exc:
        raise CommandError(f"{exc}; see {log_dir}/") from None
    finally:
        for proc in reversed(procs):
            proc.stop()
