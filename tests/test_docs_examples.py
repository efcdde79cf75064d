"""Every command example in README.md and docs/*.md runs exactly as written (issue #15).

The examples are read from the Markdown (tests/docs_examples.py). Each document's examples run
in order, in one copy of docs/examples (the small files they name), with the installed venv
first on PATH, no network (HF_HUB_OFFLINE), a cache and run store of their own, and
SLLM_SMOKE=1 so that every run is shrunk to seconds (src/sllm/smoke.py). Model folders the docs
name (`hf:./out`, `hf:./out/merged`, `hf:./my-finetune`, `hf:./judge`) stand for the reader's
own models: here they are links to the default model's converted folder. `openai:...@
http://127.0.0.1:11434/v1` (Ollama's port) is answered by the scripted server of
tests/openai_test_server.py (completions echo the prompt; chat replies are CHAT_REPLY). Running
one example alone first runs the examples before it in the same document: they make its inputs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from docs_examples import ROOT, Example, all_examples, read_doc

EXAMPLES, ANNOTATIONS = all_examples()
WORKSPACE_FILES = ROOT / "docs" / "examples"
SHARED = ROOT.parent / "shared"
OLLAMA = "127.0.0.1:11434"
TIMEOUT_S = 600
# What the stand-in for Ollama says to every chat request: a score AlpaGasus keeps (its first
# line) and a pairwise verdict (its last words), so that docs/data.md's selfinstruct -> alpagasus
# -> dedup ... and docs/judging.md's compare -> rate carry rows.
CHAT_REPLY = "5\nBoth answers are on topic; assistant B is clearer. [[B]]"


@dataclass
class Outcome:
    """How one example ended."""

    returncode: int
    output: str
    seconds: float


@dataclass
class Workspace:
    """One document's working folder (a copy of docs/examples) and what its examples did."""

    folder: Path
    env: dict[str, str]
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def run(self, examples: list[Example]) -> Outcome:
        """Run examples together as one bash script (`&` lines alongside the last); each one's outcome."""
        lines = []
        for example in examples[:-1]:  # background jobs: collect their exit codes at the end
            lines += [example.script(), "__jobs+=($!)"]
        lines += [
            examples[-1].script(),
            "__rc=$?",
            'for __job in "${__jobs[@]}"; do wait "$__job" || __rc=$?; done',
            "exit $__rc",
        ]
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", "\n".join(lines)],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        outcome = Outcome(done.returncode, done.stdout + done.stderr, time.monotonic() - started)
        for example in examples:
            self.outcomes[example.id] = outcome
        return outcome


def _model_folders(folder: Path) -> None:
    """The reader's model folders of the docs, as links to the default model's converted folder."""
    from sllm.models.default_model import default_model_path

    model = default_model_path()
    for name in ("my-finetune", "judge"):
        (folder / name).symlink_to(model, target_is_directory=True)
    out = folder / "out"  # a training output folder holding its merged export
    out.mkdir()
    for item in model.iterdir():
        (out / item.name).symlink_to(item)
    (out / "merged").symlink_to(model, target_is_directory=True)


