"""The QuickDraw competition leaderboard.

Students upload a CSV of predictions for the unlabeled competition test images; the
leaderboard validates it (:mod:`.validate`), scores it against the instructor-only labels
(:mod:`.scoring`), reports the public half through the Ladder mechanism (:mod:`.ladder`),
stores everything with SQLAlchemy (:mod:`.models`, :mod:`.store`) and serves a web app
(:mod:`.web`) and a CLI (:mod:`.cli`). :mod:`.verify` re-runs the top notebooks.
"""
