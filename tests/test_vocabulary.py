"""The one vocabulary is what the record models, the engine and the CLI accept."""

from __future__ import annotations

import doctest
import subprocess
import sys
import typing

import pydantic
import pytest

from synthesis import pool, records, stats, vocabulary


def test_doctests():
    assert doctest.testmod(vocabulary).failed == 0


def test_record_models_use_the_vocabulary():
    fields = records.Analysis.model_fields
    assert typing.get_args(fields["method"].annotation) == vocabulary.METHODS
    assert typing.get_args(fields["test"].annotation) == vocabulary.TESTS
    assert typing.get_args(records.Measure) == vocabulary.QUESTION_MEASURES


@pytest.mark.parametrize("level", [0.95, 1, 100, 0])
def test_analysis_plan_refuses_levels_outside_1_100(level):
    with pytest.raises(pydantic.ValidationError, match="level"):
        records.Analysis(level=level)


def test_engine_and_outputs_use_the_vocabulary():
    assert stats.METHODS == vocabulary.METHODS
    assert stats.TESTS == vocabulary.TESTS
    assert stats.COLUMNS == vocabulary.RESULT_FIELDS
    assert pool.JSON_KEYS == vocabulary.POOL_JSON_FIELDS
    assert set(vocabulary.POOL_JSON_FIELDS) - {
        "excluded",
        "notes",
        "yi",
        "vi",
        "transformed",
    } <= set(vocabulary.SUMMARY_FIELDS)


def test_vocabulary_imports_nothing_heavy():
    code = (
        "import sys, synthesis.vocabulary\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
