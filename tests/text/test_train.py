"""Training helpers: which clauses may stand as examples of their own."""

from __future__ import annotations

from cxloop.text.train import clause_examples, labelled_clauses


def test_clauses_take_the_review_label_only_when_they_can_carry_it() -> None:
    # A review with a contrast has clauses that disagree: none is used.
    assert labelled_clauses("质量不错，但是物流太慢", 1) == []
    # A single clause is the review itself: nothing to add.
    assert labelled_clauses("质量不错", 1) == []
    # A complaint clause in a review that ends in praise keeps out; the rest stand.
    kept = labelled_clauses("少发了一件，客服马上补发，很满意", 1)
    assert [c.text for c in kept] == ["客服马上补发", "很满意"]
    texts, labels, domains = clause_examples(
        ["少发了一件，客服马上补发，很满意", "送得很快，味道很好"], [1, 1], ["shop", "food"]
    )
    # Clauses shorter than CLAUSE_MIN_CHARS ("很满意") are left out as well.
    assert (texts, labels, domains) == (
        ["客服马上补发", "送得很快", "味道很好"],
        [1, 1, 1],
        ["shop", "food", "food"],
    )
