"""Evaluation protocols: WIDER FACE (official semantics and a dev split from an annotation file),
FDDB (ellipse matching, discrete and continuous ROC) and landmark accuracy (NME, failure rate)."""
