"""Similarity of a class's submissions: what each student wrote (:mod:`.extract`), compared by
Dolos (:mod:`.engine`), ranked and grouped (:mod:`.compare`), written as HTML and CSV (:mod:`.report`)."""
