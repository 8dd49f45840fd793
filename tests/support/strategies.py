"""Hypothesis strategies for answers, shared by the engine's property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from screening.engine import Question, RuleSet


def answer_to(q: Question) -> st.SearchStrategy[tuple[str, ...]]:
    """A valid answer: one option, or a non-empty set that respects exclusive options."""
    if not q.multiple:
        return st.sampled_from(q.option_ids).map(lambda option: (option,))
    plain = [o.id for o in q.options if not o.exclusive]
    exclusive = [o.id for o in q.options if o.exclusive]

    def in_order(chosen: set[str]) -> tuple[str, ...]:
        return tuple(option for option in q.option_ids if option in chosen)

    choices = [st.sets(st.sampled_from(plain), min_size=1).map(in_order)] if plain else []
    choices += [st.sampled_from(exclusive).map(lambda option: (option,))] if exclusive else []
    return st.one_of(choices)


def some_answers(ruleset: RuleSet) -> st.SearchStrategy[dict[str, tuple[str, ...]]]:
    """Answers to any subset of the questions, hidden ones included."""
    return st.fixed_dictionaries({}, optional={q.id: answer_to(q) for q in ruleset.questions})
