"""Scores during training (--eval-every N epochs): the metrics of `gankit eval`, and a `best` checkpoint by FID
(by JS-4 for text)."""

from __future__ import annotations

from gankit.checkpoint import BEST
from gankit.conditions import asked_pitches, class_ids
from gankit.metrics.evaluate import labels_like_data, parse_metrics, prepare_reference, score
from gankit.pipeline import Pipeline, latents
from gankit.seeds import EVAL
from gankit.train.callbacks import Callback

# the scores said on the console after each evaluation (all of them go to metrics.jsonl)
SHOWN = ("fid", "kid", "precision", "recall", "asked_class", "pitch_accuracy", "clear_pitch", "pitch_distance", "js_4",
         "novelty", "unique")


class Evaluation(Callback):
    """The reference features are prepared once and the latents are fixed, so scores are comparable over time.

    With several processes each generates and extracts features for its slice of the latents; the
    main one scores them all and every process gets the scores.
    """

    def __init__(self, trainer):
        t, replicas = trainer.config.train, trainer.replicas
        replicas.check_splits(t.eval_n, "--eval-n")
        self.every = t.eval_every
        self.metrics = parse_metrics(t.eval_metrics)
        with replicas.main_first():  # the main process computes and caches the reference features
            self.reference = prepare_reference(trainer.config.data, t.extractor, trainer.device, train=trainer.dataset)
        z = latents(t.eval_n, trainer.config.model.latent_dim, t.seed + EVAL, trainer.device)
        y = labels_like_data(trainer.dataset, t.eval_n, t.seed + EVAL, trainer.device) if trainer.spec.conditions else None
        self.z, self.y = replicas.local(z), replicas.local(y)
        self.seed = t.seed
        self.replicas = replicas

    def scores(self, trainer) -> dict:
        pipe = Pipeline(trainer.sampler(), trainer.config.model.latent_dim, trainer.spec, trainer.device)
        images = pipe.generate(self.z, self.y)
        features = pitch = None
        labels = class_ids(trainer.spec.conditions, self.y)  # the classes asked, for class-aware scores
        asked_pitch = asked_pitches(trainer.spec.conditions, self.y)
        if self.replicas.active and not trainer.spec.modality.scored_by_features:  # scored from the samples
            images = self.replicas.gather(images)
        elif self.replicas.active:
            fake, probs = self.reference.extractor.extract(images, self.reference.device)
            features = (self.replicas.gather(fake), None if probs is None else self.replicas.gather(probs))
            if self.reference.pitch is not None:
                pitch = self.replicas.gather(self.reference.pitch.probabilities(images).to(self.reference.device))
            labels = None if labels is None else self.replicas.gather(labels)
            asked_pitch = None if asked_pitch is None else self.replicas.gather(asked_pitch)
        scores = None
        if self.replicas.is_main:
            result = score(images, self.reference, self.metrics, seed=self.seed, features=features, labels=labels,
                           pitch=pitch, asked_pitch=asked_pitch)
            values = {k: v for k, v in result["metrics"].items() if isinstance(v, (int, float))}
            scores = {**values, "eval_n": result["n"], "eval_extractor": self.reference.extractor.id}
        return self.replicas.from_main(scores)

    def on_epoch_saved(self, trainer) -> None:
        state = trainer.state
        if state.epoch % self.every:
            return
        trainer.log.flush()
        scores = self.scores(trainer)
        trainer.log.write_row("eval", {"step": state.step, "epoch": state.epoch, **scores})
        shown = ", ".join(f"{k} {scores[k]:.4g}" for k in SHOWN if k in scores)
        trainer.say(f"epoch {state.epoch}: {shown} ({scores['eval_n']} samples, {scores['eval_extractor']})",
                    prefix=False)
        key = trainer.spec.modality.best_score
        if key in scores and (state.best_fid is None or scores[key] < state.best_fid):
            state.best_fid = scores[key]
            trainer.checkpoint(BEST)



