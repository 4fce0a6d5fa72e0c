"""One router per resource: moderate, feedback, lexicon, meta (labels, model, health), metrics."""
