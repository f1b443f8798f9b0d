"""adaGRPO's sampler: verl's sync replay buffer that re-asks a prompt whose whole group failed.

Plugged in with verl's `trainer.v1.sampler.custom_sampler`. For each training step:
1. as groups finish, their rewards (rm_scores) are read; a group failing the success condition
   is re-asked: its reward statistics are cached (count, mean, M2), its trajectories cleared,
   and the same prompt dispatched again with the next round's temperature/top_p/n, until it
   passes or the per-prompt/per-step budgets are spent (adagrpo_ext.resample_plan); with
   adagrpo.exhausted=replace a group still failing then is dropped and a fresh prompt from the
   dataloader takes its place (verl's `refill_fn`, as its dynamic sampling refills);
2. once every prompt is settled, the batch is taken as verl takes it, rollout_n samples per
   prompt; the statistics of every sample drawn but not kept go to the `adagrpo` advantage
   estimator, which pools them with the trained group's;
3. nothing carries over to the next step: normal prompts use rollout.temperature/top_p.
With adagrpo.enable=false (or before start_step) it is verl's sampler, plus metrics.
"""

import json
import logging
import os
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import transfer_queue as tq

from core.verl_internals import (drop_group, partition, poll, sample_session, sample_uid, success_value,
                                 take_batch, wait_for_next_poll)
from trainer_hooks.replay_buffer import QuickPollReplayBuffer, reward_field_means, zero_signal_fraction

from . import agent_loop
from .advantage import publish_priors
from .bridge import BRIDGE
from .group_stats import GroupStats
from .resample_plan import StepBudget, choose_trained
from .settings import from_mapping

logger = logging.getLogger(__name__)
STATE_DIR = "adagrpo_state"
STATE_FILE = "adagrpo_state.json"  # inside verl's global_step_N/ checkpoint folder
TOTALS = ("hard_groups", "resample_rounds", "rescued_groups", "replaced_groups", "extra_samples", "extra_tokens",
          "generated_tokens")


