"""The notice cap shared by the app's timeline and ``tail --notices``."""

from __future__ import annotations

from desktop.core.engine.records import NoticeKind
from desktop.core.insight.notice_cap import NoticeCap, Verdict


def test_a_few_of_each_kind_then_a_count_per_connection() -> None:
    cap = NoticeCap(limit=2)
    retry, nul = NoticeKind.RETRY_IGNORED, NoticeKind.ID_NUL
    verdicts = [cap.admit(kind) for kind in (retry, retry, nul, retry, retry)]
    assert verdicts == [
        Verdict.SHOW,
        Verdict.LAST,
        Verdict.SHOW,
        Verdict.HIDE,
        Verdict.HIDE,
    ]
    assert cap.end_connection() == [(retry, 2)]
    # The next connection starts from nothing.
    assert cap.admit(retry) is Verdict.SHOW
    assert cap.end_connection() == []
