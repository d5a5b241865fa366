"""Jobs (PROTOCOL.md 8): the engine that claims, runs, renews, cancels and times out long work, the registry of
kinds (one module each: ``storyboard``), and how their status reaches every connection."""

from app.jobs.engine import JobEngine
from app.jobs.model import job_not_found, job_to_wire
from app.jobs.registry import JOB_KINDS, JobContext, JobKind, JobLost, JobServices, load_kinds

__all__ = [
    "JOB_KINDS",
    "JobContext",
    "JobEngine",
    "JobKind",
    "JobLost",
    "JobServices",
    "job_not_found",
    "job_to_wire",
    "load_kinds",
]
