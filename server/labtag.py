"""Lab tags: how a fault reaches one client only, and what the lab routes share.

A stream request carries a tag as ``?lab_tag=<tag>`` (an EventSource in a browser
can send that) or as an ``X-Lab-Tag`` header; the query wins when both are there.
A lab route's body takes ``"tag": "<tag>"``: drop, cut and stall then touch only
subscriptions with that tag, and refuse, retry, encoding, reset-id and omit-end
only connects (or jobs) carrying it.  Without a tag a fault acts on everyone, as
before.  Tags are short names: letters, digits and ``. _ : -``, 1 to 64 of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, Query
from pydantic import BaseModel, ConfigDict, Field

from server import events
from server.runtime import Runtime, runtime_of

if TYPE_CHECKING:
    from server.events import JSONScalar

TAG_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
TAG_QUERY = "lab_tag"
TAG_HEADER = "X-Lab-Tag"
_TAG_HELP = "lab tag: letters, digits and . _ : - (1 to 64)"

Rt = Annotated[Runtime, Depends(runtime_of)]


def request_tag(
    query: Annotated[
        str | None, Query(alias=TAG_QUERY, pattern=TAG_PATTERN, description=_TAG_HELP)
    ] = None,
    header: Annotated[
        str | None,
        Header(alias=TAG_HEADER, pattern=TAG_PATTERN, description=_TAG_HELP),
    ] = None,
) -> str:
    """The request's lab tag ("" when it has none); a malformed one is a 422."""
    return query or header or ""


RequestTag = Annotated[str, Depends(request_tag)]


class LabBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TagBody(LabBody):
    """A fault's body: ``tag`` scopes it to that tag's clients (omitted: everyone)."""

    tag: str | None = Field(default=None, pattern=TAG_PATTERN, description=_TAG_HELP)


async def report(rt: Runtime, action: str, **detail: JSONScalar) -> dict[str, object]:
    """Publish what the lab did as a `lab` event on /api/events; the route's answer.

    A ``tag`` of None is left out, so untagged answers read as they always did.
    """
    if detail.get("tag", "") is None:
        del detail["tag"]
    await rt.publish("lab", events.Lab(action=action, detail=detail))
    return {"action": action, **detail}
