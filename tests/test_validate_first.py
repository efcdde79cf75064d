"""Every check runs before the model loads: a typo costs a second, not the model's load or its calls.

Each test runs a command in-process through the real entry point (`sllm.cli.app.main`) with every
model loader replaced by one that fails the test, so an error reported after a model load shows
up as "model loaded" instead of the expected one-line error. No model is needed: these are fast.
"""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SFT_DATA = FIXTURES / "sft" / "seed_alpaca.jsonl"


def _loaded(*args: object, **kwargs: object) -> None:
    raise AssertionError("model loaded")


@pytest.fixture(autouse=True)
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every way a command loads a model (backends, sentence encoders, trainers) fails the test."""
    import sllm.embeddings
    import sllm.models.spec
    import sllm.train.preference_training
    import sllm.train.sft

    monkeypatch.setattr(sllm.models.spec, "load_model", _loaded)
    monkeypatch.setattr(sllm.embeddings, "load_encoder", _loaded)
    monkeypatch.setattr(sllm.train.sft, "load_model_and_tokenizer", _loaded)
    monkeypatch.setattr(sllm.train.preference_training, "load_model_and_tokenizer", _loaded)


def invoke(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """Run `sllm ARGS` in this process; return the exit code and stderr."""
    from sllm.cli.app import main

    monkeypatch.setattr(sys, "argv", ["sllm", *args])
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code, capsys.readouterr().err


def error_of(stderr: str) -> str:
    """The one error line (and assert there is exactly one)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0].removeprefix("error: ")


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    """`run(*args)` -> (exit code, the one error line)."""

    def call(*args: str) -> tuple[int, str]:
        code, stderr = invoke(monkeypatch, capsys, *args)
        return code, error_of(stderr)

    return call


# -- sllm eval ----------------------------------------------------------------------------------


def _task(folder: Path, **changes: object) -> Path:
    """A copy of the capitals fixture task with some YAML fields changed."""
    import yaml

    shutil.copytree(FIXTURES / "tasks" / "capitals_data", folder / "capitals_data")
    spec = yaml.safe_load((FIXTURES / "tasks" / "capitals.yaml").read_text())
    spec.update(changes)
    path = folder / "capitals.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_eval_missing_data_file_is_reported_before_the_model(run, tmp_path):
    _task(tmp_path, dataset={"folder": "./capitals_data", "test": "missing.jsonl", "format": "jsonl"})
    code, error = run("eval", "--tasks", "capitals", "--include-path", str(tmp_path), "--no-track")
    assert (code, error) == (1, f"data file not found: {tmp_path / 'capitals_data' / 'missing.jsonl'}")


def test_eval_unknown_metric_in_a_task_yaml_names_the_file_and_field(run, tmp_path):
    path = _task(tmp_path, metrics=["acc", "acc_nrom"])
    code, error = run("eval", "--tasks", "capitals", "--include-path", str(tmp_path), "--no-track")
    assert code == 1
    assert error == (
        f"{path}: task capitals: field 'metrics': unknown multiple-choice metric 'acc_nrom'; "
        "did you mean acc_norm, acc, f1_macro?"
    )


def test_eval_unknown_metric_of_a_generation_task(run, tmp_path):
    path = _task(
        tmp_path,
        output_type="generate_until",
        doc_to_target="answer",
        doc_to_choice=None,
        metrics=["exact_mach"],
    )
    code, error = run("eval", "--tasks", "capitals", "--include-path", str(tmp_path), "--no-track")
    assert (code, error) == (
        1,
        f"{path}: task capitals: field 'metrics': unknown metric 'exact_mach'; did you mean exact_match?",
    )


def test_eval_unknown_answer_filter_names_the_filter(run, tmp_path):
    path = _task(
        tmp_path,
        output_type="generate_until",
        doc_to_target="answer",
        doc_to_choice=None,
        metrics=["exact_match"],
        filters=[{"name": "strict", "steps": [{"function": "regexx", "pattern": "x"}]}],
    )
    code, error = run("eval", "--tasks", "capitals", "--include-path", str(tmp_path), "--no-track")
    assert code == 1
    assert error == (
        f"{path}: task capitals: field 'filters': filter strict: unknown filter 'regexx'; did you mean regex?"
    )


