"""adaLogitsProcessor (adagrpo_ext.think_logits) driven through vLLM's own logits-processor
interface: batch updates as vLLM's engine sends them, on a real vLLM SamplingParams."""

import torch
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import BatchUpdate, MoveDirectionality

from adagrpo_ext.think_logits import ThinkAwareTemperature, marker_seen

END = [7, 8]  # the marker's token ids


def _processor():
    proc = ThinkAwareTemperature(None, torch.device("cpu"), False)
    proc._marker_cache["</think>"] = END
    return proc


def _params(**extra):
    return SamplingParams(temperature=1.0, extra_args={"think_scale": 2.0, "answer_scale": 0.5, **extra})


def test_marker_seen_across_steps():
    assert marker_seen([1, 7, 8], END, 2) and marker_seen([1, 7, 8, 3], END, 2)
    assert not marker_seen([1, 7, 8, 3], END, 3)  # checked at the step before
    assert not marker_seen([7, 1, 8], END, 0)


def test_scales_switch_when_thinking_ends():
    proc = _processor()
    out_a, out_b = [1, 2], [3]
    proc.update_state(BatchUpdate(batch_size=3, removed=[], moved=[],
                                  added=[(0, _params(), [5], out_a), (1, SamplingParams(), [5], out_b),
                                         (2, _params(), [5], [])]))
    logits = torch.ones(3, 4)
    proc.apply(logits)
    assert logits[:, 0].tolist() == [0.5, 1.0, 0.5]  # thinking: divided by 2; row 1 untouched
    out_a += [7, 8]  # vLLM appends to the live list
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


def test_argmax_invariant_and_bad_scale_rejected():
    proc = _processor()
    assert proc.is_argmax_invariant()
    try:
        ThinkAwareTemperature.validate_params(SamplingParams(extra_args={"think_scale": 0}))
    except ValueError as err:
        assert "think_scale" in str(err)
    else:
        raise AssertionError("a zero scale was accepted")
