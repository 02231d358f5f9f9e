"""Grading a learner's own gradients against finite differences of nnapp's J, with a diagnosis in words.

    from nnapp.lab.grade import grade
    report = grade(my_gradients)            # gradients(x, y, W, b1, U, b2), one example as columns
    report.verdict, report.tensors["W"].diagnosis

`nnapp grade FILE.py[:FUNCTION]` runs a file in a child process with a time limit (grading.grade_file);
`nnapp grade DIR` grades a class (classroom.py).
"""

from nnapp.lab.grade.grading import grade, grade_file
from nnapp.lab.grade.report import GradeReport, Overall, TensorGrade, Verdict

__all__ = ["GradeReport", "Overall", "TensorGrade", "Verdict", "grade", "grade_file"]
