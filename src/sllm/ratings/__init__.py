"""Leaderboards from pairwise battles and annotations: Bradley-Terry by maximum likelihood (with
style control and Arena-Hard's baseline score), online Elo, win rates and length-controlled win
rates against a baseline; every reader accounts for the rows it used and dropped."""

from sllm.ratings.battles import Battle, load_battle_files, load_battles
from sllm.ratings.bradley_terry import baseline_scores, bootstrap_ratings, fit_bradley_terry
from sllm.ratings.elo import online_elo
from sllm.ratings.records import ReadReport

__all__ = [
    "Battle",
    "ReadReport",
    "baseline_scores",
    "bootstrap_ratings",
    "fit_bradley_terry",
    "load_battle_files",
    "load_battles",
    "online_elo",
]