def test_eval_fewshot_typo_names_the_flag(run):
    code, error = run("eval", "--tasks", "hellaswag", "--fewshot", "retreived", "--no-track")
    assert (code, error) == (
        2,
        "--fewshot: Input should be 'first_n', 'fixed', 'random' or 'retrieved', got 'retreived'",
    )


def test_eval_output_under_a_file_is_reported_before_the_model(run, tmp_path):
    (tmp_path / "taken").write_text("a file")
    out = tmp_path / "taken" / "results"
    code, error = run("eval", "--tasks", "hellaswag", "-o", str(out), "--no-track")
    assert (code, error) == (2, f"--output: cannot create {out}: {tmp_path / 'taken'} is a file")


def test_eval_bad_model_spec_is_reported_before_any_data(run):
    code, error = run("eval", "--tasks", "hellaswag", "--model", "gguf:/nowhere/m.gguf", "--no-track")
    assert (code, error) == (1, "--model: GGUF file not found: /nowhere/m.gguf")


@pytest.mark.parametrize(
    ("limit", "shown"), [("1.5", "1.5"), ("0", "0"), ("-3", "-3"), ("abc", "'abc'"), ("nan", "nan")]
)
def test_eval_limit_that_is_neither_a_count_nor_a_fraction(run, limit, shown):
    code, error = run("eval", "--tasks", "hellaswag", "--limit", limit, "--no-track")
    assert code == 2
    assert error == (
        "--limit: expected a number of documents (1, 2, ...) or a fraction of each task (0.1 = 10%), "
        f"got {shown}"
    )


def test_eval_fractional_limit_passes_every_check_and_reaches_the_model(monkeypatch, capsys):
    # Everything is checked and built; the next step is loading the model (here: the test's trap).
    with pytest.raises(AssertionError, match="model loaded"):
        invoke(monkeypatch, capsys, "eval", "--tasks", "gsm8k", "--limit", "0.5", "--no-track")


# -- Typer's own usage errors -------------------------------------------------------------------


def test_typer_bad_parameter_is_one_line_like_every_other_error(run):
    code, error = run("judge", "single", "-i", "x.jsonl", "-o", "y.jsonl", "--retries", "-1")
    assert (code, error) == (
        2,
        "Invalid value for '--retries': Input should be greater than or equal to 0 "
        "(see 'sllm judge single --help')",
    )


def test_typer_unknown_option_and_missing_option_are_one_line(run):
    assert run("eval", "--tasks", "hellaswag", "--bogus") == (
        2,
        "No such option: --bogus (see 'sllm eval --help')",
    )
    assert run("eval") == (2, "Missing option '--tasks' / '-t' (see 'sllm eval --help')")


# -- sllm judge single / pairwise / compare / geval / rag / mtbench ------------------------------


def _items(path: Path, mode: str) -> Path:
    if mode == "single":
        row = {"question_id": 1, "question": "What is 2+2?", "model": "m", "answer": "4"}
    else:
        row = {"question_id": 1, "question": "What is 2+2?", "model_a": "a", "model_b": "b",
               "answer_a": "4", "answer_b": "5"}  # fmt: skip
    path.write_text(json.dumps(row) + "\n")
    return path


def test_judge_unknown_config_is_reported_before_the_judge_loads(run, tmp_path):
    items = _items(tmp_path / "items.jsonl", "single")
    code, error = run(
        "judge", "single", "-i", str(items), "-o", str(tmp_path / "o.jsonl"), "--config", "mt_bench_singel_v1"
    )
    assert code == 2
    assert error == (
        "--config: unknown judge 'mt_bench_singel_v1'; "
        "did you mean mt_bench_single_v1, mt_bench_ko_single_v1, mt_bench_single_math_v1?"
    )


def test_judge_config_of_the_other_mode(run, tmp_path):
    items = _items(tmp_path / "items.jsonl", "pairwise")
    code, error = run(
        "judge",
        "pairwise",
        "-i",
        str(items),
        "-o",
        str(tmp_path / "o.jsonl"),
        "--config",
        "mt_bench_single_v1",
    )
    assert (code, error) == (
        2,
        "--config: judge config mt_bench_single_v1 is for single judging, not pairwise",
    )


