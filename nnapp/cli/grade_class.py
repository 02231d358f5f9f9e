"""`nnapp grade DIR`: a class folder graded, a table, the class's common mistakes, the gradebook CSV."""

import json
from pathlib import Path

from nnapp.cli.shell import out
from nnapp.lab.grade.classroom import first_diagnosis, gradebook_csv, headline
from nnapp.lab.grade.classroom import grade_class as grade_folder
from nnapp.lab.grade.conventions import TENSORS
from nnapp.lab.grade.report import Overall, Verdict
from nnapp.lab.grade.runner import Limits, Target

MARKS = {Verdict.PASS: "ok", Verdict.FAIL: "X", Verdict.NOT_PROVIDED: "-"}


def grade_class(
    folder: Path,
    template: "Target",
    limits: "Limits",
    jobs: int,
    file: str,
    csv_path: Path | None,
    as_json: bool,
) -> None:
    grades = grade_folder(folder, template, limits, jobs, file)
    if csv_path is not None:  # every child has ended: grade_folder returned
        csv_path.write_text(gradebook_csv(grades, template.required))
    if as_json:
        data = {s.name: s.report.to_json() for s in grades.submissions}
        out.print(
            json.dumps({"submissions": data, "changed": list(grades.changed)}, indent=2),
            markup=False,
            soft_wrap=True,
        )
        return
    width = max(len(s.name) for s in grades.submissions)
    out.print(
        f"{'submission':<{width}}  verdict     {'  '.join(f'{n:<3}' for n in TENSORS)}  diagnosis",
        markup=False,
        soft_wrap=True,
    )
    for s in grades.submissions:
        r = s.report
        marks = "  ".join(f"{MARKS[r.tensors[n].verdict] if n in r.tensors else '.':<3}" for n in TENSORS)
        said = headline(first_diagnosis(r))
        out.print(f"{s.name:<{width}}  {r.verdict.value:<10}  {marks}  {said}", markup=False, soft_wrap=True)
    passed = sum(s.report.verdict is Overall.PASS for s in grades.submissions)
    out.print(f"{passed} of {len(grades.submissions)} pass", markup=False)
    common = grades.common_mistakes()
    if common:
        out.print("most common mistakes:", markup=False)
        for text, count in common[:8]:
            out.print(f"  {count:>3}  {text}", markup=False, soft_wrap=True)
    if grades.changed:
        out.print(
            f"files in {folder} changed while grading (graded from the copies read before): "
            f"{', '.join(grades.changed)}",
            markup=False,
            soft_wrap=True,
        )
    if csv_path is not None:
        out.print(f"wrote {csv_path}", markup=False, soft_wrap=True)
