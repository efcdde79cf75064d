"""Model specs and the local backends: parsing, options, GGUF, PEFT adapters, vLLM guard."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from sllm.errors import SllmError, UsageError
from sllm.generation.config import make_config
from sllm.models.base import LoglikelihoodRequest
from sllm.models.spec import load_model, parse_spec


@pytest.mark.parametrize(
    "text, backend, target, options",
    [
        ("default", "default", "", {}),
        ("default,batch_size=4", "default", "", {"batch_size": "4"}),
        ("hf:org/model,dtype=float32,device=cpu", "hf", "org/model", {"dtype": "float32", "device": "cpu"}),
        (
            "openai:llama3@http://127.0.0.1:11434/v1,timeout=5",
            "openai",
            "llama3@http://127.0.0.1:11434/v1",
            {"timeout": "5"},
        ),
        ("gguf:/models/x.gguf", "gguf", "/models/x.gguf", {}),
        (
            "vllm:Qwen/Qwen2.5-0.5B,tensor_parallel_size=2",
            "vllm",
            "Qwen/Qwen2.5-0.5B",
            {"tensor_parallel_size": "2"},
        ),
    ],
)
def test_parse_spec(text, backend, target, options):
    spec = parse_spec(text)
    assert (spec.backend, spec.target, spec.options) == (backend, target, options)


def test_bare_folder_is_hf(tmp_path):
    assert parse_spec(str(tmp_path)).backend == "hf"


@pytest.mark.parametrize(
    "text, message",
    [
        ("nonsense", "valid forms"),
        ("hf:", "names no model"),
        ("default,batch_size", "not KEY=VALUE"),
        ("bogus:x@y", "valid forms"),
    ],
)
def test_bad_specs(text, message):
    with pytest.raises(UsageError, match=message):
        parse_spec(text)


def test_unknown_registry_model_is_one_clear_error():
    from sllm.errors import SllmError

    assert parse_spec("registry:x@latest").backend == "registry"
    with pytest.raises(SllmError, match="registry: no model named 'x'"):
        load_model("registry:x@latest")


def test_unknown_and_invalid_options(default_lm):
    from sllm.models.default_model import default_model_path

    folder = default_model_path()
    with pytest.raises(UsageError, match="did you mean batch_size"):
        load_model(f"hf:{folder},batchsize=2")
    with pytest.raises(UsageError, match="dtype"):
        load_model(f"hf:{folder},dtype=float8")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="CUDA is not available"):
            load_model(f"hf:{folder},device=cuda")


def test_missing_paths_are_clear_errors(tmp_path):
    with pytest.raises(SllmError, match="model folder not found"):
        load_model("hf:./does/not/exist")
    with pytest.raises(SllmError, match="GGUF file not found"):
        load_model(f"gguf:{tmp_path / 'missing.gguf'}")


def test_fingerprint_names_weights_digest_and_dtype(default_lm):
    fingerprint = default_lm.fingerprint()
    assert fingerprint.startswith("hf|") and "float32" in fingerprint and "adapter=none" in fingerprint
    assert len(fingerprint.split("|")[1]) == 16


def test_gguf_spec_through_transformers_equals_default(default_lm):
    from sllm.models.default_model import default_gguf_path

    lm = load_model(f"gguf:{default_gguf_path()},engine=hf")
    request = [LoglikelihoodRequest("The capital of France is", " Paris")]
    assert lm.fingerprint() == default_lm.fingerprint()
    assert lm.loglikelihood(request) == default_lm.loglikelihood(request)


def test_peft_adapter_is_loaded_and_changes_the_model(default_lm, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from sllm.models.default_model import default_model_path

    folder = default_model_path()
    base = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    peft_model = get_peft_model(
        base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.save_pretrained(tmp_path / "adapter")
    adapted = load_model(f"hf:{folder},adapter={tmp_path / 'adapter'}")
    request = [LoglikelihoodRequest("The capital of France is", " Paris")]
    assert adapted.loglikelihood(request)[0].logprob != pytest.approx(
        default_lm.loglikelihood(request)[0].logprob
    )
    assert "adapter=none" not in adapted.fingerprint()
    with pytest.raises(SllmError, match="adapter_config.json"):
        load_model(f"hf:{folder},adapter={tmp_path}")


def test_vllm_without_vllm_or_gpu_says_how_to_get_it():
    if importlib.util.find_spec("vllm") and torch.cuda.is_available():
        pytest.skip("vLLM and a GPU are present: the guard does not apply")
    with pytest.raises(SllmError, match="vllm backend needs vLLM"):
        load_model("vllm:some/model")


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="optional extra llamacpp not installed"
)
def test_llamacpp_engine_agrees_with_transformers(default_lm):
    from sllm.models.default_model import default_gguf_path

    lm = load_model(f"gguf:{default_gguf_path()},engine=llamacpp,n_ctx=512")
    requests = [
        LoglikelihoodRequest("The capital of France is", " Paris"),
        LoglikelihoodRequest("The capital of France is", " Berlin"),
    ]
    ours, theirs = default_lm.loglikelihood(requests), lm.loglikelihood(requests)
    # Same weights, different kernels: llama.cpp multiplies Q4_1 blocks by 8-bit-quantised activations.
    for a, b in zip(ours, theirs):
        assert b.logprob == pytest.approx(a.logprob, rel=0.03, abs=0.05)
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    assert lm.render_chat(messages) == default_lm.render_chat(messages)
    # (Chat greedy text may differ: on this prompt llama.cpp's quantised activations rank "L" a
    # hair above "The" as the first token, 24.91 vs 24.56.)
    assert "Paris" in lm.generate_text("The capital of France is", make_config(max_new_tokens=5)).text
