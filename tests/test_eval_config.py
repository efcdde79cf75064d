"""`sllm eval --config FILE` (issue #14): the file and the typed flags fill one EvalConfig, and every
config error is one line `[FILE: ]NAME: message, got VALUE` (sllm.config_errors).

No model runs: `run_evaluation` is replaced by a stand-in that keeps the config it was given.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest


def _sllm(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run `sllm ARGS` in this process; the exit code and stderr."""
    from sllm.cli.app import main

    monkeypatch.setattr(sys, "argv", ["sllm", *args])
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code, capsys.readouterr().err.strip()


@pytest.fixture
def configs(monkeypatch: pytest.MonkeyPatch) -> list:
    """The EvalConfig of each `sllm eval` run, which stops there."""
    import sllm.evaluation.run

    seen: list = []

    def keep(config, progress=True):  # noqa: ANN001, ANN202
        seen.append(config)
        summary = {"model": config.model, "results": {}, "samples": "", "run_id": None, "cache": {}}
        return summary, Path("records")

    monkeypatch.setattr(sllm.evaluation.run, "run_evaluation", keep)
    return seen


def test_the_file_fills_the_config_and_only_typed_flags_override_it(monkeypatch, capsys, configs, tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text("tasks: hellaswag,kobest_boolq\nlimit: 3\ntrack: false\nmc_mode: generate\n")
    code, _ = _sllm(monkeypatch, capsys, "eval", "--config", str(path), "--limit", "2", "--json")
    assert code == 0
    config = configs[-1]
    assert config.tasks == ["hellaswag", "kobest_boolq"]
    assert config.limit == 2  # typed: wins over the file's 3
    assert config.track is False  # from the file: --no-track's default does not override it
    assert config.mc_mode == "generate"  # from the file: --mc-mode's default does not override it
    assert (config.model, config.output, config.use_cache) == ("default", "sllm-results", True)
    path.write_text("tasks: [hellaswag]\ntrack: true\n")
    _sllm(monkeypatch, capsys, "eval", "--config", str(path), "--no-track", "--tasks", "xsum")
    assert (configs[-1].tasks, configs[-1].track) == (["xsum"], False)


def test_an_unknown_key_in_the_file_names_the_file_and_the_key(monkeypatch, capsys, configs, tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text("taks: [hellaswag]\n")
    code, error = _sllm(monkeypatch, capsys, "eval", "--config", str(path))
    assert (code, error) == (1, f"error: {path}: unknown setting 'taks'; did you mean tasks, track?")
    assert configs == []


def test_a_bad_value_names_the_file_and_field_or_the_flag_that_gave_it(
    monkeypatch, capsys, configs, tmp_path
):
    path = tmp_path / "eval.yaml"
    path.write_text("tasks: [hellaswag]\nnum_fewshot: -1\nlimit: -3\n")
    code, error = _sllm(monkeypatch, capsys, "eval", "--config", str(path), "--limit", "2")
    message = "Input should be greater than or equal to 0"
    assert (code, error) == (1, f"error: {path}: field 'num_fewshot': {message}, got -1")
    code, error = _sllm(
        monkeypatch, capsys, "eval", "--config", str(path), "--num-fewshot", "-2", "--limit", "2"
    )
    assert (code, error) == (2, f"error: --num-fewshot: {message}, got -2")
    code, error = _sllm(monkeypatch, capsys, "eval", "--config", str(path), "--num-fewshot", "0")
    assert code == 1 and error.startswith(f"error: {path}: field 'limit': expected a number of documents")
    assert configs == []


def test_without_a_file_tasks_are_required(monkeypatch, capsys, configs):
    code, error = _sllm(monkeypatch, capsys, "eval")
    assert (code, error) == (2, "error: Missing option '--tasks' / '-t' (see 'sllm eval --help')")


def test_one_line_for_every_config_error() -> None:
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    from sllm.config_errors import validation_message

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str
        rank: int = Field(8, ge=1)

    def first(**values: object) -> ValidationError:
        with pytest.raises(ValidationError) as caught:
            Settings(**values)
        return caught.value

    bad = first(name="x", rank="many")
    assert (
        validation_message(bad)
        == "field 'rank': Input should be a valid integer, unable to parse string as an integer, got 'many'"
    )
    assert validation_message(first(name="x", rank=0), source="a.yaml") == (
        "a.yaml: field 'rank': Input should be greater than or equal to 1, got 0"
    )
    assert validation_message(first(rank=2)) == "field 'name': missing required field"
    assert validation_message(first(name="x", colour=3)) == "field 'colour': Extra inputs are not permitted"
    long_name = first(name="x", rank="y" * 100)
    assert validation_message(long_name, label=lambda f: f"--{f}").endswith(", got '" + "y" * 58 + "…")


def test_the_library_configs_share_the_format(tmp_path: Path) -> None:
    from sllm.errors import SllmError, UsageError
    from sllm.generation.config import make_config
    from sllm.train.config import SFTRunConfig, load_config

    with pytest.raises(UsageError) as caught:
        make_config(top_p=1.5)
    assert (
        str(caught.value)
        == "invalid generation setting top_p: Input should be less than or equal to 1, got 1.5"
    )
    path = tmp_path / "sft.yaml"
    path.write_text("data: train.jsonl\nlora:\n  r: abc\n")
    with pytest.raises(SllmError) as caught:
        load_config(SFTRunConfig, path, {})
    not_int = "Input should be a valid integer, unable to parse string as an integer"
    assert str(caught.value) == f"{path}: field 'lora.r': {not_int}, got 'abc'"
