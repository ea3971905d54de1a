"""The training diagnosis: rules over the logged signals, and the diversity probe they read for mode collapse."""

from __future__ import annotations

from gankit.losses import LOSSES
from gankit.report.diagnosis import Diagnosis, run_doing
from gankit.report.diversity import DiversityProbe
from gankit.train.callbacks import Callback
from gankit.train.log import Diverged

# G steps between two checks of sample diversity (for the mode-collapse diagnosis)
DIVERSITY_EVERY = 250


class Diagnose(Callback):
    """Warns once per episode about D overpowering G, mode collapse and oscillation; a fatal finding
    (divergence) raises Diverged. Every process sees the same averaged rows, so all stop together."""

    def __init__(self, trainer):
        self.model, self.modality = trainer.config.model.name, trainer.spec.modality.name
        # D(x) and D(G(z)) are probabilities only under the BCE losses; the odds-reading rules need that
        self.probabilities = LOSSES.get(trainer.config.train.loss).probabilities
        t = trainer.config.train
        self.doing = run_doing(t.ema_decay, t.augment, t.loss, t.r1_gamma, t.beta1)
        self.diagnosis = self.fresh()
        self.diagnosis.add(trainer.log.rows())  # a resumed run's history: its problems were reported when they happened
        self.probe = DiversityProbe(trainer.samples_on_device, trainer.batches.to_model, trainer.dataset.modality,
                                    trainer.config.model.latent_dim, trainer.config.train.seed, trainer.labels_on_device)

    def fresh(self) -> Diagnosis:
        return Diagnosis(model=self.model, modality=self.modality, probabilities=self.probabilities, doing=self.doing)

    def on_rows(self, trainer, rows: list[dict]) -> None:
        self.report(trainer, self.diagnosis.add(rows))

    def on_preview_alike(self, trainer, samples: int, alike: int) -> None:
        # read by the rules, not logged: only a finding it leads to is, after the steps before it (previews run on
        # the main process alone, so nothing here may wait for the others: no flush)
        row = {"kind": "preview", "step": trainer.state.step, "samples": samples, "like_first": alike}
        self.report(trainer, self.diagnosis.add([row]))

    def report(self, trainer, findings) -> None:
        for finding in findings:
            trainer.log.note("diagnosis", finding.as_row())
            if finding.severity == "fatal":  # the error that ends training says it
                raise Diverged(finding.step, finding.title)
            trainer.say(finding.text())

    def on_step(self, trainer) -> None:
        if trainer.state.step % DIVERSITY_EVERY == 0:
            trainer.log.write_row("diversity", {"step": trainer.state.step,
                                                "diversity": round(self.probe(trainer.state.g), 4)})

    def on_rewind(self, trainer, step: int) -> None:
        self.diagnosis = self.fresh()  # the rows it judged are gone