def _workspace(base: Path, doc: str) -> Workspace:
    """A fresh copy of docs/examples for one document, with its model folders and environment."""
    folder = base / doc.replace("/", "-").removesuffix(".md")
    shutil.copytree(WORKSPACE_FILES, folder)
    _model_folders(folder)
    venv_bin = Path(sys.executable).parent
    (folder / ".venv").symlink_to(venv_bin.parent, target_is_directory=True)  # `.venv/bin/sllm` as written
    state = base / f"{folder.name}.state"
    state.mkdir()
    unset = ("SLLM_TRACKING_URI", "MLFLOW_TRACKING_URI", "SLLM_DATA_DIR")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env |= {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "SLLM_SMOKE": "1",
        "SLLM_CACHE": str(state / "cache.sqlite"),
        "SLLM_RUNS_DIR": str(state / "sllm-runs"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "COLUMNS": "120",
    }
    return Workspace(folder, env)


@pytest.fixture(scope="session")
def docs_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding every document's workspace; its `shared` is the project's data, if any."""
    base = tmp_path_factory.mktemp("docs-examples")
    if (SHARED / "data").is_dir():  # `--data-dir ../shared/data` as written; else the bundled samples
        (base / "shared").symlink_to(SHARED, target_is_directory=True)
    return base


@pytest.fixture(scope="session")
def workspaces() -> dict[str, Workspace]:
    """One workspace per document, made on first use."""
    return {}


@pytest.fixture(scope="session")
def ollama():
    """The scripted OpenAI-compatible server on Ollama's port, or None when the port is taken."""
    from openai_test_server import ScriptedOpenAIServer

    try:
        server = ScriptedOpenAIServer(port=11434)
    except OSError:
        yield None
        return
    server.chat_reply = CHAT_REPLY
    yield server
    server.stop()


def _needs(example: Example, ollama) -> str | None:  # noqa: ANN001
    """Why this example cannot run on this machine, if it cannot."""
    if example.skipped_by is not None:
        return example.skipped_by.reason
    if OLLAMA in example.command and ollama is None:
        return f"port {OLLAMA.split(':')[1]} is in use here (Ollama?); the scripted server needs it"
    if re.search(r"\.\./shared/data/\S", example.command) and not (SHARED / "data").is_dir():
        return "reads ../shared/data, the project's data slices, which this checkout lacks"
    return None


def _groups(examples: list[Example]) -> list[list[Example]]:
    """The examples as they run: a background (`&`) example together with the ones after it."""
    groups, current = [], []
    for example in examples:
        current.append(example)
        if not example.background:
            groups.append(current)
            current = []
    return groups + ([current] if current else [])


def _outcome(example: Example, spaces: dict[str, Workspace], base: Path, ollama) -> Outcome:  # noqa: ANN001
    """Run the example, after the examples before it in its document that have not run yet."""
    space = spaces.get(example.file) or spaces.setdefault(example.file, _workspace(base, example.file))
    for group in _groups([e for e in EXAMPLES if e.file == example.file and e.line <= example.line]):
        if group[-1].id not in space.outcomes and all(_needs(e, ollama) is None for e in group):
            space.run(group)
    return space.outcomes[example.id]


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_doc_example_runs(example: Example, workspaces, docs_base, ollama) -> None:  # noqa: ANN001
    """The example, run as written, ends as the docs say: exit code 0, or the error it names."""
    reason = _needs(example, ollama)
    if reason is not None:
        pytest.skip(reason)
    outcome = _outcome(example, workspaces, docs_base, ollama)
    shown = f"{example.id}: {example.command}\nexit code {outcome.returncode}\n{outcome.output[-3000:]}"
    if example.expect_error is None:
        assert outcome.returncode == 0, shown
    else:
        assert outcome.returncode in (1, 2), shown
        assert example.expect_error in outcome.output, shown
        assert "Traceback" not in outcome.output, shown


def test_every_skip_annotation_applies() -> None:
    """Each `<!-- docs-test: skip ... -->` parses and skips at least one example, so the skipped
    examples are exactly the annotated ones."""
    written = [
        (path.relative_to(ROOT).as_posix(), number)
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "docs-test:" in line
    ]
    assert sorted((a.file, a.line) for a in ANNOTATIONS) == sorted(written)
    for mark in ANNOTATIONS:
        assert any(e.skipped_by == mark for e in EXAMPLES), f"{mark.file}:{mark.line} skips no example"


def test_examples_are_read_from_markdown(tmp_path: Path) -> None:
    """Commands running sllm are found in bash blocks, continuation lines joined; annotations skip
    their block or the matching lines; `# error:` marks an expected failure."""
    doc = tmp_path / "guide.md"
    doc.write_text(
        "Intro `sllm eval` in prose is no example.\n\n"
        "```bash\n"
        "./install.sh && .venv/bin/sllm eval --tasks hellaswag   # set up + run\n"
        "source .venv/bin/activate\n"
        "sllm correlate a.json --field x \\\n"
        "    --level group\n"
        "python -c 'print(1)' | sllm generate --raw -   # error: the prompt is empty\n"
        "sllm eval --tasks a &\n"
        "```\n\n"
        '<!-- docs-test: skip "calls api.openai.com" matching "api.openai.com" -->\n'
        "```bash\n"
        "sllm judge single -j openai:gpt-4o@https://api.openai.com/v1 -i a.jsonl -o b.jsonl\n"
        "sllm judge single -j default -i a.jsonl -o b.jsonl\n"
        "```\n\n"
        '<!-- docs-test: skip "needs a GPU" -->\n'
        "```bash\n"
        "accelerate launch --config_file ddp.yaml -m sllm train sft --config sft.yaml\n"
        "```\n\n"
        "```python\nsllm = 1\n```\n",
        encoding="utf-8",
    )
    examples, annotations = read_doc(doc, tmp_path)
    assert [(e.line, e.script()) for e in examples] == [
        (4, ".venv/bin/sllm eval --tasks hellaswag   # set up + run"),
        (6, "sllm correlate a.json --field x --level group"),
        (8, "python -c 'print(1)' | sllm generate --raw -   # error: the prompt is empty"),
        (9, "sllm eval --tasks a &"),
        (14, "sllm judge single -j openai:gpt-4o@https://api.openai.com/v1 -i a.jsonl -o b.jsonl"),
        (15, "sllm judge single -j default -i a.jsonl -o b.jsonl"),
        (20, "accelerate launch --config_file ddp.yaml -m sllm train sft --config sft.yaml"),
    ]
    assert [e.skipped_by.reason if e.skipped_by else None for e in examples] == [
        None, None, None, None, "calls api.openai.com", None, "needs a GPU",
    ]  # fmt: skip
    assert [e.expect_error for e in examples] == [None, None, "the prompt is empty", None, None, None, None]
    assert [e.background for e in examples] == [False, False, False, True, False, False, False]
    assert [(a.line, a.matching) for a in annotations] == [(12, "api.openai.com"), (18, None)]
