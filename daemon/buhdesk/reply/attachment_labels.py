"""How a notice names a letter's attachments: each kept file by its name, and what was not kept —
a file over the size limit, parts past the part limit — with the reason and where to find it
(the raw letter is stored whole: ``buhdesk letters NUMBER``)."""

from __future__ import annotations

from buhdesk.route.mime import ParsedMessage

WHERE = "исходное письмо хранится целиком: buhdesk letters {number}"


def _megabytes(size: int) -> str:
    if size < 1_000_000:
        return f"{max(1, round(size / 1000))} КБ"
    return f"{size / 1_000_000:.1f} МБ".replace(".", ",")


def attachment_labels(parsed: ParsedMessage, *, max_bytes: int, number: str) -> list[str]:
    """One line per attachment for the notice; files and parts not kept say so and why."""
    labels = []
    for a in parsed.attachments:
        if a.truncated:
            labels.append(f"{a.filename} — не сохранено: {_megabytes(a.size)}, больше предела "
                          f"{_megabytes(max_bytes)} ({WHERE.format(number=number)})")
        else:
            labels.append(a.filename)
    if parsed.parts_ignored:
        labels.append(f"ещё {parsed.parts_ignored} частей письма не разобраны: частей больше "
                      f"допустимого ({WHERE.format(number=number)})")
    return labels
