"""Metrics, loaders, split helpers, the purchase model and `shopbot evaluate` on known data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender import data as rd
from recommender.catalog import Catalog
from recommender.content import ContentIndex, tokenize
from recommender.metrics import ranking_metrics
from recommender.ranker import PurchaseModel
from shopbot.cli import main


def test_ranking_metrics_on_a_hand_computed_case() -> None:
    # User 0: relevant {1, 3}; list [1, 2, 3] -> hits at ranks 1 and 3.
    # User 1: relevant {0}; list [2, 1, 0] -> hit at rank 3.
    truth = sp.csr_matrix(np.array([[0, 1, 0, 1], [1, 0, 0, 0]], np.float32))
    recs = np.array([[1, 2, 3], [2, 1, 0]])
    m = ranking_metrics(recs, truth, 3, n_items=4)
    assert m["precision"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert m["recall"] == pytest.approx((1.0 + 1.0) / 2)
    d = 1 / np.log2([2, 3, 4])
    ndcg0 = (d[0] + d[2]) / (d[0] + d[1])
    ndcg1 = d[2] / d[0]
    assert m["ndcg"] == pytest.approx((ndcg0 + ndcg1) / 2)
    ap0 = (1 / 1 + 2 / 3) / 2
    ap1 = (1 / 3) / 1
    assert m["map"] == pytest.approx((ap0 + ap1) / 2)
    assert m["hit_rate"] == 1.0
    assert m["coverage"] == pytest.approx(4 / 4)


def test_loaders_and_splits(tmp_path: Path) -> None:
    udata = tmp_path / "u.data"
    udata.write_text("1\t10\t5\t100\n1\t11\t3\t101\n2\t10\t4\t102\n1\t12\t1\t103\n1\t13\t2\t104\n")
    rows = rd.load_movielens(udata)
    assert rows.users[0] == "1" and rows.items[0] == "10" and rows.ratings is not None
    train, test = rd.split_random_per_user(rows, test_fraction=0.25, random_state=0)
    assert len(train) + len(test) == len(rows)
    assert "2" in train.users  # a one-row user keeps it in train
    taobao = tmp_path / "UserBehavior.csv"
    taobao.write_text("1,100,7,pv,1511544070\n1,101,7,buy,1511544080\n2,100,7,cart,1511544090\n")
    tb = rd.load_taobao(taobao)
    assert tb.events == ["view", "purchase", "add_to_cart"]
    before, after = rd.split_by_time(tb, 1511544085)
    assert len(before) == 2 and len(after) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item\n1,2\n")
    with pytest.raises(ValueError, match="timestamp"):
        rd.load_interactions_csv(bad)


def test_jieba_tokens_and_content_similarity() -> None:
    assert "蓝牙" in tokenize("索尼无线蓝牙耳机") or "蓝牙耳机" in tokenize("索尼无线蓝牙耳机")
    catalog = Catalog.from_records(
        [
            {
                "id": "a",
                "title": "索尼无线蓝牙耳机",
                "category": "耳机",
                "brand": "索尼",
                "price": 500,
            },
            {
                "id": "b",
                "title": "漫步者蓝牙耳机",
                "category": "耳机",
                "brand": "漫步者",
                "price": 200,
            },
            {
                "id": "c",
                "title": "三只松鼠坚果礼盒",
                "category": "零食",
                "brand": "三只松鼠",
                "price": 90,
            },
        ]
    )
    idx = ContentIndex(catalog)
    sims = idx.similar([0])
    assert sims[1] > sims[2]
    q = idx.query_scores({"category": "零食"})
    assert int(np.argmax(q)) == 2


def test_purchase_model_learns_and_is_calibrated(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 18))
    p = 1 / (1 + np.exp(-(2.0 * x[:, 10] - 2.5)))  # cart adds drive purchases
    y = (rng.random(4000) < p).astype(int)
    model = PurchaseModel.fit(x, y, random_state=0)
    assert model.metrics["auc"] > 0.8
    pred = model.predict(x)
    assert abs(pred.mean() - y.mean()) < 0.03  # calibrated despite balanced class weights
    path = tmp_path / "ranker.json"
    model.save(path)
    np.testing.assert_allclose(PurchaseModel.load(path).predict(x[:5]), pred[:5])


def test_purchase_model_needs_both_labels() -> None:
    with pytest.raises(ValueError, match="both"):
        PurchaseModel.fit(np.zeros((10, 18)), np.zeros(10, int))


def _write(path: Path, rows: list[tuple[str, str, int]]) -> None:
    path.write_text("user,item,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))


def test_shopbot_evaluate_writes_one_object_per_model(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    train, test = [], []
    for u in range(60):
        base = 0 if u % 2 == 0 else 10
        items = rng.permutation(np.arange(base, base + 10))[:6]
        train += [(f"u{u}", f"i{i}", 1) for i in items[:5]]
        test += [(f"u{u}", f"i{items[5]}", 2)]
    _write(tmp_path / "train.csv", train)
    _write(tmp_path / "test.csv", test)
    out = tmp_path / "report.json"
    rc = main(
        [
            "evaluate",
            "--train",
            str(tmp_path / "train.csv"),
            "--test",
            str(tmp_path / "test.csv"),
            "--k",
            "5",
            "--models",
            "ease,hybrid",
            "--json",
            str(out),
        ]
    )
    assert rc == 0
    report = json.loads(out.read_text())
    names = [m["model"] for m in report["models"]]
    assert {"popularity", "item_knn", "ease", "hybrid"} <= set(names)
    assert report["served_model"] == "hybrid"
    for m in report["models"]:
        for key in (
            "precision",
            "recall",
            "f1",
            "ndcg",
            "map",
            "hit_rate",
            "coverage",
            "cold_start",
        ):
            assert key in m
    by = {m["model"]: m for m in report["models"]}
    # The taste structure is learnable: CF must beat popularity clearly.
    assert by["ease"]["recall"] > by["popularity"]["recall"] + 0.1
    assert "NDCG" in capsys.readouterr().out


def test_shopbot_evaluate_rejects_bad_input(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["evaluate", "--train", str(tmp_path / "missing.csv"), "--test", "x.csv"]) != 0
    assert "no such file" in capsys.readouterr().err


def test_new_shoppers_with_consent_get_their_segments_page(tmp_path: Path) -> None:
    """Women of 25-34 buy items 0-4, men of 45-54 items 5-9; 10-14 are popular with everybody.
    Brand-new shoppers in the test: the served model gives consenting ones their segment's items
    (recall 1), everybody else the popularity page, which misses them."""
    train, test = [], []
    for u in range(40):
        seg = range(0, 5) if u % 2 == 0 else range(5, 10)
        train += [(f"u{u}", f"i{i}", 1) for i in seg if (i + u) % 3]
        train += [(f"u{u}", f"i{i}", 1) for i in range(10, 15) if (i + u) % 5 < 2]
    profiles = ["user,age_band,gender"] + [
        f"u{u},{'25-34,F' if u % 2 == 0 else '45-54,M'}" for u in range(40)
    ]
    for n in range(6):  # new shoppers: n0..n3 consented, n4 and n5 did not
        seg = range(0, 5) if n % 2 == 0 else range(5, 10)
        test += [(f"n{n}", f"i{i}", 2) for i in seg]
        if n < 4:
            profiles.append(f"n{n},{'25-34,F' if n % 2 == 0 else '45-54,M'}")
    _write(tmp_path / "train.csv", train)
    _write(tmp_path / "test.csv", test)
    (tmp_path / "users.csv").write_text("\n".join(profiles) + "\n", encoding="utf-8")
    out = tmp_path / "report.json"
    args = [
        "evaluate",
        "--train",
        str(tmp_path / "train.csv"),
        "--test",
        str(tmp_path / "test.csv"),
    ]
    assert (
        main([*args, "--users", str(tmp_path / "users.csv"), "--k", "5", "--json", str(out)]) == 0
    )
    by = {m["model"]: m for m in json.loads(out.read_text())["models"]}
    assert by["popularity"]["cold_start"]["new_shoppers_recall"] == 0.0
    # 4 of the 6 new shoppers consented and get all five of their segment's items.
    assert by["hybrid"]["cold_start"]["new_shoppers_recall"] == pytest.approx(4 / 6)
    # A profile file without the header is refused with the reason.
    (tmp_path / "bad.csv").write_text("n0,25-34,F\n", encoding="utf-8")
    assert main([*args, "--users", str(tmp_path / "bad.csv")]) != 0
