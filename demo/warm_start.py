"""A supervised warm start so the demo model knows the answer format before GRPO.

A randomly initialised model never emits the closing tag or EOS, so RL would see no signal.
The warm start teaches the format fully, but its labels carry a habit: on `bias` of the rows
the answer is one too many. The model learns that mixture, so greedy decoding mostly answers
a+b+1 while sampling still finds a+b often: exactly the situation where a verifiable reward
and GRPO help, and a visible one (greedy accuracy starts low and should climb).
"""

import torch
import torch.nn.functional as F

from .task import make_problem, response_text


def encode_pairs(tokenizer, pairs: list, offset: int = 0, width: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and a mask over the response tokens (answer + EOS), right-padded to `width`."""
    sequences, masks = [], []
    for a, b in pairs:
        question, answer = make_problem(a, b)
        answer = str(int(answer) + offset)
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
        )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        response_ids = tokenizer(response_text(answer), add_special_tokens=False)["input_ids"]
        response_ids.append(tokenizer.eos_token_id)
        sequences.append(prompt_ids + response_ids)
        masks.append([0] * len(prompt_ids) + [1] * len(response_ids))
    width = max(width, *map(len, sequences))
    ids = torch.full((len(sequences), width), tokenizer.pad_token_id)
    mask = torch.zeros((len(sequences), width), dtype=torch.bool)
    for i, (seq, m) in enumerate(zip(sequences, masks)):
        ids[i, : len(seq)] = torch.tensor(seq)
        mask[i, : len(m)] = torch.tensor(m, dtype=torch.bool)
    return ids, mask


def _next_token_logits(model, ids: torch.Tensor) -> torch.Tensor:
    return model(input_ids=ids).logits[:, :-1]  # [batch, seq-1, vocab] predicts ids[:, 1:]


@torch.no_grad()
def greedy_accuracy(model, ids: torch.Tensor, mask: torch.Tensor) -> float:
    """Greedy decoding reproduces the answer iff every response token is the argmax given the
    correct prefix, so one teacher-forced forward pass gives exact greedy accuracy."""
    model.eval()
    hits = _next_token_logits(model, ids).argmax(-1) == ids[:, 1:]
    target = mask[:, 1:]
    return ((hits | ~target).all(dim=1)).float().mean().item()


def warm_start(model, tokenizer, train_pairs, val_pairs, steps: int = 400, bias: float = 0.6,
               batch_size: int = 64, lr: float = 1e-3, seed: int = 0, log=print) -> dict:
    """Cross-entropy on answers that are a+b+1 with probability `bias`, else a+b."""
    generator = torch.Generator().manual_seed(seed)
    right_ids, mask = encode_pairs(tokenizer, train_pairs, width=32)
    off_ids, off_mask = encode_pairs(tokenizer, train_pairs, offset=1, width=32)
    val_ids, val_mask = encode_pairs(tokenizer, val_pairs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    for step in range(1, steps + 1):
        model.train()
        rows = torch.randint(len(right_ids), (batch_size,), generator=generator)
        use_off = (torch.rand(batch_size, generator=generator) < bias)[:, None]
        ids = torch.where(use_off, off_ids[rows], right_ids[rows])
        target = torch.where(use_off, off_mask[rows], mask[rows])[:, 1:]
        logits = _next_token_logits(model, ids)
        loss = F.cross_entropy(logits[target], ids[:, 1:][target])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps:
            log(f"warm start step {step}/{steps}: loss {loss.item():.3f}")
    return {"steps": steps, "bias": bias, "val_greedy_accuracy": greedy_accuracy(model, val_ids, val_mask),
            "val_greedy_off_by_one": greedy_accuracy(model, *encode_pairs(tokenizer, val_pairs, offset=1))}
