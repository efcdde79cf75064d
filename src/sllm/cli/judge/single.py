"""`sllm judge single`: grade each answer on the judge's scale."""

from __future__ import annotations

from functools import partial

from sllm.cli.judge import EXAMPLES, judge_and_print, judge_app, judging_parameters
from sllm.cli.options import command_function

judge_single = judge_app.command("single", epilog=EXAMPLES)(
    command_function(
        partial(judge_and_print, "single"),
        judging_parameters(swap=False),
        # \[ escapes rich markup: "\[\[rating]]" shows as "[[rating]]"
        r"""Grade each answer on the judge's scale (MT-Bench: 1-10, "\[\[rating]]").""",
    )
)
