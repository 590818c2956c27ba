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
    parser.add_argument(
        "--scaled",
        type=int,
        default=1,
        metavar="N",
        help="run N Rasa processes (ports rasa-port .. rasa-port+N-1) sharing a PostgreSQL "
        "tracker store (TRACKER_STORE_URL) and a Redis lock store (REDIS_HOST/PORT/DB)",
    )
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
    check_store_policies()
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


def check_store_policies() -> None:
    """Refuse to start with terms the assistant would quote wrongly (a typo in policies.yml)."""
    from shopbot.policies import PolicyError, load_policies, policies_path

    try:
        load_policies(policies_path())
    except PolicyError as exc:
        raise CommandError(f"store terms: {exc}") from exc


def prepare_scaled() -> None:
    """Shared stores for several Rasa processes; an SQLite tracker cannot be shared safely."""
    url = os.environ.setdefault(
        "TRACKER_STORE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/shopbot_tracker"
    )
    if not url.startswith("postgresql"):
        raise CommandError("--scaled needs TRACKER_STORE_URL to point at PostgreSQL")
    os.environ.setdefault("REDIS_HOST", "127.0.0.1")
    os.environ.setdefault("REDIS_PORT", "6379")
    os.environ.setdefault("REDIS_DB", "1")
    ensure_postgres_database(url)


def ensure_postgres_database(url: str) -> None:
    """Create the database named in `url` if the server does not have it yet."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from shopbot.db.engine import make_engine

    target = make_url(url)
    admin = make_engine(str(target.set(database="postgres")), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def _run(args: argparse.Namespace) -> int:
    from shopbot import services

    ready = prepare(seed=not args.no_seed)
    token = os.environ.get("RASA_AUTH_TOKEN")
    if not token:
        raise CommandError("RASA_AUTH_TOKEN is not set (see .env.example)")
    web_origin = f"http://{args.host}:{args.web_port}"
    procs = [services.action_server(args.actions_port)]
    endpoints = "bot/endpoints.yml"
    if args.scaled > 1:
        endpoints = "bot/endpoints.scaled.yml"
        prepare_scaled()
    for i in range(args.scaled):
        rasa = services.rasa_server(
            ready["model"],
            port=args.rasa_port + i,
            host=args.host,
            token=token,
            endpoints=endpoints,
        )
        rasa.name = f"rasa-{i + 1}" if args.scaled > 1 else "rasa"
        procs.append(rasa)
    services.default_credentials_env()
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    procs.append(
        services.storefront(args.web_port, args.host, rasa_url=f"http://{local}:{args.rasa_port}")
    )
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
            f"  REST webhook              http://{args.host}:{args.rasa_port}/webhooks/rest/webhook"
            + (f" (and ports up to {args.rasa_port + args.scaled - 1})" if args.scaled > 1 else "")
            + "\n"
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
