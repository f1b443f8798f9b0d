"""A short supervised warm start so the demo model knows the answer format before GRPO.

A randomly initialised model never emits the closing tag or EOS, so RL would see no signal.
This teaches the format on the training pairs and stops early, at a target greedy accuracy on
held-out pairs, leaving real headroom for GRPO to close.
"""

import torch
import torch.nn.functional as F

from .task import make_problem, response_text


def encode_pairs(tokenizer, pairs: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and a mask over the response tokens (answer + EOS), right-padded."""
    sequences, masks = [], []
    for a, b in pairs:
        question, answer = make_problem(a, b)
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
        )
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        response_ids = tokenizer(response_text(answer), add_special_tokens=False)["input_ids"]
        response_ids.append(tokenizer.eos_token_id)
        sequences.append(prompt_ids + response_ids)
        masks.append([0] * len(prompt_ids) + [1] * len(response_ids))
    width = max(map(len, sequences))
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


def warm_start(model, tokenizer, train_pairs, val_pairs, target_accuracy: float, max_steps: int = 3000,
               batch_size: int = 64, lr: float = 1e-3, seed: int = 0, log=print) -> dict:
    """Train until greedy val accuracy reaches target_accuracy (checked every 5 steps)."""
    generator = torch.Generator().manual_seed(seed)
    train_ids, train_mask = encode_pairs(tokenizer, train_pairs)
    val_ids, val_mask = encode_pairs(tokenizer, val_pairs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    accuracy, step = greedy_accuracy(model, val_ids, val_mask), 0
    while accuracy < target_accuracy and step < max_steps:
        model.train()
        for _ in range(5):
            batch = torch.randint(len(train_ids), (batch_size,), generator=generator)
            ids, mask = train_ids[batch], train_mask[batch]
            logits = _next_token_logits(model, ids)
            loss = F.cross_entropy(logits[mask[:, 1:]], ids[:, 1:][mask[:, 1:]])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
        accuracy = greedy_accuracy(model, val_ids, val_mask)
        if step % 50 == 0 or accuracy >= target_accuracy:
            log(f"warm start step {step}: loss {loss.item():.3f}, greedy val accuracy {accuracy:.1%}")
    return {"steps": step, "val_accuracy": accuracy, "train_accuracy": greedy_accuracy(model, train_ids, train_mask)}
