"""Recommender models, all following `recommender.base.RecommenderModel`."""

from __future__ import annotations

from recommender.base import RecommenderModel
from recommender.models.als import ALS
from recommender.models.content_model import ContentModel
from recommender.models.ease import EASE, EDLAE
from recommender.models.hybrid import Hybrid
from recommender.models.item_knn import ItemKNN
from recommender.models.popularity import Popularity
from recommender.models.user_cf import UserPearsonCF

MODEL_CLASSES: dict[str, type[RecommenderModel]] = {
    cls.name: cls
    for cls in (Popularity, ItemKNN, UserPearsonCF, EASE, EDLAE, ALS, Hybrid, ContentModel)
}

__all__ = [
    "ALS",
    "ContentModel",
    "EASE",
    "EDLAE",
    "Hybrid",
    "ItemKNN",
    "MODEL_CLASSES",
    "Popularity",
    "UserPearsonCF",
]
