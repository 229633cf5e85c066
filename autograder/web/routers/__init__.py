"""One router per area of the site.

:mod:`.session` (log in and out, shared by every area), :mod:`.board` (the public board,
the rules and the competition's settings), :mod:`.student_pages` and :mod:`.student_api`
(a student's uploads, history and final pick, as pages and as JSON), :mod:`.instructor` and, on
the course server only, :mod:`.homework` (the released assignments, their notebooks and data),
:mod:`.handin` (handing homework in, its results) and :mod:`.dashboard` (the instructor's per-assignment
dashboard, regrade all, the grade exports) and :mod:`.similarity` (the instructor's similarity report).
"""