class AdaptiveReplayBuffer(QuickPollReplayBuffer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kw = self.sampler_kwargs or {}
        if self.trainer_mode != "sync":
            raise ValueError(f"adaGRPO runs with trainer.v1.trainer_mode=sync, not {self.trainer_mode!r}")
        self.settings = from_mapping(
            kw.get("adagrpo"), rollout_n=kw.get("rollout_n"), train_batch_size=kw.get("train_batch_size"),
            checkpoint_dir=kw.get("checkpoint_dir"), resume=kw.get("resume_mode", "disable") != "disable")
        self.totals = dict.fromkeys(TOTALS, 0)
        self._restored = False

    # ---- TransferQueue reads -------------------------------------------------------------
    def _group_keys(self, partition_id: str, uids) -> dict[str, list[str]]:
        keys = defaultdict(list)
        for key in partition(self, partition_id):
            if sample_uid(key) in uids:
                keys[sample_uid(key)].append(key)
        return {uid: sorted(ks, key=sample_session) for uid, ks in keys.items()}

    def _read(self, partition_id: str, keys: list[str]) -> tuple[dict[str, float], dict[str, float], list]:
        """One TransferQueue read for these samples: each one's summed reward, the value its success is
        judged on — the reward's `success_key` field (acc) when it has one, else the summed reward (with
        weighted format rewards a right answer may not reach the threshold) — and its extra fields."""
        if not keys:
            return {}, {}, []
        data = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=["rm_scores", "extra_fields"])
        extras = list(data["extra_fields"])
        rewards, success = {}, {}
        for key, score, fields in zip(keys, list(data["rm_scores"]), extras, strict=True):
            rewards[key] = float(score.sum().item())
            success[key] = success_value(fields, self.settings.success_key, rewards[key])
        return rewards, success, extras

    # ---- one step --------------------------------------------------------------------------
    def draw(self, global_steps: int, partition_id: str, batch_size: int):
        if partition_id == "val":
            return super().draw(global_steps, partition_id, batch_size)
        self._maybe_restore(global_steps)
        s = self.settings
        if s.enable and global_steps >= s.start_step:
            batch, metrics = self._sample_adaptive(global_steps, partition_id, batch_size)
        else:
            batch, metrics = super().draw(global_steps, partition_id, batch_size)
            publish_priors({}, self.settings.max_advantage)
            metrics.update(self._batch_metrics(partition_id, batch.keys, {}, active=False))
            generated = sum(tag.get("response_len", 0) for tag in batch.tags)
            metrics["adagrpo/generated_tokens"] = generated
            self.totals["generated_tokens"] += generated
        if BRIDGE.manager is not None:
            BRIDGE.manager.forget_all()
        metrics.update({f"adagrpo/total_{k}": v for k, v in self.totals.items()})
        self._save_state(global_steps)
        return batch, metrics

    def _sample_adaptive(self, global_steps: int, partition_id: str, batch_size: int):
        manager = BRIDGE.require_manager()
        s = self.settings
        budget = StepBudget(s)
        rng = np.random.default_rng([s.seed, global_steps])
        rounds: dict[str, int] = {}  # uid -> resample rounds done
        priors: dict[str, GroupStats] = {}  # uid -> stats of samples drawn but not kept
        settled: set[str] = set()
        step = dict.fromkeys(TOTALS, 0)
        last_debug = 0.0
        while True:
            finished, failed = poll(self, partition_id)
            settled |= failed  # a failed session: keep verl's handling
            fresh = finished - settled
            if fresh:
                groups = self._group_keys(partition_id, fresh)
                rewards, success, _ = self._read(partition_id, [k for ks in groups.values() for k in ks])
                for uid in fresh:
                    keys = groups.get(uid, [])
                    group = [rewards[k] for k in keys]
                    judged = [success[k] for k in keys]
                    done = rounds.get(uid, 0)
                    tokens = sum(partition(self, partition_id)[k].get("response_len", 0) for k in keys)
                    step["generated_tokens"] += tokens
                    if done:
                        step["extra_tokens"] += tokens
                    if s.passes(judged) or not keys:
                        step["rescued_groups"] += bool(done) and bool(keys)
                    else:
                        step["hard_groups"] += not done
                        params = budget.next_round(uid, done)
                        if params is not None:
                            priors[uid] = priors.get(uid, GroupStats()).merge(GroupStats.of(group))
                            self._reask(manager, partition_id, uid, keys, params)
                            rounds[uid] = done + 1
                            step["resample_rounds"] += 1
                            step["extra_samples"] += params["n"]
                            continue
                        if keys and budget.replace():
                            priors.pop(uid, None)
                            drop_group(self, partition_id, uid)
                            self.refill_fn(1)
                            step["replaced_groups"] += 1
                            continue
                    self._trim(partition_id, uid, keys, group, judged, priors, rng)
                    settled.add(uid)
            if len(settled) >= batch_size:
                break
            last_debug = wait_for_next_poll(self, partition_id, last_debug)

        batch, selected = take_batch(self, partition_id, settled, batch_size)
        if batch is None:
            # verl's sync buffer raises here too: every selected group failed in the rollout itself
            raise RuntimeError("adaGRPO: every selected group failed during rollout (no trajectories to train on); "
                               "see the rollout errors above in the log")
        publish_priors({uid: priors[uid] for uid in selected if uid in priors}, s.max_advantage)
        for k in TOTALS:
            self.totals[k] += step[k]
        metrics = {f"adagrpo/{k}": v for k, v in step.items()}
        metrics.update(self._batch_metrics(partition_id, batch.keys, priors, active=True))
        return batch, metrics

    def _reask(self, manager, partition_id: str, uid: str, keys: list[str], params: dict) -> None:
        """Drop the failed round's trajectories (their statistics are cached) and ask again."""
        if keys:
            tq.kv_clear(keys=keys, partition_id=partition_id)
        for key in keys:
            partition(self, partition_id).pop(key, None)
        tq.kv_put(key=uid, partition_id=partition_id, tag={"status": "pending"})
        manager.resample(uid, params["n"], {"temperature": params["temperature"], "top_p": params["top_p"]})

    def _trim(self, partition_id, uid, keys, group, judged, priors, rng) -> None:
        """Keep rollout_n samples of an oversized round; the rest only count in the statistics."""
        n = self.settings.rollout_n
        if len(keys) <= n:
            return
        keep = set(choose_trained(judged, n, self.settings.success_threshold, rng))
        dropped = [i for i in range(len(keys)) if i not in keep]
        priors[uid] = priors.get(uid, GroupStats()).merge(GroupStats.of([group[i] for i in dropped]))
        tq.kv_clear(keys=[keys[i] for i in dropped], partition_id=partition_id)
        for i in dropped:
            partition(self, partition_id).pop(keys[i], None)

    @staticmethod
    def _temperatures(partition_id: str, keys: list[str]) -> list[float]:
        """The temperature each trained sample was drawn at. Missing means the agent loop that stamps
        it is not adaGRPO's, and the trainer would score resampled tokens at the scalar temperature:
        stop at the first batch instead."""
        try:
            data = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=[agent_loop.TEMPERATURE_FIELD])
            return [float(t) for t in list(data[agent_loop.TEMPERATURE_FIELD])]
        except Exception as err:  # TransferQueue raises its own types for an unknown field
            raise RuntimeError(f"adaGRPO: the trained samples carry no {agent_loop.TEMPERATURE_FIELD!r} "
                               f"({type(err).__name__}); set actor_rollout_ref.rollout.agent.agent_loop_manager_class="
                               f"adagrpo_ext.agent_loop.AdaAgentLoopManager (preset adagrpo does)") from err

    def _batch_metrics(self, partition_id: str, keys: list[str], priors: dict, active: bool) -> dict:
        """Signal left in the trained batch: groups whose rewards are all equal give no gradient. When
        adaGRPO chose the batch (not verl's sampling, which logs them itself), also the reward's own
        fields, `reward/<field>/mean`, from the same read."""
        rewards, success, extras = self._read(partition_id, list(keys))
        groups, judged = defaultdict(list), defaultdict(list)
        for key, r in rewards.items():
            groups[sample_uid(key)].append(r)
            judged[sample_uid(key)].append(success[key])
        if not groups:
            return {"adagrpo/active": float(active)}
        temperatures = self._temperatures(partition_id, list(keys))
        effective = [len(g) + (priors[u].count if u in priors else 0) for u, g in groups.items()]
        metrics = {"adagrpo/active": float(active), "adagrpo/zero_signal_frac": zero_signal_fraction(rewards),
                   "adagrpo/effective_n": float(np.mean(effective)),
                   "adagrpo/trained_temperature_mean": float(np.mean(temperatures)),
                   "adagrpo/trained_temperature_max": float(np.max(temperatures))}
        if active:
            metrics.update(reward_field_means(extras))
        else:  # what adaGRPO would have re-asked: groups failing the condition on their draw
            metrics["adagrpo/hard_groups"] = sum(not self.settings.passes(g) for g in judged.values())
        return metrics

    # ---- state across a resume ------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"totals": dict(self.totals)}

    def load_state_dict(self, state: dict) -> None:
        self.totals = {k: int(state.get("totals", {}).get(k, 0)) for k in TOTALS}

    def _state_dir(self) -> Path | None:
        return Path(self.settings.checkpoint_dir) / STATE_DIR if self.settings.checkpoint_dir else None

    def _save_state(self, global_steps: int) -> None:
        """State after step N: a rolling file per step (the last three kept), copied into verl's own
        global_step_N/ checkpoint folder once verl has written it (at the next step's sampling), so
        it lives and goes with the checkpoint under verl's retention."""
        folder = self._state_dir()
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"global_step_{global_steps}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state_dict()))
        os.replace(tmp, path)
        rolling = sorted(folder.glob("global_step_*.json"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
        for saved in rolling:
            checkpoint = folder.parent / saved.stem
            if checkpoint.is_dir() and not (checkpoint / STATE_FILE).exists():
                shutil.copyfile(saved, checkpoint / STATE_FILE)
        for old in rolling[:-3]:
            old.unlink(missing_ok=True)

    def _maybe_restore(self, global_steps: int) -> None:
        if self._restored:
            return
        self._restored = True
        folder = self._state_dir()
        if not self.settings.resume or folder is None or global_steps <= 1:
            return
        step = f"global_step_{global_steps - 1}"
        for path in (folder.parent / step / STATE_FILE, folder / f"{step}.json"):
            if path.exists():
                self.load_state_dict(json.loads(path.read_text()))
                logger.info("adaGRPO state restored from %s", path)
                return
        logger.warning("adaGRPO: no state for %s (totals start from 0)", step)
