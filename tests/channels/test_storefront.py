"""The storefront's JSON API and assets, against the running server and a real database."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from shopbot.db.engine import make_engine, make_session_factory
from shopbot.db.models import Event, Product
from tests.channels.conftest import Server

pytestmark = pytest.mark.slow

SHOPPER = "wtest-shopper-01"


def api(server: Server, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, f"{server.url}{path}", timeout=20, **kw)


def events(db_url: str, shopper: str) -> list[Event]:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as s:
            return list(
                s.scalars(select(Event).where(Event.shopper_id == shopper).order_by(Event.ts))
            )
    finally:
        engine.dispose()


def test_categories_and_grid(storefront: Server) -> None:
    cats = api(storefront, "GET", "/api/categories").json()["categories"]
    assert cats[0] == {"name": "运动鞋", "count": 5}
    grid = api(storefront, "GET", "/api/products", params={"category": "手机"}).json()
    assert grid["total"] == 3
    assert {p["category"] for p in grid["items"]} == {"手机"}
    first = grid["items"][0]
    assert first["image"] == f"/images/products/{first['id']}.svg"
    found = api(storefront, "GET", "/api/products", params={"q": "登山"}).json()
    assert [p["id"] for p in found["items"]] == ["bag-002"]


def test_product_detail_shows_applicable_offer(storefront: Server) -> None:
    shoe = api(storefront, "GET", "/api/products/shoe-002").json()
    assert shoe["price"] == 459.0 and shoe["list_price"] == 599.0
    assert shoe["attributes"]["color"] == "蓝色"
    assert shoe["specs"] == [{"name": "颜色", "value": "蓝色"}]
    assert shoe["offers"] == ["跑鞋立减20元"]
    # The same terms the chat quotes (data/store/policies.yml).
    assert shoe["service"] == ["包邮", "7天无理由退货", "正品保障"]
    phone = api(storefront, "GET", "/api/products/phone-001").json()
    assert phone["offers"] == []
    assert "保修1年" in phone["service"]
    missing = api(storefront, "GET", "/api/products/nope-404")
    assert missing.status_code == 404 and "nope-404" in missing.json()["error"]


def test_product_image_is_svg_drawn_from_the_product(storefront: Server, shop_db: str) -> None:
    resp = api(storefront, "GET", "/images/products/shoe-001.svg")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("image/svg+xml")
    assert "#2b2b2b" in resp.text  # 黑色
    assert "迅跑" in resp.text
    assert api(storefront, "GET", "/images/products/nope.svg").status_code == 404
    # Markup in catalogue text is escaped, not rendered.
    engine = make_engine(shop_db)
    with make_session_factory(engine).begin() as s:
        s.get(Product, "tee-001").title = "<script>alert(1)</script>"
    engine.dispose()
    svg = api(storefront, "GET", "/images/products/tee-001.svg").text
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_cart_add_remove_and_checkout(storefront: Server, shop_db: str) -> None:
    cart = api(
        storefront, "POST", "/api/cart", json={"shopper": SHOPPER, "product_id": "bag-001"}
    ).json()
    assert cart["count"] == 1 and cart["total"] == 239.0
    cart = api(
        storefront,
        "POST",
        "/api/cart",
        json={"shopper": SHOPPER, "product_id": "tee-001", "quantity": 2},
    ).json()
    assert cart["count"] == 3 and cart["total"] == 239.0 + 2 * 79.0
    cart = api(storefront, "DELETE", "/api/cart/bag-001", params={"shopper": SHOPPER}).json()
    assert [i["id"] for i in cart["items"]] == ["tee-001"]
    order = api(storefront, "POST", "/api/checkout", json={"shopper": SHOPPER}).json()
    assert order["total"] == 158.0 and order["discount"] == 0.0
    assert api(storefront, "GET", "/api/cart", params={"shopper": SHOPPER}).json()["count"] == 0
    kinds = [e.type for e in events(shop_db, SHOPPER)]
    assert kinds.count("add_to_cart") == 2 and "remove_from_cart" in kinds and "purchase" in kinds


def test_view_with_dwell_is_one_event(storefront: Server, shop_db: str) -> None:
    body = {
        "shopper": SHOPPER,
        "type": "view",
        "product_id": "phone-002",
        "event_id": "view-abc-123",
    }
    first = api(storefront, "POST", "/api/events", json=body).json()
    assert first["status"] == "stored"
    second = api(storefront, "POST", "/api/events", json={**body, "dwell_seconds": 42.5}).json()
    assert second["status"] == "updated"
    views = [e for e in events(shop_db, SHOPPER) if e.type == "view"]
    assert len(views) == 1
    assert (views[0].product_id, views[0].dwell_seconds, views[0].channel) == (
        "phone-002",
        42.5,
        "web",
    )


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "fragment"),
    [
        ("POST", "/api/events", {"data": b"[not json"}, 400, "malformed JSON"),
        ("POST", "/api/events", {"json": {"shopper": "x", "type": "view"}}, 400, "shopper"),
        (
            "POST",
            "/api/events",
            {"json": {"shopper": SHOPPER, "type": "hack"}},
            400,
            "type must be",
        ),
        (
            "POST",
            "/api/events",
            {"json": {"shopper": SHOPPER, "type": "view", "product_id": "ghost"}},
            404,
            "ghost",
        ),
        (
            "POST",
            "/api/events",
            {"json": {"shopper": SHOPPER, "type": "view", "dwell_seconds": "long"}},
            400,
            "number",
        ),
        (
            "POST",
            "/api/cart",
            {"json": {"shopper": SHOPPER, "product_id": "shoe-001", "quantity": 0}},
            400,
            "quantity",
        ),
        ("POST", "/api/cart", {"json": {"shopper": SHOPPER, "product_id": "ghost"}}, 404, "ghost"),
        ("POST", "/api/checkout", {"json": {"shopper": SHOPPER}}, 400, "购物车是空的"),
        ("GET", "/api/recommendations?shopper=bad id", {}, 400, "shopper"),
        ("POST", "/api/events", {"data": b"x" * 20000}, 413, ""),
    ],
)
def test_bad_input_gets_a_clear_error(
    storefront: Server, method, path, kwargs, status, fragment
) -> None:
    resp = api(storefront, method, path, **kwargs)
    assert resp.status_code == status, resp.text
    if fragment:
        assert fragment in resp.json()["error"]


def test_recommendations_follow_behaviour_at_once(storefront: Server) -> None:
    shopper = "wtest-recs-02"
    before = api(
        storefront, "GET", "/api/recommendations", params={"shopper": shopper, "k": 4}
    ).json()
    assert len(before["items"]) == 4
    for pid in ("phone-001", "phone-002"):
        api(
            storefront,
            "POST",
            "/api/events",
            json={"shopper": shopper, "type": "view", "product_id": pid, "dwell_seconds": 30},
        )
    after = api(
        storefront, "GET", "/api/recommendations", params={"shopper": shopper, "k": 4}
    ).json()
    assert after["items"] != before["items"]
    phones = lambda recs: sum(item["category"] == "手机" for item in recs["items"])  # noqa: E731
    assert after["items"][0]["category"] == "手机"
    assert phones(after) > phones(before)
    assert all(item["reason"] for item in after["items"])


def test_page_and_widget_assets_are_served_locally(storefront: Server) -> None:
    page = api(storefront, "GET", "/")
    assert page.status_code == 200 and "猜你喜欢" in page.text
    assert "http" not in page.text.split("<body>")[1].split("</body>")[0]  # no CDN
    for path in (
        "/static/app.js",
        "/static/widget.js",
        "/static/style.css",
        "/vendor/socket.io.esm.min.js",
    ):
        assert api(storefront, "GET", path).status_code == 200, path
    config = api(storefront, "GET", "/api/config").json()
    assert config["socket_path"] == "/socket.io"
