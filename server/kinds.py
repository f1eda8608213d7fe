"""Kinds: the jobs a user can start: a pydantic model of the parameters, with `run`.

Every parameter has a default and bounds, so ``{"kind": "countdown"}`` alone is a
valid request and a bad value is a readable 422.  A kind only talks to its
`Context`: it publishes through it and waits through it, which is also how a
cancel reaches it (``ctx.sleep`` raises).
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from typing import Self

Level = Literal["debug", "info", "warning", "error"]


class JobFailedError(Exception):
    """A kind fails on purpose (or for real); the message goes into the `end` event."""


class Context(Protocol):
    """What a running job may do."""

    async def phase(self, name: str) -> None: ...

    async def progress(
        self,
        done: int,
        total: int,
        *,
        unit: str = "steps",
        rate: float | None = None,
        eta_s: float | None = None,
    ) -> None: ...

    async def log(self, level: Level, line: str) -> None: ...

    async def sleep(self, seconds: float) -> None: ...


class JobParams(BaseModel):
    """Base of every kind: its name, what it does, and how it runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    async def run(self, ctx: Context) -> None:
        """Do the job, reporting through ``ctx``; cancellation stops it."""


class Countdown(JobParams):
    kind = "countdown"
    description = "Counts down from `steps`, one progress and one log line per step."

    steps: int = Field(default=10, ge=1, le=100_000, description="steps to count down")
    interval_s: float = Field(
        default=1.0, ge=0, le=60, description="seconds between steps"
    )

    async def run(self, ctx: Context) -> None:
        await ctx.phase("counting")
        for done in range(1, self.steps + 1):
            await ctx.log("info", f"T-minus {self.steps - done + 1}")
            await ctx.sleep(self.interval_s)
            await ctx.progress(done, self.steps)
        await ctx.log("info", "liftoff")


class Build(JobParams):
    kind = "build"
    description = "A build log: many `log` lines in phases, a warning every so often."

    lines: int = Field(
        default=200, ge=1, le=100_000, description="compile lines to print"
    )
    interval_s: float = Field(
        default=0.02, ge=0, le=10, description="seconds between lines"
    )
    warning_every: int = Field(
        default=25, ge=0, le=100_000, description="0: no warnings"
    )
    fail: bool = Field(default=False, description="fail at link time")

    async def run(self, ctx: Context) -> None:
        await ctx.phase("configure")
        await ctx.log("info", f"-- configuring {self.lines} sources")
        await ctx.phase("compile")
        for n in range(1, self.lines + 1):
            percent = n * 100 // self.lines
            await ctx.log("info", f"[{percent:3d}%] Compiling src/module_{n:05d}.c")
            if self.warning_every and n % self.warning_every == 0:
                where = f"src/module_{n:05d}.c:{n % 97 + 1}"
                await ctx.log("warning", f"{where}: warning: unused variable 'tmp'")
            await ctx.progress(n, self.lines, unit="files")
            await ctx.sleep(self.interval_s)
        await ctx.phase("link")
        if self.fail:
            await ctx.log("error", "ld: undefined reference to `main'")
            raise JobFailedError("link failed: undefined reference to `main'")
        await ctx.log("info", "[100%] Linking app")
        await ctx.phase("done")


class Download(JobParams):
    kind = "download"
    description = "A download: bytes done of total, rate and time left."

    size_bytes: int = Field(
        default=50_000_000, ge=1, le=10**12, description="bytes to fetch"
    )
    rate_bps: int = Field(
        default=10_000_000, ge=1, le=10**11, description="bytes per second"
    )
    tick_s: float = Field(
        default=0.1, ge=0.01, le=10, description="seconds between updates"
    )

    async def run(self, ctx: Context) -> None:
        await ctx.phase("transfer")
        await ctx.log(
            "info", f"GET https://example.invalid/file.bin ({self.size_bytes} bytes)"
        )
        done = 0
        digest = hashlib.sha256()
        while done < self.size_bytes:
            await ctx.sleep(self.tick_s)
            step = min(
                self.size_bytes - done, max(1, round(self.rate_bps * self.tick_s))
            )
            done += step
            digest.update(step.to_bytes(8, "big"))
            left = (self.size_bytes - done) / self.rate_bps
            await ctx.progress(
                done,
                self.size_bytes,
                unit="bytes",
                rate=float(self.rate_bps),
                eta_s=left,
            )
        await ctx.log("info", f"saved file.bin, sha256 {digest.hexdigest()[:16]}…")


class Flaky(JobParams):
    kind = "flaky"
    description = "Works for a while, then fails on purpose at step `fail_at`."

    steps: int = Field(default=20, ge=1, le=100_000, description="steps it would take")
    fail_at: int = Field(
        default=10, ge=1, le=100_000, description="the step that fails"
    )
    interval_s: float = Field(
        default=0.1, ge=0, le=60, description="seconds between steps"
    )
    message: str = Field(
        "upstream reset the connection", max_length=500, description="the error"
    )

    @model_validator(mode="after")
    def _fail_within_steps(self) -> Self:
        if self.fail_at > self.steps:
            raise ValueError(
                f"fail_at ({self.fail_at}) must be <= steps ({self.steps})"
            )
        return self

    async def run(self, ctx: Context) -> None:
        await ctx.phase("working")
        for n in range(1, self.steps + 1):
            await ctx.sleep(self.interval_s)
            if n == self.fail_at:
                await ctx.log("error", f"step {n}: {self.message}")
                raise JobFailedError(self.message)
            await ctx.log("info", f"step {n} ok")
            await ctx.progress(n, self.steps)


KINDS: dict[str, type[JobParams]] = {
    k.kind: k for k in (Countdown, Build, Download, Flaky)
}


def describe_kinds() -> list[dict[str, object]]:
    """`GET /api/jobs/kinds`: name, description, JSON Schema of the parameters."""
    return [
        {"name": k.kind, "description": k.description, "params": k.model_json_schema()}
        for k in KINDS.values()
    ]
