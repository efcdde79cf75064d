"""Leaderboards from pairwise battles: Bradley-Terry by maximum likelihood, online Elo, win rates."""

from sllm.ratings.battles import Battle, load_battles
from sllm.ratings.bradley_terry import bootstrap_ratings, fit_bradley_terry
from sllm.ratings.elo import online_elo

__all__ = ["Battle", "bootstrap_ratings", "fit_bradley_terry", "load_battles", "online_elo"]
