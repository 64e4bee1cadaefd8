"""The evidence base: every study record, question, claim and bibliography entry, loaded.

:func:`synthesis.validate.load_evidence` builds an :class:`EvidenceBase`; every later
stage (effect sizes, analyses, reports) reads it without importing the validator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from synthesis import records
from synthesis.bib import Bibliography
from synthesis.claims import Claim
from synthesis.yamlsafe import Located

__all__ = ["EvidenceBase"]


@dataclass
class EvidenceBase:
    """Everything in ``evidence/`` and ``references.bib``, parsed and cross-checked."""

    root: Path
    studies: dict[str, records.Study] = field(default_factory=dict)
    questions: dict[str, records.Question] = field(default_factory=dict)
    bibliography: Bibliography | None = None
    files: dict[str, str] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    excluded: list[records.ExcludedReport] = field(default_factory=list)
    #: The located YAML of each study record, by study id: the line of every field and
    #: every number as printed (``2.20`` keeps its two decimals), kept at load so that
    #: integrity checks never read a record file again.
    sources: dict[str, Located] = field(default_factory=dict)

    def outcomes(
        self, question: str | None = None
    ) -> Iterator[tuple[records.Study, int, records.Outcome]]:
        """Every (study, index, outcome), optionally only those serving ``question``."""
        for study_id in sorted(self.studies):
            study = self.studies[study_id]
            for i, outcome in enumerate(study.outcomes):
                if question is None or outcome.question == question:
                    yield study, i, outcome