def test_judge_bad_price_table_is_read_before_the_judge_loads(run, tmp_path):
    items = _items(tmp_path / "items.jsonl", "single")
    table = tmp_path / "prices.yaml"
    table.write_text("gpt-4o: {input: 2.5}\n")
    code, error = run(
        "judge", "single", "-i", str(items), "-o", str(tmp_path / "o.jsonl"), "--price-table", str(table)
    )
    assert (code, error) == (1, f"{table}: model 'gpt-4o' needs 'input' and 'output' prices")


def test_judge_output_that_is_a_folder(run, tmp_path):
    items = _items(tmp_path / "items.jsonl", "single")
    code, error = run("judge", "single", "-i", str(items), "-o", str(tmp_path))
    assert (code, error) == (2, f"--output: {tmp_path} is a folder; give a file name")


def test_judge_compare_unknown_config(run, tmp_path):
    for name, answer in (("a", "4"), ("b", "5")):
        row = {"question_id": 1, "question": "What is 2+2?", "model": name, "answer": answer}
        (tmp_path / f"{name}.jsonl").write_text(json.dumps(row) + "\n")
    code, error = run(
        "judge", "compare", "-a", str(tmp_path / "a.jsonl"), "-a", str(tmp_path / "b.jsonl"),
        "--baseline", "a", "--config", "arena_hard_v9", "-o", str(tmp_path / "j.jsonl"),
    )  # fmt: skip
    assert code == 2
    assert error == "--config: unknown judge 'arena_hard_v9'; did you mean arena_hard_v0_1, arena_hard_ko?"


def test_geval_bad_mode_and_unknown_criterion(run, tmp_path):
    items = tmp_path / "s.jsonl"
    items.write_text(json.dumps({"source": "A long text.", "output": "A summary."}) + "\n")
    out = str(tmp_path / "g.jsonl")
    assert run("judge", "geval", "-i", str(items), "-o", out, "--mode", "probabilty") == (
        2,
        "--mode: expected auto, probability or sampling, got 'probabilty'",
    )
    code, error = run("judge", "geval", "-i", str(items), "-o", out, "--criteria", "summeval_coherense")
    assert (code, error) == (
        2,
        "unknown criterion 'summeval_coherense'; "
        "did you mean summeval_coherence, summeval_ko_coherence, summeval_consistency?",
    )


def test_rag_unknown_metric_and_missing_encoder(run, tmp_path):
    items = tmp_path / "rag.jsonl"
    items.write_text(
        json.dumps({"question": "q?", "answer": "a.", "contexts": ["c."], "reference": "a."}) + "\n"
    )
    out = str(tmp_path / "r.jsonl")
    code, error = run("judge", "rag", "-i", str(items), "-o", out, "--metrics", "faithfulnes")
    assert code == 2 and error == "unknown RAG metric 'faithfulnes'; did you mean faithfulness?"
    code, error = run("judge", "rag", "-i", str(items), "-o", out, "--encoder", str(tmp_path / "no-encoder"))
    assert (code, error) == (1, f"--encoder: folder not found: {tmp_path / 'no-encoder'}")


def test_mtbench_bad_candidate_spec_and_output(run, tmp_path):
    code, error = run("judge", "mtbench", "-m", "tuned=hf:./no-such-model", "-o", str(tmp_path / "mtb"))
    assert (code, error) == (1, "--model tuned: model folder not found: ./no-such-model")
    (tmp_path / "file").write_text("x")
    code, error = run("judge", "mtbench", "-m", "default", "-o", str(tmp_path / "file"))
    assert (code, error) == (2, f"--output: {tmp_path / 'file'} is a file, not a folder")


# -- sllm data selfinstruct / filter ------------------------------------------------------------


def test_selfinstruct_missing_seeds_and_bad_decoding(run, tmp_path):
    out = str(tmp_path / "si.jsonl")
    code, error = run(
        "data", "selfinstruct", "--seeds", str(tmp_path / "seeds.jsonl"), "-o", out, "--no-track"
    )
    assert (code, error) == (1, f"file not found: {tmp_path / 'seeds.jsonl'}")
    code, error = run("data", "selfinstruct", "--top-p", "1.5", "-o", out, "--no-track")
    assert code == 2
    assert error == "invalid generation setting top_p: Input should be less than or equal to 1, got 1.5"


