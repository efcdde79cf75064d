"""Token tries: which requests share a row, what each token may attend to, where it sits."""

import torch

from sllm.models.tree_scoring import Costs, build_rows, plan_batches

# SmolLM2-135M's costs: ~106M linear parameters, 9 heads x 64 dims x 30 layers of attention
SMOLLM2 = Costs(linear=2.0 * 106e6, attention=2.0 * 4.0 * 576 * 30)


def test_identical_contexts_form_one_trie_and_loners_stay_plain():
    pairs = [([1, 2, 3], [4, 5]), ([1, 2, 3], [6]), ([9, 9], [7])]
    rows, alone = build_rows(pairs, SMOLLM2)
    assert alone == [2]
    (row,) = rows
    # the context once, then the first continuation minus its last token; a 1-token one adds none
    assert row.tokens == [1, 2, 3, 4]
    assert row.positions == [0, 1, 2, 3]
    assert sorted(row.predictions) == [(0, [2, 3]), (1, [2])]


def test_trie_mask_lets_a_branch_see_only_its_ancestors():
    pairs = [([1, 2], [3, 4, 5]), ([1, 2], [6, 7, 8])]
    (row,), _ = build_rows(pairs, SMOLLM2)
    assert row.tokens == [1, 2, 3, 4, 6, 7]
    assert row.positions == [0, 1, 2, 3, 2, 3]  # the second branch restarts after the context
    expected = torch.tensor(
        [
            [1, 0, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0, 0],
            [1, 1, 1, 0, 0, 0, 0],
            [1, 1, 1, 1, 0, 0, 0],
            [1, 1, 0, 0, 1, 0, 0],
            [1, 1, 0, 0, 1, 1, 0],
            [1, 0, 0, 0, 0, 0, 0],  # padding sees the first token only (no NaN from an empty row)
        ],
        dtype=torch.bool,
    )
    assert torch.equal(row.mask(7), expected)


def test_continuations_that_start_alike_share_their_first_tokens():
    pairs = [([1], [5, 6, 7]), ([1], [5, 6, 8]), ([1], [5, 9])]
    (row,), _ = build_rows(pairs, SMOLLM2)
    assert row.tokens == [1, 5, 6]  # " 5 6" computed once, the 1-token tails need no input
    assert sorted(row.predictions) == [(0, [0, 1, 2]), (1, [0, 1, 2]), (2, [0, 1])]


def test_a_long_few_shot_block_is_computed_once_for_many_questions():
    shots = list(range(100, 600))  # a 500-token few-shot block
    pairs = [(shots + [i, i + 1, 7], [8]) for i in range(10)]
    (row,), alone = build_rows(pairs, SMOLLM2)
    assert alone == [] and len(row.tokens) == 500 + 10 * 3
    question = 500 + 3 * 4  # the fifth question's first token
    mask = row.mask(len(row.tokens))
    assert row.positions[question] == 500
    assert mask[question + 2, :500].all() and mask[question + 2, question : question + 3].all()
    assert mask[question + 2].sum() == 503  # the block and its own three tokens, nothing else


def test_a_short_shared_preamble_is_not_worth_a_wide_row():
    preamble = list(range(100, 112))  # 12 tokens, as MMLU 0-shot's "The following are ..."
    pairs = [(preamble + list(range(1000 * i, 1000 * i + 80)), [5]) for i in range(10)]
    rows, alone = build_rows(pairs, SMOLLM2)
    # two or three questions may share a row; never all ten
    assert all(len(r.tokens) < 3 * 92 for r in rows)
    assert sum(len(r.predictions) for r in rows) + len(alone) == 10


def test_batches_are_cut_where_padding_would_cost_more_than_another_pass():
    widths = [100, 30, 29, 28]
    pairs = [([w] * (w - 1), [1, 2]) for w in widths] + [([w] * (w - 1), [3, 4]) for w in widths]
    rows, _ = build_rows(pairs, SMOLLM2)
    assert sorted(len(r.tokens) for r in rows) == [29, 30, 31, 101]
    # filling the batch would pad three narrow rows to 101 tokens; a second pass costs less
    batches = plan_batches(rows, lambda width: 4, overhead=10)
    assert [[len(r.tokens) for r in b] for b in batches] == [[101], [31, 30, 29]]
    # with a high fixed cost per pass, one padded batch is the cheaper plan
    assert len(plan_batches(rows, lambda width: 4, overhead=500)) == 1
    assert [len(b) for b in plan_batches(rows, lambda width: 2, overhead=500)] == [2, 2]


def test_rows_stop_growing_at_the_widest_row_allowed():
    # a long shared context and many one-token labels after it would make one very wide row
    pairs = [(list(range(500)), [1000 + i, 1]) for i in range(300)]
    rows, alone = build_rows(pairs, SMOLLM2, max_row=600)
    assert alone == [] and all(len(r.tokens) <= 600 for r in rows)
    assert sorted(len(r.predictions) for r in rows) == [100, 100, 100]
