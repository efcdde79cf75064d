"""`sllm judge pairwise`: compare two answers, in both orders unless --no-swap."""

from __future__ import annotations

from functools import partial

from sllm.cli.judge import EXAMPLES, judge_and_print, judge_app, judging_parameters
from sllm.cli.options import command_function

judge_pairwise = judge_app.command("pairwise", epilog=EXAMPLES)(
    command_function(
        partial(judge_and_print, "pairwise"),
        judging_parameters(swap=True),
        """Compare two answers ("[[A]]" / "[[B]]" / "[[C]]"), in both orders unless --no-swap.""",
    )
)
