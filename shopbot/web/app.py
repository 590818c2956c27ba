"""Storefront HTTP server: static page + chat widget, a JSON API over the database, SVG images.

Every handler does its database work in a worker thread (SQLAlchemy here is synchronous), so a
slow query never stalls the event loop that also serves the page and the marketing sweeper.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sanic import Sanic, response
from sanic.exceptions import NotFound as SanicNotFound
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from shopbot.config import PROJECT_ROOT, Settings, load_dotenv
from shopbot.db import repo
from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import Event, Offer, OfferGrant, Product, utcnow
from shopbot.db.spool import EventSpool
from shopbot.policies import service_badges, store_policies
from shopbot.specs import specs
from shopbot.web.images import product_svg
from shopbot.web.marketing import Marketing, Presence, RasaPusher, Rules

log = logging.getLogger(__name__)

WEB_DIR = PROJECT_ROOT / "web"
SOCKET_IO_BUNDLE = Path("node_modules/socket.io-client/dist/socket.io.esm.min.js")
SHOPPER_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
PRODUCT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
PAGE_EVENTS = ("view", "click", "search", "favorite")
MAX_BODY = 16 * 1024

T = TypeVar("T")
_app_names = itertools.count()


class BadRequest(SanicException):
    status_code = 400


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _shopper(value: Any) -> str:
    if not isinstance(value, str) or not SHOPPER_ID.match(value):
        raise BadRequest("shopper must be 6-64 letters, digits, '-' or '_'")
    return value


def _product_id(value: Any) -> str:
    if not isinstance(value, str) or not PRODUCT_ID.match(value):
        raise BadRequest("product_id is missing or malformed")
    return value


def card(product: Product, *, reason: str | None = None) -> dict[str, Any]:
    """A product as the page and the chat cards show it."""
    attributes = product.attributes or {}
    return {
        "id": product.id,
        "title": product.title,
        "category": product.category,
        "brand": product.brand,
        "price": float(product.price),
        "list_price": float(product.list_price),
        "image": f"/images/products/{product.id}.svg",
        "url": f"/#/p/{product.id}",
        "color": attributes.get("color"),
        "stock": int(product.stock),
        "reason": reason,
    }


class Store:
    """The storefront's state: database, recommender, marketing. One per app."""

    def __init__(self, settings: Settings, *, rasa_url: str, rules: Rules | None = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        self.factory: sessionmaker = make_session_factory(self.engine)
        self.spool = EventSpool(self.factory, settings.var_dir / "spool")
        self.presence = Presence()
        self.recommender: Any = None
        self.recommender_error: str | None = None
        self.marketing = Marketing(
            self.factory,
            lambda: self.recommender,
            RasaPusher(rasa_url, os.environ.get("RASA_AUTH_TOKEN")),
            self.presence,
            rules or Rules.from_env(),
        )

    def load_recommender(self) -> None:
        try:
            from recommender.service import RecommenderService

            seed = os.environ.get("SHOPBOT_RECOMMENDER_SEED")
            self.recommender = RecommenderService(
                self.factory,
                self.settings.artifacts_dir,
                random_state=int(seed) if seed else None,
            )
        except Exception as exc:  # noqa: BLE001 - the store still sells without recommendations
            self.recommender_error = f"{type(exc).__name__}: {exc}"
            log.exception("recommender unavailable; 猜你喜欢 falls back to new arrivals")

    # --- reads -------------------------------------------------------------------------------

    def categories(self) -> list[dict[str, Any]]:
        with self.factory() as s:
            rows = s.execute(
                select(Product.category, func.count(Product.id))
                .group_by(Product.category)
                .order_by(func.count(Product.id).desc(), Product.category)
            ).all()
        return [{"name": c, "count": int(n)} for c, n in rows]

    def products(self, category: str | None, text: str | None, limit: int, offset: int) -> dict:
        with self.factory() as s:
            stmt = select(Product)
            count = select(func.count(Product.id))
            if category:
                stmt = stmt.where(Product.category == category)
                count = count.where(Product.category == category)
            if text:
                like = f"%{text}%"
                stmt = stmt.where(Product.title.like(like) | Product.brand.like(like))
                count = count.where(Product.title.like(like) | Product.brand.like(like))
            rows = s.scalars(
                stmt.order_by(Product.stock == 0, Product.created_at.desc(), Product.id)
                .limit(limit)
                .offset(offset)
            ).all()
            total = int(s.scalar(count) or 0)
        return {"items": [card(p) for p in rows], "total": total}

    def product(self, product_id: str) -> dict | None:
        with self.factory() as s:
            p = s.get(Product, product_id)
            if p is None:
                return None
            out = card(p)
            out["attributes"] = p.attributes or {}
            # The page lists attributes under the names the chat uses, not the catalogue's keys.
            out["specs"] = [
                {"name": name, "value": value} for name, value in specs(p.attributes, " / ")
            ]
            out["service"] = service_badges(store_policies(), p.category, float(p.price))
            out["tags"] = p.tags or []
            out["description"] = p.description
            now = utcnow()
            offers = s.scalars(
                select(Offer).where(
                    Offer.active.is_(True), Offer.starts_at <= now, Offer.ends_at >= now
                )
            ).all()
            out["offers"] = [o.title for o in offers if repo.offer_applies(o, p)][:3]
        return out

    def image(self, product_id: str) -> str | None:
        with self.factory() as s:
            p = s.get(Product, product_id)
            if p is None:
                return None
            colour = (p.attributes or {}).get("color")
            colour = colour[0] if isinstance(colour, list) and colour else colour
            return product_svg(p.id, p.title, p.category, p.brand, colour)

    def cart(self, shopper_id: str) -> dict[str, Any]:
        with self.factory() as s:
            items = repo.cart_items(s, shopper_id)
            lines = [{**card(i.product), "quantity": i.quantity} for i in items]
            grants = s.execute(
                select(OfferGrant.id, Offer.title)
                .join(Offer, Offer.id == OfferGrant.offer_id)
                .where(OfferGrant.shopper_id == shopper_id, OfferGrant.redeemed_at.is_(None))
                .order_by(OfferGrant.granted_at.desc())
            ).all()
        total = round(sum(line["price"] * line["quantity"] for line in lines), 2)
        return {
            "items": lines,
            "count": sum(line["quantity"] for line in lines),
            "total": total,
            "coupons": [{"grant_id": int(g), "title": t} for g, t in grants],
        }

    def recommendations(self, shopper_id: str, k: int) -> dict[str, Any]:
        if self.recommender is not None:
            result = self.recommender.recommend(shopper_id, k)
            with self.factory() as s:
                products = repo.get_products(s, [r.item_id for r in result.items])
                items = [
                    card(products[r.item_id], reason=r.reason)
                    for r in result.items
                    if r.item_id in products
                ]
            return {"items": items, "fallback": result.fallback}
        with self.factory() as s:
            rows = s.scalars(
                select(Product)
                .where(Product.stock > 0)
                .order_by(Product.created_at.desc(), Product.id)
                .limit(k)
            ).all()
            return {
                "items": [card(p, reason="新品上架") for p in rows],
                "fallback": "recommender_unavailable",
            }

    # --- writes ------------------------------------------------------------------------------

    def cart_add(self, shopper_id: str, product_id: str, quantity: int) -> dict:
        with self.factory.begin() as s:
            repo.cart_add(s, shopper_id, product_id, quantity, channel="web")
        return self.cart(shopper_id)

    def cart_remove(self, shopper_id: str, product_id: str) -> dict:
        with self.factory.begin() as s:
            repo.cart_remove(s, shopper_id, product_id, channel="web")
        return self.cart(shopper_id)

    def checkout(self, shopper_id: str) -> dict[str, Any]:
        with self.factory.begin() as s:
            items = [(i.product_id, i.quantity) for i in repo.cart_items(s, shopper_id)]
            if not items:
                raise repo.InvalidRequest("购物车是空的")
            order = repo.place_order(s, shopper_id, items, channel="web")
            redeemed = s.execute(
                select(OfferGrant.id, Offer.title)
                .join(Offer, Offer.id == OfferGrant.offer_id)
                .where(OfferGrant.order_id == order.id)
            ).all()
            return {
                "order_id": order.id,
                "total": float(order.total),
                "discount": float(order.discount),
                "redeemed": [{"grant_id": int(g), "title": t} for g, t in redeemed],
            }

    def record(self, shopper_id: str, data: dict[str, Any]) -> tuple[str, str]:
        """Store a page event; a second post with the same view id only sets its dwell time."""
        etype = data.get("type")
        if etype not in PAGE_EVENTS:
            raise BadRequest(f"type must be one of {', '.join(PAGE_EVENTS)}")
        product_id = data.get("product_id")
        if product_id is not None:
            product_id = _product_id(product_id)
        dwell = data.get("dwell_seconds")
        if dwell is not None:
            if isinstance(dwell, bool) or not isinstance(dwell, int | float):
                raise BadRequest("dwell_seconds must be a number")
            # Tabs left open overnight are not attention: cap what one view can claim.
            dwell = min(float(dwell), 3600.0)
        event_id = data.get("event_id")
        if event_id is not None and (
            not isinstance(event_id, str) or not SHOPPER_ID.match(event_id)
        ):
            raise BadRequest("event_id must be 6-64 letters, digits, '-' or '_'")
        query = data.get("query")
        if query is not None and not isinstance(query, str):
            raise BadRequest("query must be text")
        if event_id:
            try:
                with self.factory.begin() as s:
                    existing = s.get(Event, event_id)
                    if existing is not None:
                        if existing.shopper_id != shopper_id or existing.type != etype:
                            raise BadRequest("event_id belongs to another event")
                        if dwell is not None and dwell < 0:
                            raise repo.InvalidRequest("dwell_seconds must be between 0 and 86400")
                        existing.dwell_seconds = dwell
                        return event_id, "updated"
            except OperationalError:
                # Database down: the spool below keeps the event (or the dwell update, which the
                # replay applies to the view it belongs to).
                pass
        event_id = event_id or repo.new_id()
        status = self.spool.record(
            shopper_id,
            etype,
            product_id=product_id,
            dwell_seconds=dwell,
            query=query,
            channel="web",
            session_id=data.get("session_id") if isinstance(data.get("session_id"), str) else None,
            event_id=event_id,
        )
        return event_id, status


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


def create_app(
    settings: Settings | None = None,
    *,
    web_dir: Path = WEB_DIR,
    rasa_url: str | None = None,
    rules: Rules | None = None,
) -> Sanic:
    settings = settings or Settings.from_env()
    rasa_url = rasa_url or os.environ.get("SHOPBOT_RASA_URL", "http://127.0.0.1:5005")
    # What the browser uses to reach Rasa; differs from rasa_url behind a proxy.
    public_rasa = os.environ.get("SHOPBOT_RASA_PUBLIC_URL", rasa_url)
    app = Sanic(f"shopbot_storefront_{next(_app_names)}")
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.FALLBACK_ERROR_FORMAT = "json"
    store = Store(settings, rasa_url=rasa_url, rules=rules)
    app.ctx.store = store

    @app.before_server_start
    async def _start(app: Sanic, _loop: Any) -> None:
        await _in_thread(store.load_recommender)
        app.ctx.sweeper = asyncio.create_task(_sweeper(store))
        app.ctx.replayer = asyncio.create_task(_replayer(store))

    @app.before_server_stop
    async def _stop_sweeper(app: Sanic, _loop: Any) -> None:
        app.ctx.sweeper.cancel()
        app.ctx.replayer.cancel()

    @app.after_server_stop
    async def _stop(_app: Sanic, _loop: Any) -> None:
        store.engine.dispose()

    @app.exception(BadRequest)
    async def _bad(_request: Request, exc: BadRequest) -> HTTPResponse:
        return _error(400, str(exc))

    @app.exception(repo.NotFound)
    async def _missing(_request: Request, exc: repo.NotFound) -> HTTPResponse:
        return _error(404, str(exc).strip("'\""))

    @app.exception(repo.InvalidRequest)
    async def _invalid(_request: Request, exc: repo.InvalidRequest) -> HTTPResponse:
        return _error(400, str(exc))

    @app.exception(OperationalError)
    async def _db_down(_request: Request, _exc: OperationalError) -> HTTPResponse:
        return _error(503, "数据库暂时不可用，请稍后再试")

    # --- page and assets -----------------------------------------------------------------------

    @app.get("/")
    async def index(_request: Request) -> HTTPResponse:
        return await response.file(web_dir / "index.html", mime_type="text/html; charset=utf-8")

    app.static("/static", str(web_dir / "src"), name="web_static")

    @app.get("/vendor/socket.io.esm.min.js")
    async def socket_io_bundle(_request: Request) -> HTTPResponse:
        path = web_dir / SOCKET_IO_BUNDLE
        if not path.exists():
            return _error(404, "socket.io-client is not installed: run `npm ci` in web/")
        return await response.file(path, mime_type="text/javascript")

    @app.get("/images/products/<name:str>")
    async def image(_request: Request, name: str) -> HTTPResponse:
        product_id = name.removesuffix(".svg")
        if not name.endswith(".svg") or not PRODUCT_ID.match(product_id):
            return _error(404, "no such image")
        svg = await _in_thread(store.image, product_id)
        if svg is None:
            return _error(404, "no such image")
        return response.text(
            svg,
            content_type="image/svg+xml; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @app.get("/api/config")
    async def config(_request: Request) -> HTTPResponse:
        return response.json({"rasa_url": public_rasa, "socket_path": "/socket.io"})

    # --- catalogue -----------------------------------------------------------------------------

    @app.get("/api/categories")
    async def categories(_request: Request) -> HTTPResponse:
        return response.json({"categories": await _in_thread(store.categories)})

    @app.get("/api/products")
    async def products(request: Request) -> HTTPResponse:
        try:
            limit = max(1, min(int(request.args.get("limit", 24)), 100))
            offset = max(0, int(request.args.get("offset", 0)))
        except ValueError:
            raise BadRequest("limit and offset must be integers") from None
        category = request.args.get("category") or None
        text = (request.args.get("q") or "").strip()[:50] or None
        return response.json(await _in_thread(store.products, category, text, limit, offset))

    @app.get("/api/products/<product_id:str>")
    async def product(_request: Request, product_id: str) -> HTTPResponse:
        found = await _in_thread(store.product, _product_id(product_id))
        if found is None:
            return _error(404, f"unknown product {product_id}")
        return response.json(found)

    @app.get("/api/recommendations")
    async def recommendations(request: Request) -> HTTPResponse:
        shopper_id = _shopper(request.args.get("shopper"))
        try:
            k = max(1, min(int(request.args.get("k", 8)), 24))
        except ValueError:
            raise BadRequest("k must be an integer") from None
        return response.json(await _in_thread(store.recommendations, shopper_id, k))

    # --- cart and checkout ---------------------------------------------------------------------

    @app.get("/api/cart")
    async def get_cart(request: Request) -> HTTPResponse:
        return response.json(await _in_thread(store.cart, _shopper(request.args.get("shopper"))))

    @app.post("/api/cart")
    async def add_to_cart(request: Request) -> HTTPResponse:
        data = _body(request)
        shopper_id = _shopper(data.get("shopper"))
        quantity = data.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise BadRequest("quantity must be an integer")
        cart = await _in_thread(
            store.cart_add, shopper_id, _product_id(data.get("product_id")), quantity
        )
        return response.json(cart)

    @app.delete("/api/cart/<product_id:str>")
    async def remove_from_cart(request: Request, product_id: str) -> HTTPResponse:
        shopper_id = _shopper(request.args.get("shopper"))
        return response.json(
            await _in_thread(store.cart_remove, shopper_id, _product_id(product_id))
        )

    @app.post("/api/checkout")
    async def checkout(request: Request) -> HTTPResponse:
        shopper_id = _shopper(_body(request).get("shopper"))
        return response.json(await _in_thread(store.checkout, shopper_id))

    # --- behaviour and presence ----------------------------------------------------------------

    @app.post("/api/events")
    async def events(request: Request) -> HTTPResponse:
        data = _body(request)
        shopper_id = _shopper(data.get("shopper"))
        event_id, status = await _in_thread(store.record, shopper_id, data)
        offer = None
        if status != "spooled":
            record = await store.marketing.on_event(shopper_id, event_id)
            if record is not None:
                offer = {"offer_id": record.offer_id, "delivered": record.delivered}
        return response.json({"event_id": event_id, "status": status, "offer": offer})

    @app.post("/api/presence")
    async def presence(request: Request) -> HTTPResponse:
        data = _body(request)
        shopper_id = _shopper(data.get("shopper"))
        store.presence.update(shopper_id, bool(data.get("open", True)))
        return response.json({"open": store.presence.is_open(shopper_id)})

    @app.get("/healthz")
    async def health(_request: Request) -> HTTPResponse:
        return response.json(
            {
                "ok": True,
                "recommender": store.recommender is not None,
                "error": store.recommender_error,
            }
        )

    @app.exception(SanicNotFound)
    async def _not_found(request: Request, _exc: Exception) -> HTTPResponse:
        return _error(404, f"not found: {request.path}")

    return app


async def _sweeper(store: Store) -> None:
    """Looks for abandoned carts of shoppers whose chat is open."""
    interval = float(os.environ.get("SHOPBOT_OFFER_SWEEP_SECONDS", "30"))
    while True:
        await asyncio.sleep(interval)
        try:
            await store.marketing.sweep_abandoned()
        except Exception:  # noqa: BLE001 - the sweeper must outlive one bad pass
            log.exception("abandoned-cart sweep failed")


async def _replayer(store: Store) -> None:
    """Writes events spooled during a database outage as soon as the database is back, without
    waiting for the next event to arrive (a quiet shop would otherwise hold them indefinitely)."""
    interval = float(os.environ.get("SHOPBOT_SPOOL_REPLAY_SECONDS", "10"))
    while True:
        await asyncio.sleep(interval)
        try:
            if store.spool.pending():
                await _in_thread(store.spool.replay)
        except Exception:  # noqa: BLE001 - the replayer must outlive one bad pass
            log.exception("replaying spooled events failed")


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    load_dotenv()
    app = create_app(Settings.from_env())
    print(f"storefront on http://{host}:{port}/", flush=True)
    app.run(host=host, port=port, access_log=False, workers=1, motd=False)
