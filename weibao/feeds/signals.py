"""Signals the feeds app sends, so that other apps react to new data without feeds knowing them."""

from django.dispatch import Signal

# Sent after a batch finished and its transaction committed; kwargs: ``batch`` (a Batch).
batch_committed = Signal()