def test_selfinstruct_work_dir_of_other_settings(run, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "state.json").write_text(json.dumps({"identity": "other", "batches_done": 1}))
    code, error = run(
        "data", "selfinstruct", "-o", str(tmp_path / "si.jsonl"), "--work-dir", str(work), "--no-track"
    )
    assert (code, error) == (
        1,
        f"{work} holds a Self-Instruct run with other settings; use another --work-dir or delete it",
    )


def test_alpagasus_threshold_and_outputs_before_the_judge(run, tmp_path):
    out = str(tmp_path / "kept.jsonl")
    code, error = run("data", "filter", "alpagasus", str(SFT_DATA), "-o", out, "--threshold", "45")
    assert (code, error) == (2, "--threshold: the judge scores 0 to 5, got 45")
    code, error = run("data", "filter", "alpagasus", str(SFT_DATA), "-o", out, "--dimensions", "acuracy")
    assert code == 2 and error == "unknown AlpaGasus dimension 'acuracy'; did you mean accuracy?"
    code, error = run("data", "filter", "alpagasus", str(SFT_DATA), "-o", out, "--scores", str(tmp_path))
    assert (code, error) == (2, f"--scores: {tmp_path} is a folder; give a file name")


def test_safety_judge_threshold_before_the_judge(run, tmp_path):
    out = str(tmp_path / "safe.jsonl")
    code, error = run(
        "data", "filter", "safety", str(SFT_DATA), "-o", out, "--judge", "default", "--harm-threshold", "9"
    )
    assert (code, error) == (2, "--harm-threshold: the judge rates harm 1 to 5, got 9")


# -- sllm train ----------------------------------------------------------------------------------


def test_train_unknown_eval_suite_task_fails_before_training(run, tmp_path):
    code, error = run(
        "train",
        "sft",
        "--data",
        str(SFT_DATA),
        "--eval-suite",
        "hellaswag,arc_eazy",
        "-o",
        str(tmp_path),
        "--no-track",
    )
    assert code == 2
    assert error == "field 'eval_suite': unknown task 'arc_eazy'; did you mean arc_easy?"


def test_train_unknown_template_and_register_without_tracking(run, tmp_path):
    args = ("train", "sft", "--data", str(SFT_DATA), "-o", str(tmp_path))
    code, error = run(*args, "template=chatlm", "--no-track")
    assert (code, error) == (2, "field 'template': unknown chat template 'chatlm'; did you mean chatml?")
    code, error = run(*args, "--register", "ko-chat", "--no-track")
    assert (code, error) == (2, "--register needs tracking (the registry records the run): drop --no-track")


def test_train_missing_model_folder_and_remote_teacher(run, tmp_path):
    code, error = run("train", "dpo", "--data", str(SFT_DATA), "--model", "hf:./no-model", "--no-track")
    assert (code, error) == (1, "field 'model': model folder not found: ./no-model")
    code, error = run(
        "train",
        "distill",
        "--data",
        str(SFT_DATA),
        "--teacher",
        "openai:qwen@http://127.0.0.1:9/v1",
        "--no-track",
    )
    assert code == 1
    assert error == (
        "field 'teacher': cannot train 'openai:qwen@http://127.0.0.1:9/v1': training needs a local model "
        "(default, hf:PATH)"
    )


def test_train_missing_data_file_before_the_model(run, tmp_path):
    code, error = run(
        "train", "reward", "--data", str(tmp_path / "pairs.jsonl"), "-o", str(tmp_path), "--no-track"
    )
    assert (code, error) == (1, f"preference file not found: {tmp_path / 'pairs.jsonl'}")


# -- sllm generate / chat (their options are checked before the model too) -----------------------


def test_generate_and_chat_options_before_the_model(run):
    code, error = run("generate", "--preset", "greedyy", "Hi")
    assert (code, error) == (2, "unknown decoding preset 'greedyy'; did you mean greedy?")
    code, error = run("chat", "--truncate", "middle")
    assert (code, error) == (2, "--truncate: expected left or right, got 'middle'")
