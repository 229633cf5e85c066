"""The QuickDraw competition leaderboard.

Students upload a CSV of predictions for the unlabeled competition test images; the
leaderboard validates it (:mod:`.validate`), scores it against the instructor-only labels
(:mod:`.scoring`), reports the public half through the Ladder mechanism (:mod:`.ladder`) and
stores everything with SQLAlchemy (:mod:`.models`; :class:`.store.Leaderboard` is made of
:mod:`.database`, :mod:`.competition`, :mod:`.accounts`, :mod:`.uploads`, :mod:`.boards` and
:mod:`.verify_records`). :mod:`.verify` re-runs the top notebooks, :mod:`.autoverify` does so
while the web app serves. The web app is
:mod:`autograder.web`, the command line :mod:`autograder.commands.leaderboard`.
"""
